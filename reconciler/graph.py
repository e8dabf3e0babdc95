"""The dependency graph of releases: levels to run in parallel, cycles, external dependencies.

Runs after loading and before rendering. Pure, no I/O; renders as text, Mermaid, DOT, JSON.
"""

from __future__ import annotations

import dataclasses
import json
from collections import deque
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from reconciler.release_requests import Diagnostic, Release
from reconciler.types import JsonValue, ReleaseKey


class DependencyKind(StrEnum):
    INTERNAL = "internal"
    """A release loaded from this repository."""
    EXTERNAL = "external"
    """Not in this repository: later stages read it from the cluster."""
    INVALID = "invalid"
    """In this repository, but its file is invalid, so it is not loaded."""


@dataclass(frozen=True, order=True)
class Dependency:
    dependent: ReleaseKey
    alias: str
    target: ReleaseKey
    kind: DependencyKind


@dataclass(frozen=True)
class Cycle:
    path: tuple[ReleaseKey, ...]
    """The releases around the cycle, the first one repeated at the end."""

    def __str__(self) -> str:
        return " -> ".join(self.path)


@dataclass(frozen=True)
class ReleaseGraph:
    releases: tuple[ReleaseKey, ...]
    dependencies: tuple[Dependency, ...]
    levels: tuple[tuple[ReleaseKey, ...], ...]
    """Releases that can proceed, dependencies first; each level sorted, runnable in parallel."""
    cycles: tuple[Cycle, ...]
    blocked: Mapping[ReleaseKey, str]
    """Releases that cannot proceed (on a cycle, or depending on one or on an invalid file)."""
    diagnostics: tuple[Diagnostic, ...]

    @property
    def external(self) -> tuple[Dependency, ...]:
        return tuple(item for item in self.dependencies if item.kind is DependencyKind.EXTERNAL)


def build_graph(
    releases: Mapping[ReleaseKey, Release], *, invalid: Collection[ReleaseKey] = ()
) -> ReleaseGraph:
    """The graph of `releases`; `invalid` names releases whose files failed to load."""
    dependencies = tuple(
        Dependency(key, alias, target, _kind(target, releases, invalid))
        for key in sorted(releases)
        for alias, target in sorted(releases[key].dependencies.items())
    )
    edges: dict[ReleaseKey, set[ReleaseKey]] = {key: set() for key in releases}
    for item in dependencies:
        if item.kind is DependencyKind.INTERNAL:
            edges[item.dependent].add(item.target)
    cycles = _cycles(edges)
    blocked = _blocked(edges, cycles, dependencies)
    return ReleaseGraph(
        releases=tuple(sorted(releases)),
        dependencies=dependencies,
        levels=_levels(edges, blocked.keys()),
        cycles=cycles,
        blocked=dict(sorted(blocked.items())),
        diagnostics=tuple(_cycle_diagnostic(cycle, releases) for cycle in cycles),
    )


def with_dependencies(
    keys: Collection[ReleaseKey], releases: Mapping[ReleaseKey, Release]
) -> frozenset[ReleaseKey]:
    """`keys` and every release of `releases` they depend on, directly or not: what a
    pass limited to `keys` renders and applies, and so what it reports."""
    wanted: set[ReleaseKey] = set()
    pending = [key for key in keys if key in releases]
    while pending:
        key = pending.pop()
        if key in wanted:
            continue
        wanted.add(key)
        pending.extend(t for t in releases[key].dependencies.values() if t in releases)
    return frozenset(wanted)


def pass_scope(
    chosen: Collection[ReleaseKey],
    releases: Mapping[ReleaseKey, Release],
    *,
    dependents: bool = False,
) -> frozenset[ReleaseKey]:
    """The releases a pass over `chosen` takes: those, with `dependents` every release that
    depends on them directly or not (a change to them reaches those), and everything
    these depend on (their outputs and readiness gate them). A chosen release that is
    not among `releases` (its file is invalid) stays in, to be reported."""
    wanted = set(chosen)
    if dependents:
        users: dict[ReleaseKey, list[ReleaseKey]] = {}
        for key, release in releases.items():
            for target in release.dependencies.values():
                users.setdefault(target, []).append(key)
        pending = list(wanted)
        while pending:
            for user in users.get(pending.pop(), ()):
                if user not in wanted:
                    wanted.add(user)
                    pending.append(user)
    return with_dependencies(wanted, releases) | wanted


def _kind(
    target: ReleaseKey, releases: Mapping[ReleaseKey, Release], invalid: Collection[ReleaseKey]
) -> DependencyKind:
    if target in releases:
        return DependencyKind.INTERNAL
    return DependencyKind.INVALID if target in invalid else DependencyKind.EXTERNAL


def _strongly_connected(edges: Mapping[ReleaseKey, set[ReleaseKey]]) -> Iterator[list[ReleaseKey]]:
    """Tarjan's algorithm, iterative so that long dependency chains cannot hit recursion limits."""
    index: dict[ReleaseKey, int] = {}
    low: dict[ReleaseKey, int] = {}
    stack: list[ReleaseKey] = []
    on_stack: set[ReleaseKey] = set()
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component: list[ReleaseKey] = []
                    while not component or component[-1] != node:
                        component.append(stack.pop())
                        on_stack.discard(component[-1])
                    yield component
            elif target not in index:
                index[target] = low[target] = len(index)
                stack.append(target)
                on_stack.add(target)
                work.append((target, iter(sorted(edges[target]))))
            elif target in on_stack:
                low[node] = min(low[node], index[target])


def _cycles(edges: Mapping[ReleaseKey, set[ReleaseKey]]) -> tuple[Cycle, ...]:
    """Cycles covering every release on one, each the shortest through its first release."""
    found: list[Cycle] = []
    for component in _strongly_connected(edges):
        members = set(component)
        if len(members) == 1 and component[0] not in edges[component[0]]:
            continue
        covered: set[ReleaseKey] = set()
        for start in sorted(members):
            if start not in covered:
                path = _shortest_cycle(start, edges, members)
                covered.update(path)
                found.append(Cycle(path))
    return tuple(sorted(found, key=lambda cycle: cycle.path))


def _shortest_cycle(
    start: ReleaseKey, edges: Mapping[ReleaseKey, set[ReleaseKey]], members: set[ReleaseKey]
) -> tuple[ReleaseKey, ...]:
    came_from: dict[ReleaseKey, ReleaseKey] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target in sorted(edges[node] & members):
            if target == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return (*reversed(path), start)
            if target not in came_from:
                came_from[target] = node
                queue.append(target)
    raise AssertionError(f"{start} is in a strongly connected component but on no cycle")


def _blocked(
    edges: Mapping[ReleaseKey, set[ReleaseKey]],
    cycles: tuple[Cycle, ...],
    dependencies: tuple[Dependency, ...],
) -> dict[ReleaseKey, str]:
    blocked: dict[ReleaseKey, str] = {}
    for cycle in cycles:
        for key in cycle.path:
            blocked.setdefault(key, f"on the dependency cycle {cycle}")
    for item in dependencies:
        if item.kind is DependencyKind.INVALID:
            blocked.setdefault(item.dependent, f"depends on {item.target}, whose file is invalid")
    dependents: dict[ReleaseKey, set[ReleaseKey]] = {key: set() for key in edges}
    for key, targets in edges.items():
        for target in targets:
            dependents[target].add(key)
    queue = deque(sorted(blocked))
    while queue:
        key = queue.popleft()
        for dependent in sorted(dependents[key] - blocked.keys()):
            blocked[dependent] = f"depends on {key}, which is blocked"
            queue.append(dependent)
    return blocked


def _levels(
    edges: Mapping[ReleaseKey, set[ReleaseKey]], blocked: Collection[ReleaseKey]
) -> tuple[tuple[ReleaseKey, ...], ...]:
    """Kahn's algorithm by rounds. A release that is not blocked depends on none that is."""
    waiting = {key: len(targets) for key, targets in edges.items() if key not in blocked}
    dependents: dict[ReleaseKey, list[ReleaseKey]] = {key: [] for key in waiting}
    for key in waiting:
        for target in edges[key]:
            dependents[target].append(key)
    levels = []
    ready = sorted(key for key, count in waiting.items() if count == 0)
    while ready:
        levels.append(tuple(ready))
        following = []
        for key in ready:
            for dependent in dependents[key]:
                waiting[dependent] -= 1
                if not waiting[dependent]:
                    following.append(dependent)
        ready = sorted(following)
    return tuple(levels)


def _cycle_diagnostic(cycle: Cycle, releases: Mapping[ReleaseKey, Release]) -> Diagnostic:
    first, second = cycle.path[0], cycle.path[1]
    release = releases[first]
    alias = next(
        alias for alias, target in sorted(release.dependencies.items()) if target == second
    )
    diagnostic = release.source.diagnostic(
        ("dependencies", alias),
        f"dependency cycle: {cycle}",
        "releases on a cycle cannot be ordered; remove one of these dependencies",
    )
    return dataclasses.replace(diagnostic, release=first)


def render_text(graph: ReleaseGraph) -> str:
    lines = [f"level {number}: {', '.join(keys)}" for number, keys in enumerate(graph.levels, 1)]
    if graph.external:
        lines.append("external dependencies (read from the cluster):")
        lines.extend(
            f"  {item.dependent} -> {item.target} ({item.alias})" for item in graph.external
        )
    if graph.blocked:
        lines.append("blocked:")
        lines.extend(f"  {key}: {reason}" for key, reason in graph.blocked.items())
    return "\n".join(lines) if lines else "no releases"


def _outside_nodes(graph: ReleaseGraph) -> dict[ReleaseKey, DependencyKind]:
    return {
        item.target: item.kind
        for item in graph.dependencies
        if item.kind is not DependencyKind.INTERNAL
    }


def render_mermaid(graph: ReleaseGraph) -> str:
    """A Mermaid flowchart (GitHub renders it in a ```mermaid block); arrows point forward."""
    outside = _outside_nodes(graph)
    ids = {key: f"r{number}" for number, key in enumerate([*graph.releases, *sorted(outside)])}
    lines = ["flowchart LR"]
    lines.extend(f'  {ids[key]}["{key}"]' for key in graph.releases)
    lines.extend(
        f'  {ids[key]}["{key} ({kind})"]:::{kind}' for key, kind in sorted(outside.items())
    )
    for item in graph.dependencies:
        arrow = "-->" if item.kind is DependencyKind.INTERNAL else "-.->"
        lines.append(f"  {ids[item.target]} {arrow}|{item.alias}| {ids[item.dependent]}")
    styles = {
        "external": "stroke-dasharray: 5 5",
        "invalid": "stroke:#cf222e,stroke-dasharray: 5 5",
        "blocked": "stroke:#cf222e,stroke-width:2px",
    }
    used = {*outside.values(), *(["blocked"] if graph.blocked else [])}
    lines.extend(f"  classDef {name} {style}" for name, style in styles.items() if name in used)
    if graph.blocked:
        lines.append(f"  class {','.join(ids[key] for key in graph.blocked)} blocked")
    return "\n".join(lines)


def render_dot(graph: ReleaseGraph) -> str:
    """Graphviz DOT; arrows point from a dependency to its dependents."""
    lines = ["digraph releases {", "  rankdir=LR;", "  node [shape=box];"]
    for key in graph.releases:
        style = ' [color="#cf222e", penwidth=2]' if key in graph.blocked else ""
        lines.append(f'  "{key}"{style};')
    for key, kind in sorted(_outside_nodes(graph).items()):
        lines.append(f'  "{key}" [style=dashed, label="{key}\\n({kind})"];')
    for item in graph.dependencies:
        style = "" if item.kind is DependencyKind.INTERNAL else ", style=dashed"
        lines.append(f'  "{item.target}" -> "{item.dependent}" [label="{item.alias}"{style}];')
    lines.append("}")
    return "\n".join(lines)


def render_json(graph: ReleaseGraph) -> str:
    document: dict[str, JsonValue] = {
        "levels": [list(level) for level in graph.levels],
        "dependencies": [
            {
                "dependent": item.dependent,
                "alias": item.alias,
                "target": item.target,
                "kind": str(item.kind),
            }
            for item in graph.dependencies
        ],
        "cycles": [list(cycle.path) for cycle in graph.cycles],
        "blocked": {str(key): reason for key, reason in graph.blocked.items()},
    }
    return json.dumps(document, indent=2)
