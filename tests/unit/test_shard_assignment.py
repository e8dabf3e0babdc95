"""Rendezvous hashing of releases over the live shard holders."""

from __future__ import annotations

import pytest

from reconciler.loop.shard_assignment import assignment, moved, owner_of
from reconciler.types import ReleaseKey

KEYS = [ReleaseKey(f"ns{i % 17}/release-{i}") for i in range(3000)]
THREE = ["harmonia-0_aaaa", "harmonia-1_bbbb", "harmonia-2_cccc"]


def test_the_owner_is_the_same_whatever_the_order_of_the_holders() -> None:
    for key in KEYS[:200]:
        assert owner_of(key, THREE) == owner_of(key, list(reversed(THREE)))


def test_the_owner_is_fixed_by_its_inputs_alone() -> None:
    assert owner_of(ReleaseKey("shop/web"), THREE) == owner_of(ReleaseKey("shop/web"), THREE)
    assert assignment(KEYS, THREE) == assignment(KEYS, THREE)


def test_nobody_owns_a_release_without_holders() -> None:
    assert owner_of(ReleaseKey("shop/web"), []) is None
    with pytest.raises(ValueError, match="no live shard holder"):
        assignment(KEYS, [])


def test_the_releases_are_shared_out_evenly() -> None:
    owners = assignment(KEYS, THREE)
    counts = [sum(1 for owner in owners.values() if owner == h) for h in THREE]
    assert all(abs(count - 1000) < 100 for count in counts), counts


def test_a_fourth_holder_takes_about_a_quarter_and_only_from_the_others() -> None:
    before = assignment(KEYS, THREE)
    after = assignment(KEYS, [*THREE, "harmonia-3_dddd"])
    changed = moved(before, after)
    assert all(after[key] == "harmonia-3_dddd" for key in changed)
    assert 0.2 < len(changed) / len(KEYS) < 0.3


def test_a_leaving_holder_hands_over_only_its_own_releases() -> None:
    before = assignment(KEYS, THREE)
    after = assignment(KEYS, THREE[:2])
    changed = moved(before, after)
    assert changed == {key for key, owner in before.items() if owner == THREE[2]}
