"""The web UI's dependency graph page: the releases laid out in layers, drawn as inline SVG.

Pure: `server.py` gives it the API's release list (already masked, each summary with the
releases it `dependsOn`), so the graph is the one `harmonia graph` draws from the same
release requests. `layered` places each release in the layer of its longest path from a
release with no dependency; a cycle (which the loop blocks) still ends, its releases in a
last layer. Every text is escaped; colours come from the stylesheet by `data-state`, since
the Content-Security-Policy allows no inline style.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from html import escape

from reconciler.loop.api import queried_namespace
from reconciler.loop.errors import ApiError
from reconciler.loop.ui import (
    GRAPH_SCRIPT_PATH,
    PageQuery,
    attribute,
    event_stream,
    page,
    release_address,
    summaries_of,
    text_of,
)
from reconciler.types import JsonObject

BOX_WIDTH, BOX_HEIGHT = 240, 62
COLUMN_GAP, ROW_GAP, MARGIN = 200, 18, 12
"""The gap between columns holds the edges' labels (the outputs taken)."""
_SHOWN_TEXT = 30
"""Characters of a line drawn in a box (the release's name, not its namespace); the whole
key and message are in its title."""
_SHOWN_LABEL = 28
"""Characters of an edge's label; all the output names are in its title."""
GRAPH_QUERY_KEYS = ("namespace",)


def parse_graph_query(query: Mapping[str, str]) -> PageQuery:
    """The graph's query: only `?namespace=`. `?state=` is refused, not ignored: a graph
    cut by state would drop the dependencies that explain a release (a Blocked one would
    wait on nothing drawn); the releases page filters by state."""
    if "state" in query:
        raise ApiError(
            400,
            "state: the dependency graph is not filtered by state (it would hide the "
            "dependencies that explain one); filter it by namespace, or the releases page "
            "by state",
        )
    return PageQuery(queried_namespace(query, known=GRAPH_QUERY_KEYS))


@dataclass(frozen=True)
class GraphLayout:
    layers: tuple[tuple[str, ...], ...]
    """Left to right: each layer's releases by name, dependencies before dependents."""
    edges: tuple[tuple[str, str], ...]
    """(dependency, dependent) between shown releases, sorted."""


def layered(depends_on: Mapping[str, Collection[str]]) -> GraphLayout:
    """The layers of the releases `depends_on` maps to their dependencies: a release's
    layer is its longest path from a release with no (shown) dependency. Releases on or
    behind a cycle cannot be ordered; they share one last layer instead of looping."""
    needs = {key: sorted(set(deps) & depends_on.keys()) for key, deps in depends_on.items()}
    users: dict[str, list[str]] = {key: [] for key in needs}
    for key, deps in needs.items():
        for dependency in deps:
            users[dependency].append(key)
    waiting = {key: len(deps) for key, deps in needs.items()}
    layer = {key: 0 for key, count in waiting.items() if count == 0}
    ready = sorted(layer)
    while ready:
        key = ready.pop()
        for user in users[key]:
            layer[user] = max(layer.get(user, 0), layer[key] + 1)
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    last = max(layer.values(), default=-1) + 1
    for key in needs.keys() - layer.keys():
        layer[key] = last
    count = max(layer.values(), default=-1) + 1
    layers = tuple(tuple(sorted(k for k in layer if layer[k] == n)) for n in range(count))
    edges = tuple(sorted((dep, key) for key, deps in needs.items() for dep in deps))
    return GraphLayout(layers, edges)


def graph_page(release_list: JsonObject, query: PageQuery) -> str:
    """The dependency graph page for the API's `release_list` body."""
    summaries = {_key(item): item for item in summaries_of(release_list)}
    layout = layered({key: _depends_on(item) for key, item in summaries.items()})
    taken = {key: output_names_by_dependency(item) for key, item in summaries.items()}
    stream = event_stream(query)
    return page(
        "Dependency graph",
        GRAPH_SCRIPT_PATH,
        f"""<h1>Dependency graph</h1>
<p>An arrow goes from a dependency to the release that depends on it, labelled with the
outputs the release takes from it.</p>
<div id="graph" data-events="{attribute(stream)}">
{_svg(layout, summaries, taken)}
</div>""",
    )


def output_names_by_dependency(summary: JsonObject) -> dict[str, list[str]]:
    """The names of the outputs the summary's release takes from each release it depends on
    (the API's `outputsTaken`; several aliases of one release together)."""
    taken: dict[str, list[str]] = {}
    entries = summary.get("outputsTaken")
    for entry in entries if isinstance(entries, list) else []:
        outputs = entry.get("outputs") if isinstance(entry, dict) else None
        if isinstance(entry, dict) and isinstance(outputs, list):
            names = taken.setdefault(text_of(entry.get("release")), [])
            names.extend(text_of(name) for name in outputs)
    return taken


def _svg(
    layout: GraphLayout,
    summaries: Mapping[str, JsonObject],
    taken: Mapping[str, Mapping[str, list[str]]],
) -> str:
    at = {
        key: (
            MARGIN + column * (BOX_WIDTH + COLUMN_GAP),
            MARGIN + row * (BOX_HEIGHT + ROW_GAP),
        )
        for column, keys in enumerate(layout.layers)
        for row, key in enumerate(keys)
    }
    width = MARGIN * 2 + max(len(layout.layers) * (BOX_WIDTH + COLUMN_GAP) - COLUMN_GAP, 0)
    rows = max((len(keys) for keys in layout.layers), default=0)
    height = MARGIN * 2 + max(rows * (BOX_HEIGHT + ROW_GAP) - ROW_GAP, 0)
    edges = "\n".join(
        _edge(at[dep], at[user], dep, user, taken[user].get(dep, [])) for dep, user in layout.edges
    )
    boxes = "\n".join(_box(key, at[key], summaries) for key in sorted(at))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="group" aria-label="Dependency graph">\n'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>'
        "</defs>\n"
        f"{edges}\n{boxes}\n</svg>"
    )


def _edge(
    start: tuple[int, int], end: tuple[int, int], dependency: str, user: str, outputs: list[str]
) -> str:
    x1, y1 = start[0] + BOX_WIDTH, start[1] + BOX_HEIGHT // 2
    x2, y2 = end[0], end[1] + BOX_HEIGHT // 2
    bend = max(abs(x2 - x1) // 2, COLUMN_GAP // 2)
    ends = f'data-from="{attribute(dependency)}" data-to="{attribute(user)}"'
    path = (
        f'<path class="edge" {ends} '
        f'd="M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}" marker-end="url(#arrow)"/>'
    )
    if not outputs:
        return path
    # Near the arrow's head, in the gap before the dependent's column: the middle of a
    # long edge may cross a box of the columns between.
    names = ", ".join(outputs)
    x, y = x2 - COLUMN_GAP // 2, (y2 if abs(x2 - x1) > COLUMN_GAP else (y1 + y2) // 2) - 5
    shown = names if len(names) <= _SHOWN_LABEL else names[: _SHOWN_LABEL - 1] + "…"
    return (
        f'{path}\n<text class="edge-label" {ends} x="{x}" y="{y}" text-anchor="middle">'
        f"<title>{escape(f'{user} takes from {dependency}: {names}')}</title>"
        f"{escape(shown)}</text>"
    )


def _box(key: str, at: tuple[int, int], summaries: Mapping[str, JsonObject]) -> str:
    summary = summaries[key]
    state = _state_of(summary)
    message = text_of(summary.get("message"))
    x, y = at
    name = text_of(summary.get("name"))
    title, why = f"{key}: {state}: {message}", ""
    if state == "Blocked":
        waits = [dep for dep in _depends_on(summary) if _state_of(summaries.get(dep)) != "Ready"]
        blockers = ", ".join(waits) or "its dependencies"
        title, why = f"{key}: Blocked by {blockers}: {message}", f"waits for {blockers}"
    return (
        f'<a href="{attribute(release_address(key))}">'
        f'<g class="release" data-release="{attribute(key)}" data-state="{attribute(state)}">'
        f"<title>{escape(title)}</title>"
        f'<rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6"/>'
        f'<text class="name" x="{x + 10}" y="{y + 20}">{escape(_shortened(name))}</text>'
        f'<text class="state" x="{x + 10}" y="{y + 37}">{escape(state)}</text>'
        f'<text class="why" x="{x + 10}" y="{y + 52}">{escape(_shortened(why))}</text>'
        "</g></a>"
    )


def _shortened(text: str) -> str:
    return text if len(text) <= _SHOWN_TEXT else text[: _SHOWN_TEXT - 1] + "…"


def _state_of(summary: JsonObject | None) -> str:
    return text_of(summary.get("state")) if summary is not None else ""


def _key(summary: JsonObject) -> str:
    return f"{summary.get('namespace')}/{summary.get('name')}"


def _depends_on(summary: JsonObject) -> list[str]:
    targets = summary.get("dependsOn")
    return [str(item) for item in targets] if isinstance(targets, list) else []
