"""The benchmark's synthetic repository: its shape, its changes, and that Harmonia accepts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.generate import (
    HUB_DEPENDENTS,
    synthetic_repository,
    with_hub_outputs_changed,
    with_settings_changed,
)
from reconciler.desired import check_repository
from reconciler.policy import Policy


def written(size: int, folder: Path) -> Path:
    for relative, text in synthetic_repository(size).files().items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


@pytest.mark.parametrize("size", [1, 10, 100, 1000, 5000])
def test_a_repository_holds_exactly_the_requested_number_of_releases(size: int) -> None:
    repository = synthetic_repository(size)
    assert len(repository.releases) == size
    assert len({release.key for release in repository.releases}) == size


def test_the_hub_has_fifty_dependents_once_there_are_enough_releases() -> None:
    for size, dependents in ((10, 9), (51, 50), (1000, HUB_DEPENDENTS)):
        repository = synthetic_repository(size)
        assert len(repository.dependents_of(repository.hub.key)) == dependents


def test_releases_spread_over_a_few_namespaces() -> None:
    assert synthetic_repository(1000).namespaces == ("bench-0", "bench-1", "bench-2", "bench-3")


@pytest.mark.parametrize(("size", "levels"), [(10, 2), (100, 3)])
def test_harmonia_validates_the_repository_and_orders_its_chains(
    tmp_path: Path, size: int, levels: int
) -> None:
    loaded, graph, _policy, diagnostics = check_repository(
        written(size, tmp_path), policy=Policy(allowed_namespaces=("*",))
    )
    assert [d.render() for d in diagnostics] == []
    assert len(loaded.releases) == size
    assert len(graph.levels) == levels


def test_peers_receive_the_hub_outputs_harmonia_hands_to_its_dependents() -> None:
    repository = synthetic_repository(10)
    dependent = repository.dependents_of(repository.hub.key)[0]
    values = repository.peer_values(dependent)
    assert values["dependencies"] == {"hub": dict(repository.hub.outputs)}
    assert values["publishOutputs"] is False


def test_changing_one_release_leaves_every_other_file_alone() -> None:
    before = synthetic_repository(20)
    target = before.releases[-1].key
    after = with_settings_changed(before, target, "2")
    changed = {path for path, text in after.files().items() if before.files()[path] != text}
    assert changed == {before.releases[-1].file}


def test_new_hub_outputs_change_only_the_hub_file_and_reach_every_dependent() -> None:
    before = synthetic_repository(60)
    after = with_hub_outputs_changed(before, 2)
    changed = {path for path, text in after.files().items() if before.files()[path] != text}
    assert changed == {before.hub.file}
    dependent = after.dependents_of(after.hub.key)[-1]
    assert after.peer_values(dependent)["dependencies"] == {"hub": dict(after.hub.outputs)}
    assert before.peer_values(dependent) != after.peer_values(dependent)
