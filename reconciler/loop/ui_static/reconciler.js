// Keeps the reconciler page current: on each release event of the server's stream
// (GET api/v1/events) and every few seconds, it fetches GET api/v1/reconciler (relative:
// the page may sit under a path prefix) and writes the values into the elements that name
// their place in the body (data-field, data-list), formatted as the server formats them
// (ui_reconciler.shown). Text only: nothing from the body is parsed as HTML.
"use strict";

const REFRESH_SECONDS = 10;
const AFTER_EVENT_SECONDS = 2;

function found(body, path) {
  let value = body;
  for (const key of path.split(".")) {
    value = value !== null && typeof value === "object" && !Array.isArray(value) ? value[key] : null;
  }
  return value === undefined ? null : value;
}

function shown(value) {
  if (value === null || value === undefined) {
    return "";
  }
  if (typeof value === "boolean") {
    return value ? "yes" : "no";
  }
  if (Array.isArray(value)) {
    return value.map(shown).join(", ");
  }
  if (typeof value === "object") {
    return Object.entries(value).map(([key, item]) => `${key} ${shown(item)}`).join(", ");
  }
  return String(value);
}

function fillTable(body, tbody) {
  const columns = tbody.dataset.columns.split(" ");
  const items = found(body, tbody.dataset.list);
  const rows = [];
  for (const item of Array.isArray(items) ? items : []) {
    const row = document.createElement("tr");
    for (const column of columns) {
      const cell = document.createElement("td");
      cell.textContent = shown(item[column]);
      row.append(cell);
    }
    rows.push(row);
  }
  if (rows.length === 0) {
    const row = document.createElement("tr");
    const cell = document.createElement("td");
    cell.colSpan = columns.length;
    cell.textContent = "none";
    row.append(cell);
    rows.push(row);
  }
  tbody.replaceChildren(...rows);
}

document.addEventListener("DOMContentLoaded", () => {
  const view = document.getElementById("reconciler");
  if (!view) {
    return;
  }
  const refreshed = document.getElementById("refreshed");
  let fetching = false;
  async function refresh() {
    if (fetching) {
      return;
    }
    fetching = true;
    try {
      const answer = await fetch(view.dataset.source, { headers: { Accept: "application/json" } });
      if (!answer.ok) {
        refreshed.textContent = `Not refreshed: the server answered ${answer.status}.`;
        return;
      }
      const body = await answer.json();
      for (const element of view.querySelectorAll("[data-field]")) {
        element.textContent = shown(found(body, element.dataset.field));
      }
      for (const tbody of view.querySelectorAll("tbody[data-list]")) {
        fillTable(body, tbody);
      }
      refreshed.textContent = `Refreshed at ${new Date().toLocaleTimeString()}.`;
    } catch (error) {
      refreshed.textContent = "Not refreshed: the server did not answer.";
    } finally {
      fetching = false;
    }
  }
  // An event comes while its pass runs: once more when the pass has likely ended.
  let again = null;
  function refreshSoonAndAfter() {
    refresh();
    window.clearTimeout(again);
    again = window.setTimeout(refresh, AFTER_EVENT_SECONDS * 1000);
  }
  listenToReleases(view.dataset.events, refreshSoonAndAfter);
  window.setInterval(refresh, REFRESH_SECONDS * 1000);
});
