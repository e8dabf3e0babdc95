"""Release state changes from the cluster's watches, onto an event bus, with no pass: what
keeps `harmonia ui`'s pages live on a laptop, where no reconcile loop publishes.

The reflectors of `kube/watch.py` follow the inventory records and what they name (the
scopes `harmonia run`'s reactor watches); any change in a namespace asks for a look at its
releases after `QUIET_SECONDS` (a rollout is many changes). Each release whose health
moved is published in the event vocabulary (`health_notices`), as the reactor says it, and
so is what an apply elsewhere (`harmonia apply`) wrote in its record. Read-only: no
Kubernetes Event, no status file, no pass; `live_changes.py` classifies changes for passes,
which this never runs, so every change here only asks for a fresh look.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from reconciler.apply.inventory import InventoryRecord
from reconciler.apply.live_index import scopes_to_watch
from reconciler.apply.records import INVENTORY_SCOPE, inventory_records
from reconciler.kube.client import KubeClient
from reconciler.kube.errors import KubeError
from reconciler.kube.watch import Change, Watches
from reconciler.loop.event_bus import EventBus
from reconciler.loop.events import Notice, health_notices
from reconciler.loop.health_moves import HealthMemory
from reconciler.loop.pass_queue import QUIET_SECONDS
from reconciler.outcome import Outcome
from reconciler.status.live import ReleaseStatus, read_statuses
from reconciler.types import ReleaseKey, split_release_key

log = logging.getLogger(__name__)

SYNC_SECONDS = 30.0
"""Longest `start` waits for the records' first list before it goes on without it."""
IDLE_SECONDS = 1.0
"""Longest the worker sleeps with nothing due: how soon it notices a stop."""


class ReadinessFeed:
    """Publishes to `events` each move of a release's state that the watches show."""

    def __init__(self, client: KubeClient, events: EventBus, *, source: str | None) -> None:
        """`client`: a connection of the feed's own (the reflectors hold theirs open);
        `source`: follow only the releases recorded under it (None: every release)."""
        self._client = client
        self._events = events
        self._source = source
        self.watches = Watches(client, on_change=self._on_change)
        self._memory = HealthMemory()
        self._records: dict[ReleaseKey, InventoryRecord] = {}
        self._lock = threading.Lock()
        self._unchecked: set[str] = set()
        self._records_moved = False
        self._due = float("inf")
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._work, name="readiness-feed", daemon=True)

    def start(self) -> None:
        """Watch the records, then what they name; the states seen now are the baseline
        (no event), so that only what moves from here on is said."""
        self._follow_records()  # listed first: an unreachable cluster raises here, at once
        deadline = time.monotonic() + SYNC_SECONDS
        while not self.watches.synced(INVENTORY_SCOPE) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._publish(self._statuses(namespaces=None), baseline=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=30)
        self.watches.stop()

    # -- the watches' threads ---------------------------------------------------

    def _on_change(self, change: Change) -> None:
        metadata: Any = change.object.get("metadata") or {}
        namespace = metadata.get("namespace") or change.scope.namespace
        if not isinstance(namespace, str) or not namespace:
            return
        with self._lock:
            self._unchecked.add(namespace)
            self._records_moved |= change.scope == INVENTORY_SCOPE
            self._due = min(self._due, time.monotonic() + QUIET_SECONDS)
        self._wake.set()

    # -- the worker -------------------------------------------------------------

    def _work(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(max(min(IDLE_SECONDS, self._due - time.monotonic()), 0.0))
            self._wake.clear()
            if self._due > time.monotonic() or self._stopping.is_set():
                continue
            with self._lock:
                namespaces, self._unchecked = self._unchecked, set()
                records_moved, self._records_moved = self._records_moved, False
                self._due = float("inf")
            try:
                if records_moved:
                    self._follow_records()
                self._publish(self._statuses(namespaces=sorted(namespaces)))
            except KubeError as error:
                log.warning("release states not read: %s", error)
            except Exception:
                log.exception("reading release states failed")

    def _follow_records(self) -> None:
        """Watch what the records (of the source) name, and the pods of their namespaces."""
        found = inventory_records(self._client, watched=self.watches)
        records = [
            record
            for record in found.values()
            if isinstance(record, InventoryRecord)
            and (self._source is None or record.source == self._source)
        ]
        entries = [entry.ref for record in records for entry in record.entries]
        namespaces = {split_release_key(record.release)[0] for record in records}
        self.watches.want(scopes_to_watch(entries, namespaces) | {INVENTORY_SCOPE})

    def _statuses(self, *, namespaces: Iterable[str] | None) -> list[ReleaseStatus]:
        """The statuses of the releases in `namespaces` (None: all), from the reflectors."""
        read = [None] if namespaces is None else list(namespaces)
        return [
            status
            for namespace in read
            for status in read_statuses(
                self._client, namespace=namespace, source=self._source, watched=self.watches
            )[0]
        ]

    def _publish(self, statuses: list[ReleaseStatus], *, baseline: bool = False) -> None:
        """What each record's last apply came to, if new, then each move of health, on the
        bus (which masks the reasons); a release first seen after the start (applied
        meanwhile) is news too. The `baseline` look says nothing."""
        for status in statuses:
            before = self._records.get(status.key)
            self._records[status.key] = status.record
            if not baseline:
                notices = record_notices(before, status.record)
                self._events.publish(status.key, notices, revision=status.record.revision)
        moves = self._memory.moves(statuses, first_sight=not baseline)
        for move in [] if baseline else moves:
            status = move.status
            notices = health_notices(move.before, status.health.state, status.health.message)
            self._events.publish(status.key, notices, revision=status.record.revision)


def record_notices(before: InventoryRecord | None, record: InventoryRecord) -> list[Notice]:
    """What an apply by someone else (`harmonia apply`, another reconciler) came to, as
    its record now says: Applied or Failed with why, when its revision or result moved;
    nothing while it writes, or for a record first seen."""
    if before is None or (before.revision, before.result) == (record.revision, record.result):
        return []
    word, _, why = record.result.partition(": ")
    if word == Outcome.FAILED:
        return [Notice("Warning", str(Outcome.FAILED), why or record.result)]
    if word == Outcome.APPLIED:
        return [Notice("Normal", str(Outcome.APPLIED), f"revision {record.revision} applied")]
    return []  # Applying: its end is the news
