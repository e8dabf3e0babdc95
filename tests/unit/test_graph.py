"""The dependency graph: levels, cycles with their paths, what they block, and external releases."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.graph import (
    Cycle,
    Dependency,
    DependencyKind,
    build_graph,
    pass_scope,
    render_dot,
    render_json,
    render_mermaid,
    render_text,
    with_dependencies,
)
from reconciler.release_requests import ChartPath, Release, SourceMap, load_repository
from reconciler.types import ReleaseKey
from tests.unit.samples import release, write_repository


def releases(dependencies: dict[str, list[str]]) -> dict[ReleaseKey, Release]:
    """Releases in namespace `ns`, each depending on the listed ones (alias = target name)."""
    built = {}
    for name, targets in dependencies.items():
        key = ReleaseKey(f"ns/{name}")
        built[key] = Release(
            name=name,
            namespace="ns",
            chart=ChartPath("charts/web"),
            source=SourceMap(f"releases/{name}.yaml", {}),
            dependencies={target.split("/")[-1]: _key(target) for target in targets},
        )
    return built


def _key(target: str) -> ReleaseKey:
    return ReleaseKey(target if "/" in target else f"ns/{target}")


def test_releases_come_in_levels_dependencies_first_sorted_within_a_level() -> None:
    graph = build_graph(
        releases({"web": ["db", "cache"], "db": [], "cache": [], "kafka": ["zk"], "zk": []})
    )
    assert graph.levels == (
        ("ns/cache", "ns/db", "ns/zk"),
        ("ns/kafka", "ns/web"),
    )
    assert graph.cycles == () and graph.blocked == {} and graph.diagnostics == ()


def test_a_release_waits_for_its_deepest_dependency() -> None:
    graph = build_graph(releases({"a": ["b", "d"], "b": ["c"], "c": [], "d": []}))
    assert graph.levels == (("ns/c", "ns/d"), ("ns/b",), ("ns/a",))


def test_a_cycle_is_reported_with_its_whole_path() -> None:
    graph = build_graph(releases({"a": ["b"], "b": ["c"], "c": ["a"]}))
    assert [str(cycle) for cycle in graph.cycles] == ["ns/a -> ns/b -> ns/c -> ns/a"]


def test_a_release_depending_on_itself_is_a_cycle() -> None:
    graph = build_graph(releases({"a": ["a"], "b": []}))
    assert graph.cycles == (Cycle((ReleaseKey("ns/a"), ReleaseKey("ns/a"))),)
    assert graph.levels == (("ns/b",),)


def test_a_cycle_blocks_only_its_releases_and_their_dependents() -> None:
    graph = build_graph(
        releases({"a": ["b"], "b": ["a"], "web": ["a"], "front": ["web"], "db": [], "api": ["db"]})
    )
    assert graph.blocked == {
        "ns/a": "on the dependency cycle ns/a -> ns/b -> ns/a",
        "ns/b": "on the dependency cycle ns/a -> ns/b -> ns/a",
        "ns/front": "depends on ns/web, which is blocked",
        "ns/web": "depends on ns/a, which is blocked",
    }
    assert graph.levels == (("ns/db",), ("ns/api",))


def test_every_release_of_tangled_cycles_is_on_a_reported_cycle() -> None:
    graph = build_graph(releases({"a": ["b", "c"], "b": ["a"], "c": ["a"]}))
    assert [str(cycle) for cycle in graph.cycles] == [
        "ns/a -> ns/b -> ns/a",
        "ns/c -> ns/a -> ns/c",
    ]


def test_a_dependency_outside_the_repository_is_external_and_blocks_nothing() -> None:
    graph = build_graph(releases({"kafka": ["infra/zookeeper"]}))
    assert graph.external == (
        Dependency(
            ReleaseKey("ns/kafka"),
            "zookeeper",
            ReleaseKey("infra/zookeeper"),
            DependencyKind.EXTERNAL,
        ),
    )
    assert graph.levels == (("ns/kafka",),)


def test_a_dependency_on_an_invalid_release_blocks_its_dependents() -> None:
    graph = build_graph(releases({"kafka": ["zk"], "web": []}), invalid={ReleaseKey("ns/zk")})
    assert graph.dependencies[0].kind is DependencyKind.INVALID
    assert graph.blocked == {"ns/kafka": "depends on ns/zk, whose file is invalid"}
    assert graph.levels == (("ns/web",),)


def test_a_long_chain_does_not_hit_the_recursion_limit() -> None:
    chain = {f"r{index}": [f"r{index + 1}"] for index in range(3000)} | {"r3000": []}
    graph = build_graph(releases(chain))
    assert len(graph.levels) == 3001 and graph.levels[0] == ("ns/r3000",)


def test_a_cycle_is_an_error_at_one_of_its_dependencies(tmp_path: Path) -> None:
    root = write_repository(
        tmp_path,
        {
            "releases/a.yaml": release("a", dependencies="{next: b}"),
            "releases/b.yaml": release("b", dependencies="\n  next: a"),
        },
    )
    loaded = load_repository(root)
    graph = build_graph(loaded.releases)
    ((problem,),) = [graph.diagnostics]
    assert (problem.file, problem.line, problem.column) == ("releases/a.yaml", 6, 22)
    assert problem.message == "dependency cycle: apps/a -> apps/b -> apps/a"
    assert problem.path == "$.dependencies.next" and problem.release == "apps/a"


def test_text_shows_levels_external_dependencies_and_blocked_releases() -> None:
    graph = build_graph(releases({"a": ["b"], "b": ["a"], "kafka": ["infra/zk"]}))
    assert render_text(graph).splitlines() == [
        "level 1: ns/kafka",
        "external dependencies (read from the cluster):",
        "  ns/kafka -> infra/zk (zk)",
        "blocked:",
        "  ns/a: on the dependency cycle ns/a -> ns/b -> ns/a",
        "  ns/b: on the dependency cycle ns/a -> ns/b -> ns/a",
    ]


def test_mermaid_draws_arrows_forward_and_external_releases_dashed() -> None:
    graph = build_graph(releases({"kafka": ["zk", "infra/registry"], "zk": []}))
    assert render_mermaid(graph).splitlines() == [
        "flowchart LR",
        '  r0["ns/kafka"]',
        '  r1["ns/zk"]',
        '  r2["infra/registry (external)"]:::external',
        "  r2 -.->|registry| r0",
        "  r1 -->|zk| r0",
        "  classDef external stroke-dasharray: 5 5",
    ]


def test_dot_draws_the_same_graph() -> None:
    graph = build_graph(releases({"kafka": ["zk", "infra/registry"], "zk": []}))
    dot = render_dot(graph)
    assert dot.startswith("digraph releases {") and dot.endswith("}")
    assert '  "ns/zk" -> "ns/kafka" [label="zk"];' in dot
    assert '  "infra/registry" [style=dashed, label="infra/registry\\n(external)"];' in dot


def test_json_holds_levels_dependencies_cycles_and_blocked() -> None:
    graph = build_graph(releases({"a": ["a"], "b": []}))
    assert json.loads(render_json(graph)) == {
        "levels": [["ns/b"]],
        "dependencies": [{"dependent": "ns/a", "alias": "a", "target": "ns/a", "kind": "internal"}],
        "cycles": [["ns/a", "ns/a"]],
        "blocked": {"ns/a": "on the dependency cycle ns/a -> ns/a"},
    }


def test_with_dependencies_follows_dependencies_of_dependencies_and_stops_at_others() -> None:
    found = releases(
        {"web": ["db", "other/outside"], "db": ["disk"], "disk": ["db"], "unrelated": []}
    )
    assert with_dependencies({ReleaseKey("ns/web")}, found) == {"ns/web", "ns/db", "ns/disk"}
    assert with_dependencies({ReleaseKey("ns/gone")}, found) == frozenset()


def test_pass_scope_takes_dependencies_and_on_request_dependents_with_what_they_need() -> None:
    found = releases(
        {"db": [], "cache": [], "app": ["db"], "web": ["app", "cache"], "unrelated": []}
    )
    app = ReleaseKey("ns/app")
    assert pass_scope({app}, found) == {"ns/app", "ns/db"}
    assert pass_scope({app}, found, dependents=True) == {"ns/app", "ns/db", "ns/web", "ns/cache"}


def test_pass_scope_keeps_a_chosen_release_whose_file_is_invalid_and_finds_its_dependents() -> None:
    found = releases({"app": ["broken"], "other": []})
    broken = ReleaseKey("ns/broken")
    assert pass_scope({broken}, found) == {"ns/broken"}
    assert pass_scope({broken}, found, dependents=True) == {"ns/broken", "ns/app"}
