// Keeps the releases page's State and Message columns current from the server's stream
// of release events (GET api/v1/events, relative: the page may sit under a path prefix).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const table = document.getElementById("releases");
  if (!table || !window.EventSource) {
    return;
  }
  const stream = new EventSource(table.dataset.events);
  // A browser allows 6 connections to a server: a page kept in its history cache must not
  // hold one, or a few visits later a page waits for a free one. Back, it is reloaded.
  window.addEventListener("pagehide", () => stream.close());
  window.addEventListener("pageshow", (shown) => shown.persisted && location.reload());
  stream.addEventListener("release", (message) => {
    const event = JSON.parse(message.data);
    for (const row of table.querySelectorAll("tbody tr")) {
      if (row.dataset.release !== event.release) {
        continue;
      }
      const state = row.querySelector(".state");
      state.textContent = event.state;
      state.dataset.state = event.state;
      row.querySelector(".message").textContent = event.reason;
      row.classList.add("changed");
    }
  });
});
