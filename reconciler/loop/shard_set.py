"""The shard set of `harmonia run --shards`: each replica holds a Lease of its own, and the
live holders of the set's Leases share the releases out (shard_assignment.py).

A replica's Lease is named `<leaseName>-<hash of its identity>` and labelled
`harmonia.dev/shard-set: <leaseName>`; it is acquired, renewed and released by the same
`LeaderElector` that elects the single leader, so a replica that stops gives its Lease up
and one that dies lets it expire. Each pass lists the set and asks who is live.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from reconciler.kube.client import KubeClient
from reconciler.loop.lease import (
    LEASE_API_VERSION,
    LeaderElector,
    LeaseSettings,
    claim_ends,
    holder_of,
)
from reconciler.loop.shard_assignment import owner_of
from reconciler.types import JsonObject, JsonValue, ReleaseKey

SHARD_SET_LABEL = "harmonia.dev/shard-set"
LONGEST_CLAIM = 10
"""How many of this replica's lease durations ahead another's claim may end and count."""


def shard_lease_name(set_name: str, identity: str) -> str:
    """The Lease of one replica of the set: a DNS-1123 name whatever the identity holds."""
    return f"{set_name}-{hashlib.sha256(identity.encode()).hexdigest()[:10]}"


def live_holders(
    leases: Iterable[JsonObject], now: datetime, *, set_name: str, duration: timedelta
) -> frozenset[str]:
    """The identities holding a Lease of the set whose claim runs past `now` (a released
    Lease names nobody; a dead replica's claim has run out).

    Only a claim a replica of the set could have written counts, so that a Lease edited
    by hand cannot hold releases that nobody applies: the Lease is the holder's own
    (named `shard_lease_name(set_name, holder)`, so a holder written into another
    replica's Lease is nobody), and its claim ends at most LONGEST_CLAIM lease
    `duration`s from now (room for clocks that disagree and for replicas rolled out with
    a longer duration; a renewTime far in the future or a huge leaseDurationSeconds is
    no claim, and a fake holder is live at most that long)."""
    live = set()
    for lease in leases:
        holder, ends = holder_of(lease), claim_ends(lease)
        if not holder or ends is None or not now < ends <= now + LONGEST_CLAIM * duration:
            continue
        metadata = lease.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if name == shard_lease_name(set_name, holder):
            live.add(holder)
    return frozenset(live)


@dataclass(frozen=True)
class ShardView:
    """The shard set as one pass sees it: who is live, and which replica this is."""

    identity: str
    holders: frozenset[str]

    def owns(self, key: ReleaseKey) -> bool:
        return owner_of(key, self.holders) == self.identity


class ShardSet:
    """This replica's place in the set: its own Lease, and the set as listed now."""

    def __init__(
        self, client: KubeClient, settings: LeaseSettings, *, on_lost: Callable[[], None]
    ) -> None:
        """`settings`: the set's (its name is the set's); `on_lost`: this replica's Lease
        could not be renewed (it must stop applying: the others take its releases)."""
        self.name = settings.name
        self.namespace = settings.namespace
        self.identity = settings.identity
        self._client = client
        self._own = dataclasses.replace(
            settings,
            name=shard_lease_name(settings.name, settings.identity),
            labels={SHARD_SET_LABEL: settings.name},
        )
        self._elector = LeaderElector(client, self._own, on_lost=on_lost)

    @property
    def lease_name(self) -> str:
        return self._own.name

    @property
    def holding(self) -> bool:
        return self._elector.is_leader

    def join(self, stop: threading.Event) -> bool:
        """Take this replica's Lease (retrying until `stop`): False if stopped first."""
        return self._elector.acquire(stop)

    def leave(self) -> None:
        """Give the Lease up: the others take this replica's releases on their next pass."""
        if self._elector.is_leader:
            self._elector.release()

    def view(self, now: datetime) -> ShardView:
        """The live holders as listed now; raises KubeError when the Leases cannot be read."""
        leases = self._client.list(
            LEASE_API_VERSION,
            "Lease",
            namespace=self.namespace,
            label_selector=f"{SHARD_SET_LABEL}={self.name}",
        )
        holders = live_holders(leases, now, set_name=self.name, duration=self._own.duration)
        return ShardView(self.identity, holders)


def shards_json(
    shards: ShardSet, view: ShardView | None, keys: Collection[ReleaseKey]
) -> JsonObject:
    """What `GET /api/v1/reconciler` says of the set: its live holders as the last pass
    saw them, and this replica's share of `keys` (the last full pass's releases)."""
    owned = 0 if view is None else sum(1 for key in keys if view.owns(key))
    holders: list[JsonValue] = [] if view is None else [str(h) for h in sorted(view.holders)]
    return {
        "set": shards.name,
        "namespace": shards.namespace,
        "lease": shards.lease_name,
        "holding": shards.holding,
        "holders": holders,
        "share": {"releases": owned, "of": len(keys)},
    }
