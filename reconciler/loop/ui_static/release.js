// Keeps a release's page current from the server's stream of its events (GET
// api/v1/events?release=<namespace>/<name>, relative: the page may sit under a path
// prefix): the state and the message change, and each event is added atop the Events.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const release = document.getElementById("release");
  if (!release) {
    return;
  }
  const state = document.getElementById("state");
  const message = document.getElementById("message");
  const events = document.querySelector("#events tbody");
  listenToReleases(release.dataset.events, (event) => {
    if (event.release !== release.dataset.release) {
      return;
    }
    state.textContent = event.state;
    state.dataset.state = event.state;
    message.textContent = event.reason;
    release.classList.add("changed");
    const row = document.createElement("tr");
    row.className = "live";
    for (const text of [event.time, "Live", event.state, "Release", event.reason]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.appendChild(cell);
    }
    events.prepend(row);
  });
});
