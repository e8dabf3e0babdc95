// The one way a page of the UI listens to the server's stream of release events: each
// page's script calls listenToReleases(url, onEvent) with its stream's relative URL.
"use strict";

// A browser allows 6 connections to a server: a page kept in its history cache must not
// hold one, or a few visits later a page waits for a free one. Back, it is reloaded.
// Without EventSource the page stays as served.
function listenToReleases(url, onEvent) {
  if (!window.EventSource) {
    return;
  }
  const stream = new EventSource(url);
  window.addEventListener("pagehide", () => stream.close());
  window.addEventListener("pageshow", (shown) => shown.persisted && location.reload());
  stream.addEventListener("release", (message) => onEvent(JSON.parse(message.data)));
}
