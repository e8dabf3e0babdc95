"""The web UI's releases page: server-rendered HTML from the JSON API's release list.

Pure: `server.py` asks the API's provider for the list (already masked, so no Secret value
reaches a page) and serves what `releases_page` makes of it, with `CONTENT_SECURITY_POLICY`.
Every value from Git or the cluster is escaped; every URL is relative, so the page works
under a proxy's path prefix. The one script, `ui_static/releases.js`, ships in the wheel and
keeps the State column current from `GET /api/v1/events`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from importlib.resources import files
from urllib.parse import quote

from reconciler.loop.api import queried_namespace
from reconciler.loop.errors import ApiError
from reconciler.loop.ui_columns import age_cell, revision_cell
from reconciler.types import JsonObject, JsonValue

UI_QUERY_KEYS = ("namespace", "labelSelector", "state")
ASSETS_PATH = "/ui"
SCRIPT_PATH = f"{ASSETS_PATH}/releases.js"
GRAPH_SCRIPT_PATH = f"{ASSETS_PATH}/graph.js"
RECONCILER_SCRIPT_PATH = f"{ASSETS_PATH}/reconciler.js"
STYLE_PATH = f"{ASSETS_PATH}/releases.css"
ICON_PATH = f"{ASSETS_PATH}/favicon.svg"
"""A page's own icon: else a browser asks for `/favicon.ico`, a 404 in its console."""
RELEASE_SCRIPT_PATH = f"{ASSETS_PATH}/release.js"
LIVE_SCRIPT_PATH = f"{ASSETS_PATH}/live.js"
"""The stream's one listener, which every page's script uses (loaded before it)."""
ASSET_PATHS = (
    LIVE_SCRIPT_PATH,
    SCRIPT_PATH,
    GRAPH_SCRIPT_PATH,
    RECONCILER_SCRIPT_PATH,
    RELEASE_SCRIPT_PATH,
    STYLE_PATH,
    ICON_PATH,
)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Nothing inline, nothing from elsewhere: only this server's script, style and stream."""
_MAX_STATE = 64
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class PageQuery:
    """The page's filter: `?namespace=` and `?labelSelector=` go to the API's list (which
    answers a malformed selector with its 400), `?state=` is applied here."""

    namespace: str | None = None
    state: str | None = None
    label_selector: str | None = None

    def api_query(self) -> dict[str, str]:
        chosen = {"namespace": self.namespace, "labelSelector": self.label_selector}
        return {key: value for key, value in chosen.items() if value}


def parse_page_query(query: Mapping[str, str]) -> PageQuery:
    """The page's query parameters; `ApiError(400)` for an unknown or malformed one."""
    namespace = queried_namespace(query, known=UI_QUERY_KEYS)
    state = query.get("state") or None
    if state is not None and (len(state) > _MAX_STATE or not state.isalnum()):
        raise ApiError(400, f"state: {state[:100]!r} is not a state name")
    return PageQuery(namespace, state, query.get("labelSelector") or None)


def asset(path: str) -> tuple[bytes, str]:
    """The bytes and media type of one of `ASSET_PATHS`, read from the package (the wheel
    holds `ui_static/`)."""
    name = path.removeprefix(f"{ASSETS_PATH}/")
    body = files(__package__).joinpath("ui_static", name).read_bytes()
    return body, _MEDIA_TYPES[name[name.rindex(".") :]]


def releases_page(
    release_list: JsonObject, query: PageQuery, *, now: datetime | None = None
) -> str:
    """The releases page for the API's `release_list` body, filtered by `query.state`;
    ages as of `now` (None: the time of the call)."""
    summaries = summaries_of(release_list)
    shown = [item for item in summaries if query.state in (None, item.get("state"))]
    at = now or datetime.now(UTC)
    rows = "\n".join(_row(summary, at) for summary in shown)
    states = sorted({str(summary.get("state")) for summary in summaries} | {query.state or ""})
    stream = event_stream(query)
    return page(
        "Releases",
        SCRIPT_PATH,
        f"""<h1>Releases</h1>
<form method="get" action="" class="filter">
<label>Namespace <input name="namespace" value="{attribute(query.namespace or "")}"></label>
<label>Labels <input name="labelSelector" value="{attribute(query.label_selector or "")}" \
placeholder="team=data,tier in (front)"></label>
<label>State <select name="state">{_options(states, query.state)}</select></label>
<button type="submit">Filter</button>
</form>
<p id="count">{len(shown)} of {len(summaries)} releases</p>
<table id="releases" data-events="{attribute(stream)}">
<thead><tr><th scope="col">Release</th><th scope="col">State</th><th scope="col">Sync</th>\
<th scope="col">Revision</th><th scope="col">Age</th><th scope="col">Message</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>""",
    )


NAVIGATION = (("Releases", "./"), ("Dependency graph", "graph"), ("Reconciler", "reconciler"))
"""The site's pages, as (title, address relative to the server's top), in the header of each."""


def page(title: str, script_path: str, body: str, root: str = "") -> str:
    """A whole page of the UI around `body` (already escaped): the shared style and icon,
    `script_path` (if any) and the site's navigation. Every URL is relative: `root` leads from the
    page's address to the server's top (`../../` for `releases/<namespace>/<name>`)."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · Harmonia</title>
<link rel="icon" type="image/svg+xml" href="{attribute(root + ICON_PATH[1:])}">
<link rel="stylesheet" href="{attribute(root + STYLE_PATH[1:])}">
{_script(root, script_path)}
</head>
<body>
{navigation(title, root)}
<main>
{body}
</main>
</body>
</html>
"""


def _script(root: str, script_path: str) -> str:
    """The page's script elements, the stream's listener first (deferred scripts run in
    order); none for a page without a script (`script_path` "")."""
    if not script_path:
        return ""
    return "\n".join(
        f'<script src="{attribute(root + path[1:])}" defer></script>'
        for path in (LIVE_SCRIPT_PATH, script_path)
    )


def navigation(current: str, root: str) -> str:
    """The header's links to the site's pages; the current one marked for assistive technology."""
    links = []
    for title, address in NAVIGATION:
        here = ' aria-current="page"' if title == current else ""
        href = attribute(root + address if address != "./" else root or "./")
        links.append(f'<a href="{href}"{here}>{escape(title)}</a>')
    return f'<nav aria-label="Pages">{" ".join(links)}</nav>'


def event_stream(query: PageQuery) -> str:
    """The page's relative URL of the release events, narrowed to its namespace."""
    return "api/v1/events" + (f"?namespace={query.namespace}" if query.namespace else "")


def summaries_of(release_list: JsonObject) -> list[JsonObject]:
    """The release summaries of the API's list body."""
    releases = release_list.get("releases")
    listed = releases if isinstance(releases, list) else []
    return [item for item in listed if isinstance(item, dict)]


def _row(summary: JsonObject, now: datetime) -> str:
    key = f"{summary.get('namespace')}/{summary.get('name')}"
    state = text_of(summary.get("state"))
    sync = " · ".join(
        text_of(summary.get(field)) for field in ("outcome", "nextAttempt") if summary.get(field)
    )
    return (
        f'<tr data-release="{attribute(key)}">'
        f'<td><a href="{attribute(release_address(key))}">{escape(key)}</a></td>'
        f'<td class="state" data-state="{attribute(state)}">{escape(state)}</td>'
        f'<td class="sync">{escape(sync)}</td>'
        f"{revision_cell(summary)}{age_cell(summary, now)}"
        f'<td class="message">{escape(text_of(summary.get("message")))}</td>'
        "</tr>"
    )


def _options(states: Sequence[str], chosen: str | None) -> str:
    options = ['<option value="">any</option>']
    for state in states:
        if state:
            selected = " selected" if state == chosen else ""
            options.append(f'<option value="{attribute(state)}"{selected}>{escape(state)}</option>')
    return "".join(options)


def release_address(key: str, root: str = "") -> str:
    """The relative address of release `namespace/name`'s page, from a page at `root`."""
    namespace, _, name = key.partition("/")
    return f"{root}releases/{quote(namespace, safe='')}/{quote(name, safe='')}"


def text_of(value: JsonValue) -> str:
    """A JSON value as page text: null is blank."""
    return "" if value is None else str(value)


def attribute(text: str) -> str:
    """`text` escaped for an attribute's quoted value."""
    return escape(text, quote=True)
