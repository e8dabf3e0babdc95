"""The shard set's pure parts: who is live, the Lease names, what the API says of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from reconciler.loop.lease import LeaseSettings, format_micro_time, lease_body
from reconciler.loop.loop_journal import LoopJournal, reconciler_body
from reconciler.loop.openapi import OPENAPI
from reconciler.loop.shard_set import (
    SHARD_SET_LABEL,
    ShardView,
    live_holders,
    shard_lease_name,
)
from reconciler.types import JsonObject, ReleaseKey

NOW = datetime(2026, 12, 7, 3, 0, 0, tzinfo=UTC)


SET = "harmonia-leader"
DURATION = timedelta(seconds=15)


def lease(holder: str, renewed: datetime, seconds: int = 15, *, name: str = "") -> JsonObject:
    return {
        "metadata": {"name": name or shard_lease_name(SET, holder)},
        "spec": {
            "holderIdentity": holder,
            "renewTime": format_micro_time(renewed),
            "leaseDurationSeconds": seconds,
        },
    }


def test_a_holder_is_live_until_its_renewal_plus_its_duration() -> None:
    leases = [
        lease("fresh", NOW - timedelta(seconds=5)),
        lease("expired", NOW - timedelta(seconds=16)),
        lease("just-expired", NOW - timedelta(seconds=15)),
    ]
    assert live_holders(leases, NOW, set_name=SET, duration=DURATION) == {"fresh"}


def test_a_released_or_unreadable_lease_names_no_live_holder() -> None:
    released = lease("", NOW)
    unreadable: JsonObject = {"spec": {"holderIdentity": "x", "renewTime": "yesterday"}}
    assert live_holders([released, unreadable, {}], NOW, set_name=SET, duration=DURATION) == set()


def test_a_claim_far_in_the_future_counts_for_nobody_so_a_fake_holder_takes_no_releases() -> None:
    leases = [
        lease("skewed", NOW + timedelta(seconds=10)),
        lease("rolled-out-with-60s", NOW, seconds=60),
        lease("future", NOW + timedelta(days=365 * 80)),
        lease("for-ever", NOW, seconds=2**31 - 1),
    ]
    live = live_holders(leases, NOW, set_name=SET, duration=DURATION)
    assert live == {"skewed", "rolled-out-with-60s"}


def test_a_holder_written_into_another_replicas_lease_or_another_sets_lease_is_not_live() -> None:
    leases = [
        lease("ghost", NOW, name=shard_lease_name(SET, "replica-a")),
        lease("other", NOW, name=shard_lease_name("other-set", "other")),
        lease("replica-b", NOW),
    ]
    assert live_holders(leases, NOW, set_name=SET, duration=DURATION) == {"replica-b"}


@pytest.mark.parametrize("identity", ["harmonia-7d9f_ab12cd34", "Pod Name/With:odd chars"])
def test_a_replicas_lease_name_is_the_sets_and_a_short_hash_of_its_identity(
    identity: str,
) -> None:
    name = shard_lease_name("harmonia-leader", identity)
    assert name.startswith("harmonia-leader-")
    assert len(name) == len("harmonia-leader-") + 10
    assert name == shard_lease_name("harmonia-leader", identity)
    assert name != shard_lease_name("harmonia-leader", identity + "x")
    assert name.replace("-", "").isalnum() and name == name.lower()


def test_a_shard_lease_carries_the_sets_label_and_the_leaders_none() -> None:
    shard = LeaseSettings("ops", "set-abc", "me", labels={SHARD_SET_LABEL: "set"})
    leader = LeaseSettings("ops", "harmonia-leader", "me")
    assert lease_body(shard, None, NOW)["metadata"]["labels"] == {SHARD_SET_LABEL: "set"}  # type: ignore[index]
    assert "labels" not in lease_body(leader, None, NOW)["metadata"]  # type: ignore[operator]


def test_a_view_owns_what_rendezvous_hashing_gives_its_identity() -> None:
    keys = [ReleaseKey(f"shop/r{index}") for index in range(60)]
    views = [ShardView(name, frozenset({"a", "b", "c"})) for name in ("a", "b", "c")]
    for key in keys:
        assert sum(view.owns(key) for view in views) == 1
    assert not ShardView("d", frozenset({"a", "b", "c"})).owns(keys[0])


def test_the_reconciler_body_tells_the_shard_set_only_under_sharding() -> None:
    journal = LoopJournal()
    shards: JsonObject = {
        "set": "harmonia-leader",
        "namespace": "ops",
        "lease": "harmonia-leader-0123456789",
        "holding": True,
        "holders": ["a", "b"],
        "share": {"releases": 3, "of": 7},
    }
    plain = reconciler_body(
        journal.view(), instance="a", leading=True, lease=None, next_pass=(None, "none")
    )
    sharded = reconciler_body(
        journal.view(),
        instance="a",
        leading=True,
        lease=None,
        next_pass=(None, "none"),
        shards=shards,
    )
    assert "shards" not in plain
    assert sharded["shards"] == shards
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": OPENAPI["components"],
        "$ref": "#/components/schemas/Reconciler",
    }
    for body in (plain, sharded):
        jsonschema.validate(body, schema)
