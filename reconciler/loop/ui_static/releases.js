// Keeps the releases page's State and Message columns current from the server's stream
// of release events (GET api/v1/events, relative: the page may sit under a path prefix).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const table = document.getElementById("releases");
  if (!table) {
    return;
  }
  listenToReleases(table.dataset.events, (event) => {
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
