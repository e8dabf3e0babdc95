"""A pass over chosen releases: the same entry point as the whole repository's, taking
what the chosen depend on and, on request, what depends on them, and nothing else; it
never removes a release whose file left Git."""

from __future__ import annotations

from pathlib import Path

from reconciler.outcome import Outcome
from reconciler.policy import Policy
from reconciler.reconcile import PassOptions, reconcile
from reconciler.types import JsonObject, ReleaseKey
from tests.cluster.test_cli_cluster import harmonia
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster


def config_map(name: str, value: str = "1") -> JsonObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"v": value},
    }


def chain(bench: Workbench, namespace: str, value: str) -> dict[str, ReleaseKey]:
    """db <- app <- web, and an unrelated release; every ConfigMap holds `value`."""
    keys = {}
    for name, dependencies in (("db", {}), ("app", {"db": "db"}), ("web", {"app": "app"})):
        chart = bench.chart(name, [config_map(name, value)])
        keys[name] = bench.release(namespace, name, chartPath=chart, dependencies=dependencies)
    keys["other"] = bench.release(
        namespace, "other", chartPath=bench.chart("other", [config_map("other", value)])
    )
    return keys


def changed_chain(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> tuple[Workbench, dict[str, ReleaseKey]]:
    """The chain applied with "1", then every file changed to "2" and not applied yet."""
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    chain(bench, namespace, "1")
    assert not bench.run().failed
    return bench, chain(bench, namespace, "2")


def value_of(cluster: LiveCluster, namespace: str, name: str) -> str:
    found = cluster.kubectl("-n", namespace, "get", "cm", name, "-o", "jsonpath={.data.v}")
    return found.stdout


def test_a_pass_over_one_release_takes_what_it_depends_on_and_leaves_the_rest(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench, keys = changed_chain(cluster, namespace, tmp_path)

    report = bench.run(only=frozenset({keys["app"]}))

    assert set(report.releases) == {keys["app"], keys["db"]}
    assert all(entry.outcome is Outcome.APPLIED for entry in report.releases.values())
    assert [value_of(cluster, namespace, name) for name in ("db", "app", "web", "other")] == [
        "2",
        "2",
        "1",
        "1",
    ]


def test_a_pass_over_one_release_with_its_dependents_takes_them_and_what_they_need(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench, keys = changed_chain(cluster, namespace, tmp_path)

    report = bench.run(only=frozenset({keys["app"]}), dependents=True)

    assert set(report.releases) == {keys["db"], keys["app"], keys["web"]}
    assert value_of(cluster, namespace, "web") == "2"
    assert value_of(cluster, namespace, "other") == "1"


def test_a_pass_over_chosen_releases_never_removes_a_release_whose_file_left(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    keys = chain(bench, namespace, "1")
    assert not bench.run().failed
    bench.remove_release(namespace, "other")

    scoped = bench.run(only=frozenset({keys["db"]}))

    assert set(scoped.releases) == {keys["db"]}
    assert value_of(cluster, namespace, "other") == "1"
    whole = bench.run()
    assert whole.releases[keys["other"]].outcome is Outcome.REMOVED


def test_a_pass_over_a_release_the_policy_refuses_applies_nothing_it_depends_on(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench, keys = changed_chain(cluster, namespace, tmp_path)
    outside = bench.release(
        f"{namespace}-outside",
        "stray",
        chartPath=bench.chart("stray", [config_map("stray")]),
        dependencies={"db": str(keys["db"])},
    )
    bench.policy = Policy(allowed_namespaces=(namespace,))

    with bench.client() as client:
        state = bench.desired(client, only=frozenset({outside}))
        assert state.scope == {outside}
        report = reconcile(client, state, PassOptions("rev-x", bench.source))

    assert set(report.releases) == {outside}
    assert report.releases[outside].outcome is Outcome.INVALID
    assert value_of(cluster, namespace, "db") == "1"


def test_apply_of_one_release_no_file_holds_says_so(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    chain(bench, namespace, "1")

    applied = harmonia(cluster, "apply", str(bench.root), "-r", f"{namespace}/gone")

    assert applied.returncode == 1
    assert f"error: release {namespace}/gone: no file of {bench.root} holds it" in applied.stderr
