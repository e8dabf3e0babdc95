"""The prune guard against a hostile or careless commit: a removal held while the
snapshot could not be read stays held once it can be; `apply -r` removes nothing else;
another repository's `confirmRemoval` confirms nothing here."""

from __future__ import annotations

from pathlib import Path

from reconciler.reconcile import Outcome, PassOptions, PassReport, reconcile
from tests.cluster.test_apply_prune import config_map, exists
from tests.cluster.test_cli_cluster import harmonia
from tests.cluster.workbench import REPOSITORY_FILE, Workbench
from tests.conftest import LiveCluster

OLD = ("web", "cache", "kafka", "zookeeper")
NEW = ("one", "two", "three", "four", "five")


def run_with_errors(bench: Workbench, *, same_commit: bool = False) -> PassReport:
    """One pass like `Workbench.run`, for a snapshot that has errors on purpose."""
    bench.revision += 0 if same_commit else 1
    with bench.client() as client:
        state = bench.desired(client)
        return reconcile(client, state, PassOptions(f"rev-{bench.revision}", bench.source))


def replace_all_releases(bench: Workbench, namespace: str) -> None:
    for name in OLD:
        bench.remove_release(namespace, name)
    for name in NEW:
        bench.release(namespace, name, chartPath=bench.chart(name, [config_map(name)]))


def four_releases(cluster: LiveCluster, namespace: str, tmp_path: Path) -> Workbench:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    for name in OLD:
        bench.release(namespace, name, chartPath=bench.chart(name, [config_map(name)]))
    assert not bench.run().failed
    return bench


def assert_old_withheld(report: PassReport, cluster: LiveCluster, namespace: str) -> None:
    outcomes = {name: report.releases[f"{namespace}/{name}"].outcome for name in OLD}  # type: ignore[index]
    assert outcomes == dict.fromkeys(OLD, Outcome.REMOVAL_WITHHELD), report
    assert all(exists(cluster, "-n", namespace, "cm", name) for name in OLD)


def test_a_removal_held_for_an_unreadable_release_file_stays_withheld_once_the_file_is_fixed(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = four_releases(cluster, namespace, tmp_path)
    replace_all_releases(bench, namespace)
    broken = bench.root / "releases" / namespace / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    held = run_with_errors(bench)
    assert held.prune_withheld is not None and "cannot tell which release" in held.prune_withheld
    assert_old_withheld(held, cluster, namespace)
    run_with_errors(bench, same_commit=True)  # the new releases are recorded by now

    broken.unlink()
    for same_commit in (False, True):
        assert_old_withheld(bench.run(same_commit=same_commit), cluster, namespace)


def test_a_removal_held_for_a_broken_harmonia_yaml_stays_withheld_once_it_is_fixed(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = four_releases(cluster, namespace, tmp_path)
    replace_all_releases(bench, namespace)
    (bench.root / "harmonia.yaml").write_text(REPOSITORY_FILE + "releasesDir: [not, text]\n")
    held = run_with_errors(bench)
    assert held.prune_withheld is not None and "harmonia.yaml did not load" in held.prune_withheld
    assert_old_withheld(held, cluster, namespace)
    run_with_errors(bench, same_commit=True)

    (bench.root / "harmonia.yaml").write_text(REPOSITORY_FILE)
    assert_old_withheld(bench.run(), cluster, namespace)


def test_a_pass_stopped_after_applying_the_new_releases_has_marked_the_old_ones_withheld(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = four_releases(cluster, namespace, tmp_path)
    replace_all_releases(bench, namespace)
    asked: list[None] = []

    def stopping_after_the_writes() -> bool:
        """False while the five new releases start, true when the pass would remove."""
        asked.append(None)
        return len(asked) > len(NEW)

    stopped = bench.run(stopping=stopping_after_the_writes)
    assert stopped.notes == ("stopped before removals",)
    assert all(stopped.releases[f"{namespace}/{name}"].outcome is Outcome.APPLIED for name in NEW)  # type: ignore[index]

    # Now 9 records name this source: 4 of 9 lost is under half, yet they stay withheld.
    assert_old_withheld(bench.run(same_commit=True), cluster, namespace)


def test_apply_of_one_release_removes_no_other_release_whose_file_left_git(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    for name in ("app", "other", "third"):
        bench.release(namespace, name, chartPath=bench.chart(name, [config_map(name)]))
    repo, source = str(bench.root), ("--source-id", bench.source)
    assert harmonia(cluster, "apply", repo, *source).returncode == 0
    bench.remove_release(namespace, "other")

    alone = harmonia(cluster, "apply", repo, "-r", f"{namespace}/app", *source)
    assert alone.returncode == 0, alone.stderr
    assert exists(cluster, "-n", namespace, "cm", "other"), alone.stderr


def test_confirm_removal_in_another_repository_confirms_nothing_here(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    owner = Workbench(cluster, tmp_path / "a", tmp_path / "cache")
    for name in ("one", "two"):
        owner.release(namespace, name, chartPath=owner.chart(name, [config_map(name)]))
    owner.run()
    other = Workbench(cluster, tmp_path / "b", tmp_path / "cache")
    other.release(namespace, "mine", chartPath=other.chart("mine", [config_map("mine")]))
    (other.root / "harmonia.yaml").write_text(
        REPOSITORY_FILE + f'confirmRemoval: ["{namespace}/one", "{namespace}/two"]\n'
    )
    other.run()
    owner.remove_release(namespace, "one")
    owner.remove_release(namespace, "two")
    report = owner.run()
    assert {report.releases[f"{namespace}/{n}"].outcome for n in ("one", "two")} == {  # type: ignore[index]
        Outcome.REMOVAL_WITHHELD
    }
    assert exists(cluster, "-n", namespace, "cm", "one")
    assert exists(cluster, "-n", namespace, "cm", "mine")


def test_a_pass_without_pruning_does_not_let_a_later_pass_remove_what_the_share_withholds(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = four_releases(cluster, namespace, tmp_path)
    replace_all_releases(bench, namespace)
    kept = bench.run(prune=False)  # `harmonia apply --no-prune`: the new five are recorded
    assert {kept.releases[f"{namespace}/{n}"].outcome for n in OLD} == {Outcome.UNCHANGED}  # type: ignore[index]
    assert_old_withheld(bench.run(same_commit=True), cluster, namespace)
