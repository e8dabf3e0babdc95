"""Reading releases' health from the cluster, and waiting for them to become Ready.

After apply, before dependents: the objects each inventory names are read from a
`LiveIndex` (listed per kind and namespace, with each namespace's pods, ReplicaSets
and Jobs), and the pure health rules (`reconciler.health`) decide. The `Waiter` checks
every release being waited for together, round after round, each round on a fresh
index, so a round costs requests per kind and namespace, not per release; a release
leaves as soon as it is Ready, Paused or Failed, or its own timeout has passed, and
releases join while others wait (one slow release holds back only its dependents).
Where the pass has no reflectors of its own (`harmonia apply`), the waiter starts watches
of the scopes the waiting releases use, so a round reads them instead of listing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from reconciler.apply.inventory import InventoryEntry, InventoryRecord
from reconciler.apply.live_index import LiveIndex, scopes_to_watch
from reconciler.health import (
    HealthContext,
    Reason,
    ReleaseHealth,
    ReleaseState,
    ResourceState,
    not_found,
    release_health,
    resource_health,
)
from reconciler.health.removed_jobs import completed_job_removed, job_completed, removed_job_health
from reconciler.kube.watch import Watches, WatchScope
from reconciler.objects import ObjectRef, stub_object
from reconciler.types import ReleaseKey, split_release_key

FIRST_POLL = 0.1
"""Seconds before the second round; each later wait doubles, up to the waiter's interval."""
POLL_INTERVAL = 1.0
"""The longest wait between rounds that list, and between re-listings of pods for the
first checks: each costs the API server a list per kind and namespace."""
WATCHED_POLL_INTERVAL = 0.25
"""The longest wait between rounds that read watches: they cost no request, and a
dependent starts as soon as a round finds its dependency Ready."""
ROUND_COST_PAUSE = 2.0
"""A round (or a re-listing of pods) that took t seconds is followed by at least this
many times t before the next: the rounds run on the pass's main thread, which also
hands out the writes, and a round lists every scope the waiting releases use, so its
cost grows with the pass. At N = 5000 rounds back to back starved the writes."""
MAX_FOLLOWED_SCOPES = 128
"""Watches a pass starts at most for its rounds (each one thread and one connection held
open); the scopes beyond are listed each round, as without watches."""

WORKLOAD_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
)
"""Kinds whose health reads the pods, ReplicaSets or Jobs they own."""
READY_BY_STATUS = frozenset({"Deployment", "ReplicaSet"})
"""Workloads whose Ready verdict comes from their status alone: their pods only explain
a workload that is not Ready."""


def current_health(
    live: LiveIndex,
    record: InventoryRecord,
    *,
    paused: bool = False,
    since_change: timedelta = timedelta(0),
    timeout: timedelta = timedelta(minutes=5),
    was_ready: bool = False,
    pods: bool = True,
) -> ReleaseHealth:
    """The release's health as `live` sees the objects its inventory names.

    With `pods=False` a release whose workloads are Ready by their own status is judged
    without listing pods (they would only be shown, not change the verdict); a release
    that is not Ready is judged again with them, for the reason.
    """
    namespace, _name = split_release_key(record.release)
    live.load(stub_object(entry.ref) for entry in record.entries)
    found = [(entry, live.get(entry.ref)) for entry in record.entries]
    present = [obj for _ref, obj in found if obj is not None]
    kinds = {obj.get("kind") for obj in present}

    def judged(context: HealthContext) -> ReleaseHealth:
        states = [
            resource_health(obj, context=context) if obj is not None else _absent(live, entry)
            for entry, obj in found
        ]
        return release_health(
            states, paused=paused, since_change=since_change, timeout=timeout, was_ready=was_ready
        )

    plain = HealthContext(paused=paused, waited=since_change, timeout=timeout)
    if not kinds & WORKLOAD_KINDS:
        return judged(plain)
    if not pods and not paused and kinds & WORKLOAD_KINDS <= READY_BY_STATUS:
        health = judged(plain)
        if health.state is ReleaseState.READY:
            return health
    owned = live.owned(namespace)
    context = owned.context_for(present, paused=paused, waited=since_change, timeout=timeout)
    health = judged(context)
    if any(state.reason == Reason.POD_NOT_CREATED for state in health.resources):
        failures = live.creation_failures(namespace)
        if failures:
            return judged(dataclasses.replace(context, creation_failures=failures))
    return health


def _absent(live: LiveIndex, entry: InventoryEntry) -> ResourceState:
    """An object the record names that the cluster lacks: missing, except a Job that its
    ttlSecondsAfterFinished removed after it finished (recorded, or told by its Events)."""
    ref = entry.ref
    if ref.kind != "Job" or not ref.api_version.startswith("batch/"):
        return not_found(ref.kind, ref.namespace, ref.name)
    if entry.completed:
        return completed_job_removed(ref.namespace, ref.name)
    return removed_job_health(ref.namespace, ref.name, live.events_about(ref))


def with_completed_jobs(record: InventoryRecord, health: ReleaseHealth) -> InventoryRecord:
    """`record` noting the Jobs `health` found complete, so that their TTL's removal is not
    taken for a missing object later; `record` itself when there is nothing new to note."""
    done = {(s.namespace, s.name) for s in health.resources if job_completed(s)}
    entries = tuple(
        dataclasses.replace(entry, completed=True)
        if entry.ref.kind == "Job" and (entry.ref.namespace, entry.ref.name) in done
        else entry
        for entry in record.entries
    )
    return record if entries == record.entries else dataclasses.replace(record, entries=entries)


@dataclass(frozen=True)
class Awaited:
    """A release just applied, to wait for."""

    record: InventoryRecord
    timeout: timedelta
    paused: bool
    changed_at: float
    """When its apply finished (`time.monotonic()`): its timeout counts from there."""


class Waiter:
    """The releases a pass is waiting for, checked together in rounds while it goes on.

    A release joins when its writes are done and leaves with its health once it is no
    longer Progressing. Its first check is at once, on `first` (the pass's own index,
    current as of the writes, so it costs no request; its pods, ReplicaSets and Jobs
    listed again at most once a round interval). Later checks go in rounds on a fresh
    index shared by every release still waiting, 0.1 s after the first release
    joined, doubling to 1 s (0.25 s when the rounds read watches); a release joining
    later does not hurry the rounds, so they cost requests per kind, namespace and
    second, however many releases join.
    A round that takes long (thousands of objects to list and decode) pushes the next
    one out (`next_round`), so rounds keep at most a third of the main thread's time
    (and the first checks' re-listing of pods another third at most; a namespace the
    pass's readiness watches follow is read from them instead, `LiveIndex(children=)`).
    With `follow` (watches of the pass's own, read by the rounds only: they keep only
    what health reads), each release not settled at its first check adds the scopes of
    its objects, pods, ReplicaSets and Jobs to them: a round then reads what the
    watches keep current and lists only the scopes not (yet) synced. Objects Ready at
    their release's first check are taken as they were then (`unready_scopes`), so the
    rounds follow the workloads being rolled out, not every ConfigMap, Secret and
    Service of the pass (at N = 5000 the watches of those held 20 000 objects the rounds
    did not need).
    Listing every scope each round made the API server serialise the whole benchmark
    (25 000 objects at N = 5000) every second; a watch sends each change once.
    The caller passes the time in, and sleeps itself until `due_in()`.
    """

    def __init__(
        self, first: LiveIndex, *, follow: Watches | None = None, watched: bool = False
    ) -> None:
        """`watched`: `first` reads a long-running reconciler's reflectors; with them or
        `follow`, rounds come every WATCHED_POLL_INTERVAL at most, else POLL_INTERVAL."""
        self._first = first
        self._follow = follow
        self._wanted: set[tuple[str, str, str]] = set()
        """(apiVersion, kind, namespace) of the objects not Ready at a first check."""
        self._interval = WATCHED_POLL_INTERVAL if watched or follow is not None else POLL_INTERVAL
        self._new: dict[ReleaseKey, Awaited] = {}
        self._waiting: dict[ReleaseKey, Awaited] = {}
        self._due = 0.0
        self._delay = FIRST_POLL
        self._children_due = float("-inf")

    def __bool__(self) -> bool:
        return bool(self._new or self._waiting)

    def add(self, key: ReleaseKey, awaited: Awaited) -> None:
        """Wait for `key` too: its first check is at the next `poll`."""
        self._new[key] = awaited

    def due_in(self, now: float) -> float | None:
        """Seconds until `poll` has work (0 when it has), None when nothing waits."""
        if self._new:
            return 0.0
        return max(self._due - now, 0.0) if self._waiting else None

    def poll(self, now: float) -> dict[ReleaseKey, ReleaseHealth]:
        """The checks due by `now`: the releases that settled, with their health."""
        settled: dict[ReleaseKey, ReleaseHealth] = {}
        if self._waiting and now >= self._due:
            started = time.monotonic()
            index = self._first.fresh(carry=self._carried, watched=self._follow)
            settled = _settled(index, self._waiting, now)
            self._waiting = {k: v for k, v in self._waiting.items() if k not in settled}
            self._due = next_round(now, time.monotonic() - started, self._delay)
            self._delay = min(self._delay * 2, self._interval)
        if self._new:
            relist = now >= self._children_due
            if relist:
                self._first.forget_children()
            started = time.monotonic()
            checked = _checked(self._first, self._new, now)
            if relist:
                self._children_due = next_round(now, time.monotonic() - started, POLL_INTERVAL)
            if not self._waiting:
                self._due, self._delay = now + FIRST_POLL, FIRST_POLL * 2
            first = {k: h for k, h in checked.items() if h.state is not ReleaseState.PROGRESSING}
            joining = {k: v for k, v in self._new.items() if k not in first}
            wanted = frozenset().union(*(unready_scopes(joining[k], checked[k]) for k in joining))
            self._wanted |= {_scope_key(scope) for scope in wanted}
            if self._follow is not None and wanted:
                _follow_scopes(self._follow, wanted)
            self._waiting |= joining
            self._new = {}
            settled |= first
        return settled

    def _carried(self, ref: ObjectRef) -> bool:
        """Whether a round takes `ref`'s object from the first checks: no release waiting
        has an object of its kind and namespace that was not Ready there."""
        return (ref.api_version, ref.kind, ref.namespace) not in self._wanted


def unready_scopes(awaited: Awaited, health: ReleaseHealth) -> frozenset[WatchScope]:
    """What the rounds must read again for a release `health` found not yet Ready: the
    kinds and namespaces of its objects that were not Ready, and its namespace's pods,
    ReplicaSets and Jobs when one of those is a workload. An object Ready at its first
    check (a ConfigMap, a Service with its address) is taken as it was then: reading it
    again each round made rounds list or watch every kind of the release."""
    unready = {(s.kind, s.namespace, s.name) for s in health.resources if not s.ready}
    refs = [
        entry.ref
        for entry in awaited.record.entries
        if (entry.ref.kind, entry.ref.namespace, entry.ref.name) in unready
    ]
    workloads = {ref.namespace for ref in refs if ref.kind in WORKLOAD_KINDS}
    return scopes_to_watch(refs, workloads)


def _scope_key(scope: WatchScope) -> tuple[str, str, str]:
    return (scope.api_version, scope.kind, scope.namespace)


def _follow_scopes(watches: Watches, wanted: frozenset[WatchScope]) -> None:
    """Watch `wanted` too, up to MAX_FOLLOWED_SCOPES in all."""
    watched = watches.scopes
    room = MAX_FOLLOWED_SCOPES - len(watched)
    new = sorted(wanted - watched, key=str)[: max(room, 0)]
    if new:
        watches.want(watched | set(new))


def next_round(now: float, cost: float, interval: float) -> float:
    """When the next round is due after one due at `now` that took `cost` seconds:
    `interval` later, or once ROUND_COST_PAUSE times its cost has passed after it ended."""
    return now + max(interval, (1 + ROUND_COST_PAUSE) * cost)


def _checked(
    live: LiveIndex, awaited: Mapping[ReleaseKey, Awaited], now: float
) -> dict[ReleaseKey, ReleaseHealth]:
    return {
        key: current_health(
            live,
            item.record,
            paused=item.paused,
            since_change=timedelta(seconds=max(now - item.changed_at, 0.0)),
            timeout=item.timeout,
            pods=False,
        )
        for key, item in awaited.items()
    }


def _settled(
    live: LiveIndex, awaited: Mapping[ReleaseKey, Awaited], now: float
) -> dict[ReleaseKey, ReleaseHealth]:
    checked = _checked(live, awaited, now)
    return {k: h for k, h in checked.items() if h.state is not ReleaseState.PROGRESSING}
