"""The benchmark at N = 5000: a dev cluster with room for its pods, no peer work it skips."""

from __future__ import annotations

from pathlib import Path

from bench.cluster import PODS_PER_EXTRA_NODE, extra_nodes
from bench.results import HARMONIA_COLD
from bench.run import PEER_SCENARIOS, Settings, SizeRun


def test_the_extra_nodes_hold_every_release_pod_twice_over_at_every_size() -> None:
    for pods in (10, 1000, 1001, 5000, 12_345):
        assert extra_nodes(pods) * PODS_PER_EXTRA_NODE >= 2 * pods


def test_n_1000_keeps_the_three_extra_nodes_it_was_measured_with() -> None:
    assert extra_nodes(1000) == 3


def test_harmonia_passes_alone_render_no_peer_objects(tmp_path: Path) -> None:
    settings = Settings(
        sizes=(10,),
        repeats=1,
        helm_sample=100,
        workdir=tmp_path,
        results_dir=tmp_path / "results",
        keep_workdir=True,
        skip=frozenset(PEER_SCENARIOS),
    )
    run = SizeRun(
        lambda: None,  # type: ignore[arg-type,return-value]
        10,
        settings,
        helm=tmp_path / "no-helm-here",
        publish=lambda: None,
    )
    assert HARMONIA_COLD in run.results
    assert not (tmp_path / "n10" / "peers").exists()
