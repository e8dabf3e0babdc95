"""What `harmonia run` does between its ticks: reflectors keep the live state current,
and the passes, readiness reports and sync answers their changes ask for happen here,
one at a time, coalesced.

The watches run on every replica, so a standby that takes the Lease starts warm: it
follows what the inventory records name as the leader's passes write them; only the
leader acts on what they see (`acting`). The periodic full pass of `service.py`
stays, as the safety net. A pass asked for here covers the releases concerned (with
what they depend on) on the last commit fetched; a full pass fetches.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from reconciler.apply.inventory import InventoryRecord, inventory_stub
from reconciler.apply.live_index import scopes_to_watch
from reconciler.apply.records import INVENTORY_SCOPE, inventory_records
from reconciler.apply.sync_request import handled_patch
from reconciler.kube.client import KubeClient
from reconciler.kube.errors import KubeError
from reconciler.kube.watch import Change, Watches
from reconciler.loop.cycle import Cycle
from reconciler.loop.events import emit_notices, health_notices
from reconciler.loop.health_moves import HealthMemory
from reconciler.loop.live_changes import LiveChanges, ReadinessCheck, Repository
from reconciler.loop.pass_queue import QUIET_SECONDS, PassQueue, PassRequest
from reconciler.status.live import read_statuses
from reconciler.types import ReleaseKey, split_release_key

log = logging.getLogger(__name__)

IDLE_SECONDS = 1.0
"""Longest the worker sleeps with nothing due: how soon it notices a stop."""


class Reactor:
    def __init__(
        self,
        cycle: Cycle,
        client: KubeClient,
        *,
        acting: Callable[[], bool],
        stopping: threading.Event,
        instance: str,
    ) -> None:
        """`client`: a connection of the reactor's own (the reflectors hold theirs open)."""
        self._cycle = cycle
        self._client = client
        self._acting = acting
        self._stopping = stopping
        self._instance = instance
        self._watches = Watches(client, on_change=self._on_change)
        self._queue = PassQueue()
        self._changes = LiveChanges(self._repository())
        self._lock = threading.Lock()
        self._unchecked: set[str] = set()
        self._checks_due = float("inf")
        self._health = HealthMemory()
        self._records_moved = threading.Event()
        """A standby's cue to watch what the records now name (set at first, to begin)."""
        self._records_moved.set()
        self._thread = threading.Thread(target=self._work, name="reactor", daemon=True)

    def start(self) -> None:
        self._cycle.watch(self._watches)
        self._watches.want({INVENTORY_SCOPE})
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)
        self._watches.stop()

    def ask(self, request: PassRequest) -> None:
        """A pass asked for from outside the watches (a push webhook: a full pass after a
        fetch), coalesced with the others; nothing while this replica does not act."""
        if self._acting():
            self._queue.add(request, now=time.monotonic())

    def pending(self) -> PassRequest | None:
        """The pass owed to changes or pushes, not begun yet."""
        return self._queue.pending()

    def after_pass(self) -> None:
        """Watch what the records now name; classify against the repository as it is."""
        self._changes.repository = self._repository()
        try:
            found = inventory_records(self._client, watched=self._watches)
        except KubeError as error:
            log.warning("watches not updated: %s", error)
            return
        every_record = [record for record in found.values() if isinstance(record, InventoryRecord)]
        self._changes.seen(every_record)
        records = [record for record in every_record if record.source == self._cycle.source_id]
        entries = [entry.ref for record in records for entry in record.entries]
        namespaces = {split_release_key(record.release)[0] for record in records}
        self._watches.want(scopes_to_watch(entries, namespaces) | {INVENTORY_SCOPE})

    # -- the watches' thread ----------------------------------------------------

    def _on_change(self, change: Change) -> None:
        if not self._acting():
            # A standby keeps its watches warm and leaves the acting to the leader.
            if change.scope == INVENTORY_SCOPE:
                self._records_moved.set()
            return
        intent = self._changes.classify(change)
        now = time.monotonic()
        if isinstance(intent, PassRequest):
            self._queue.add(intent, now=now)
        elif isinstance(intent, ReadinessCheck):
            with self._lock:
                self._unchecked.add(intent.namespace)
                self._checks_due = min(self._checks_due, now + QUIET_SECONDS)

    def _mine(self) -> Callable[[ReleaseKey], bool]:
        """Under sharding, the releases of this replica's share as the last pass saw it:
        what the others see is theirs to act on; else every release."""
        state = self._cycle.state
        owns = state.owns if state is not None else None
        return owns if owns is not None else lambda _key: True

    def _repository(self) -> Repository:
        state = self._cycle.state
        releases = state.loaded.releases if state is not None else {}
        mine = self._mine()

        def dependents(key: ReleaseKey) -> frozenset[ReleaseKey]:
            return frozenset(
                k for k, r in releases.items() if mine(k) and key in r.dependencies.values()
            )

        return Repository(
            heals=lambda key: key in releases and mine(key) and releases[key].self_heal,
            dependents=dependents,
            owns=lambda key: key in releases and mine(key),
        )

    # -- the worker -------------------------------------------------------------

    def _work(self) -> None:
        while not self._stopping.is_set():
            now = time.monotonic()
            try:
                if self._records_moved.is_set() and not self._acting():
                    self._records_moved.clear()
                    self.after_pass()
                request = self._queue.take(now)
                if request is not None:
                    self._pass(request)
                if self._checks_due <= now:
                    self._check_readiness()
                self._cycle.status.flush()
            except Exception:
                log.exception("reacting to a change failed")
            waits = [IDLE_SECONDS, self._checks_due - time.monotonic()]
            waits += [due for due in (self._queue.due_in(time.monotonic()),) if due is not None]
            status_due = self._cycle.status.due_in(time.monotonic())
            if status_due is not None:
                waits.append(status_due)
            self._queue.wait(max(min(waits), 0.0))

    def _pass(self, request: PassRequest) -> None:
        self._cycle.run_pass(stopping=self._stopping.is_set, request=request)
        for key, requested in request.syncs:
            try:
                self._client.merge_patch(inventory_stub(key), handled_patch(requested))
            except KubeError as error:
                log.warning("release %s: sync request not answered: %s", key, error)
        self.after_pass()

    def _check_readiness(self) -> None:
        """Readiness in the namespaces that changed, from the reflectors: a release whose
        state moved is said (log, Event) and its status file follows (coalesced)."""
        with self._lock:
            namespaces, self._unchecked = self._unchecked, set()
            self._checks_due = float("inf")
        mine = self._mine()
        statuses = [
            status
            for namespace in sorted(namespaces)
            for status in read_statuses(
                self._client,
                namespace=namespace,
                source=self._cycle.source_id,
                watched=self._watches,
            )[0]
            if mine(status.key)
        ]
        moves = self._health.moves(statuses)
        for move in moves:
            status, state = move.status, move.status.health.state
            # A pod's message may quote what a Secret holds: masked as the API masks it.
            message = self._cycle.catalog.masked(status.key, status.health.message)
            log.info(
                "release %s is %s: %s",
                status.key,
                state,
                message,
                extra={"release": status.key, "state": str(state)},
            )
            notices = health_notices(move.before, state, message)
            emit_notices(self._client, status.key, notices, instance=self._instance)
            self._cycle.events.publish(status.key, notices, revision=status.record.revision)
        if moves:
            self._cycle.status.readiness_changed()
