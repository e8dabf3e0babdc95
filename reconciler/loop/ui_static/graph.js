// Keeps the dependency graph's boxes current from the server's stream of release events
// (GET api/v1/events, relative: the page may sit under a path prefix). The stylesheet
// colours a box by its data-state.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const graph = document.getElementById("graph");
  if (!graph) {
    return;
  }
  listenToReleases(graph.dataset.events, (event) => {
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
