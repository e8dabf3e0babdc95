// Keeps the dependency graph's boxes current from the server's stream of release events
// (GET api/v1/events, relative: the page may sit under a path prefix). The stylesheet
// colours a box by its data-state.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const graph = document.getElementById("graph");
  if (!graph || !window.EventSource) {
    return;
  }
  const stream = new EventSource(graph.dataset.events);
  // A browser allows 6 connections to a server: a page kept in its history cache must not
  // hold one, or a few visits later a page waits for a free one. Back, it is reloaded.
  window.addEventListener("pagehide", () => stream.close());
  window.addEventListener("pageshow", (shown) => shown.persisted && location.reload());
  stream.addEventListener("release", (message) => {
    const event = JSON.parse(message.data);
    for (const box of graph.querySelectorAll("g.release")) {
      if (box.dataset.release !== event.release) {
        continue;
      }
      box.dataset.state = event.state;
      box.querySelector(".state").textContent = event.state;
      box.querySelector(".why").textContent = event.reason.slice(0, 30);
      box.querySelector("title").textContent = `${event.release}: ${event.state}: ${event.reason}`;
      box.classList.add("changed");
    }
  });
});
