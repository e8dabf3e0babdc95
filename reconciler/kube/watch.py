"""Objects of one kind and namespace kept current by a watch: what client-go calls a
reflector.

It lists, then watches from the list's resourceVersion with bookmarks (so a quiet kind
still moves its resourceVersion forward), lists again when the API server says that
version is gone (410 Expired), and reconnects with backoff when the connection drops
or the API server stops answering. Objects are kept without `metadata.managedFields`,
as the pass's index keeps them. What to do with a change is the caller's (`on_change`),
called on the reflector's own thread.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reconciler.kube.client import KubeClient, Listing, WatchEvent
from reconciler.kube.errors import ClusterUnreachable, Expired, KubeError
from reconciler.objects import Identity, ref_of
from reconciler.types import JsonObject

log = logging.getLogger(__name__)

WATCH_SECONDS = (240, 360)
"""How long one watch request lasts, drawn at random in this range so that many
reflectors do not all reconnect at once (the API server ends each one)."""
RETRY_BASE_SECONDS = 0.5
RETRY_CAP_SECONDS = 30.0


@dataclass(frozen=True)
class WatchScope:
    """What one reflector follows: one kind in one namespace ("" for every namespace,
    or a cluster-scoped kind), optionally by label."""

    api_version: str
    kind: str
    namespace: str = ""
    label_selector: str = ""

    def __str__(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        selected = f" ({self.label_selector})" if self.label_selector else ""
        return f"{self.kind} ({self.api_version}){where}{selected}"


@dataclass(frozen=True)
class Change:
    """One object added, modified or deleted (its last state), as the watch saw it; after
    a list that follows an expired watch, `relisted` marks the objects that changed while
    nobody watched (the first list is the start, and reports nothing)."""

    scope: WatchScope
    type: str
    """ADDED, MODIFIED or DELETED."""
    object: JsonObject
    relisted: bool = False
    writers: frozenset[str] = frozenset()
    """The field managers of the object's latest write (from its managedFields, which the
    kept object drops): who changed it this time, as far as the API server says."""


def retry_delay(failures: int, *, jitter: float) -> float:
    """Seconds to wait before reconnecting after `failures` failures in a row (1 or more):
    doubling from RETRY_BASE_SECONDS up to RETRY_CAP_SECONDS, stretched by `jitter` (0 to 1)
    up to a half more, so that reflectors do not reconnect in step."""
    delay = min(RETRY_BASE_SECONDS * 2 ** (failures - 1), RETRY_CAP_SECONDS)
    return delay * (1 + jitter / 2)


class Reflector:
    """Keeps `objects()` equal to the cluster's objects of one scope, from its own thread."""

    def __init__(
        self,
        client: KubeClient,
        scope: WatchScope,
        *,
        on_change: Callable[[Change], None] = lambda _change: None,
        resume: Listing | None = None,
        keep: Callable[[JsonObject], JsonObject] | None = None,
    ) -> None:
        """`resume`: start from these objects at their resourceVersion (what an earlier
        reflector of the scope held), watching from there; None to list first. `keep`:
        what of each object to keep (by default, all but its managedFields)."""
        self.client = client
        self.scope = scope
        self._on_change = on_change
        self._keep = keep or _without_managed_fields
        self._objects: dict[Identity, JsonObject] = {}
        self._lock = threading.Lock()
        self._synced = threading.Event()
        self.resource_version = ""
        if resume is not None:
            self._objects = {ref_of(obj).identity: obj for obj in resume.items}
            self.resource_version = resume.resource_version
            self._synced.set()
        self._stopping = threading.Event()
        self._close_watch: Callable[[], None] = lambda: None
        self._thread = threading.Thread(target=self._run, name=f"watch {scope}", daemon=True)
        self.lists = 0
        """Lists sent so far: one at the start, then one per expired watch."""
        self.problem: str | None = None
        """Why the last attempt failed, until one succeeds again."""

    # -- what callers read ----------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """End the watch and the thread (promptly: the open request is shut down)."""
        self._stopping.set()
        self._close_watch()
        self._thread.join(timeout=10)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def synced(self) -> bool:
        """Whether the objects reflect a list or watch of the cluster."""
        return self._synced.is_set()

    def wait_synced(self, timeout: float) -> bool:
        return self._synced.wait(timeout)

    @property
    def current(self) -> bool:
        """Synced, and its last attempt did not fail: what it holds may be trusted now. A
        reflector retrying a failed watch holds what it last saw; a pass then lists, so a
        failed read stops the pass instead of feeding it a stale view (removals read it)."""
        return self.synced and self.problem is None

    def objects(self) -> list[JsonObject] | None:
        """The objects of the scope now, or None while they are not `current`."""
        if not self.current:
            return None
        with self._lock:
            return list(self._objects.values())

    def get(self, identity: Identity) -> JsonObject | None:
        """The scope's object of that identity now (None when it has none); only while
        `current`, like `objects`."""
        with self._lock:
            return self._objects.get(identity)

    # -- the thread -----------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                if not self.resource_version:
                    self._relist()
                self._watch()
                failures = 0
                self.problem = None
            except Expired:
                log.info("watch of %s expired; listing again", self.scope)
                self.resource_version = ""
            except KubeError as error:
                if self._stopping.is_set():
                    break
                failures += 1
                self.problem = str(error)
                level = logging.INFO if isinstance(error, ClusterUnreachable) else logging.WARNING
                log.log(level, "watch of %s: %s; retrying", self.scope, error)
                self._stopping.wait(retry_delay(failures, jitter=random.random()))

    def _notify(self, change: Change) -> None:
        """Hand the change on; a bug in the caller's handler is logged, and the watch
        goes on (a reflector that stopped would leave its objects to go stale)."""
        try:
            self._on_change(change)
        except Exception:
            log.exception("watch of %s: handling a change failed", self.scope)

    def _relist(self) -> None:
        listing = self.client.list_versioned(
            self.scope.api_version,
            self.scope.kind,
            namespace=self.scope.namespace or None,
            label_selector=self.scope.label_selector or None,
        )
        self.lists += 1
        fresh = {ref_of(obj).identity: self._keep(obj) for obj in listing.items}
        with self._lock:
            before, self._objects = self._objects, fresh
        self.resource_version = listing.resource_version
        if not self._synced.is_set():
            self._synced.set()
            return  # the first list: what is there is the start, not a change
        for identity, obj in fresh.items():
            old = before.get(identity)
            if old is None or _version(old) != _version(obj):
                kind = "ADDED" if old is None else "MODIFIED"
                self._notify(Change(self.scope, kind, obj, relisted=True))
        for identity, obj in before.items():
            if identity not in fresh:
                self._notify(Change(self.scope, "DELETED", obj, relisted=True))

    def _watch(self) -> None:
        def opened(close: Callable[[], None]) -> None:
            self._close_watch = close
            self.problem = None  # following again, from where the store stands
            if self._stopping.is_set():
                close()

        events = self.client.watch(
            self.scope.api_version,
            self.scope.kind,
            resource_version=self.resource_version,
            namespace=self.scope.namespace or None,
            label_selector=self.scope.label_selector or None,
            timeout_seconds=random.randint(*WATCH_SECONDS),
            opened=opened,
        )
        try:
            self._follow(events)
        finally:
            self._close_watch = lambda: None

    def _follow(self, events: Iterable[WatchEvent]) -> None:
        for event in events:
            version = _version(event.object)
            if event.type != "BOOKMARK":
                writers = latest_writers(event.object)
                obj = self._keep(event.object)
                identity = ref_of(obj).identity
                with self._lock:
                    if event.type == "DELETED":
                        self._objects.pop(identity, None)
                    else:
                        self._objects[identity] = obj
                self._notify(Change(self.scope, event.type, obj, writers=writers))
            if version:
                self.resource_version = version


def latest_writers(obj: JsonObject) -> frozenset[str]:
    """The managers whose managedFields entries carry the latest time (a second's
    precision: several when they wrote in the same second); none when it has none."""
    metadata = obj.get("metadata")
    entries = metadata.get("managedFields") if isinstance(metadata, dict) else None
    if not isinstance(entries, list):
        return frozenset()
    stamped = [
        (str(entry.get("time") or ""), str(entry.get("manager") or ""))
        for entry in entries
        if isinstance(entry, dict)
    ]
    if not stamped:
        return frozenset()
    latest = max(time for time, _manager in stamped)
    return frozenset(manager for time, manager in stamped if time == latest)


def _version(obj: JsonObject) -> str:
    metadata = obj.get("metadata")
    return str(metadata.get("resourceVersion") or "") if isinstance(metadata, dict) else ""


def _without_managed_fields(obj: JsonObject) -> JsonObject:
    metadata = obj.get("metadata")
    if isinstance(metadata, dict) and "managedFields" in metadata:
        obj["metadata"] = {k: v for k, v in metadata.items() if k != "managedFields"}
    return obj


class Watches:
    """Reflectors by scope, started and stopped as the scopes wanted change: what a
    long-running reconciler keeps current instead of listing every pass."""

    def __init__(
        self,
        client: KubeClient,
        *,
        on_change: Callable[[Change], None] = lambda _c: None,
        keep: Callable[[JsonObject], JsonObject] | None = None,
    ) -> None:
        """`keep`: what of each object the reflectors keep (see `Reflector`)."""
        self.client = client
        self._on_change = on_change
        self._keep = keep
        self._reflectors: dict[WatchScope, Reflector] = {}
        self._lock = threading.Lock()

    def want(self, scopes: Iterable[WatchScope]) -> None:
        """Watch exactly `scopes` from now on: new ones start, dropped ones stop."""
        wanted = set(scopes)
        with self._lock:
            started = {
                s: Reflector(self.client, s, on_change=self._on_change, keep=self._keep)
                for s in wanted - self._reflectors.keys()
            }
            dropped = [self._reflectors.pop(s) for s in self._reflectors.keys() - wanted]
            self._reflectors.update(started)
        if started or dropped:
            log.info(
                "watching %d scopes (%d started, %d stopped)",
                len(wanted),
                len(started),
                len(dropped),
            )
        for reflector in started.values():
            reflector.start()
        for reflector in dropped:
            reflector.stop()

    @property
    def scopes(self) -> frozenset[WatchScope]:
        with self._lock:
            return frozenset(self._reflectors)

    def synced(self, scope: WatchScope) -> bool:
        """Whether `scope` is watched and current (a cheap `objects` check)."""
        with self._lock:
            reflector = self._reflectors.get(scope)
        return reflector is not None and reflector.current

    def objects(self, scope: WatchScope) -> list[JsonObject] | None:
        """The scope's objects now, or None when it is not watched or not current."""
        with self._lock:
            reflector = self._reflectors.get(scope)
        return reflector.objects() if reflector is not None else None

    def get(self, scope: WatchScope, identity: Identity) -> JsonObject | None:
        """One object of a watched, current scope (None when the scope has none of that
        identity): a reader of a few objects need not copy the whole scope."""
        with self._lock:
            reflector = self._reflectors.get(scope)
        if reflector is None or not reflector.current:
            raise LookupError(f"{scope} is not watched and current")
        return reflector.get(identity)

    def problems(self) -> dict[WatchScope, str]:
        """The scopes whose last attempt failed, with why."""
        with self._lock:
            reflectors = list(self._reflectors.values())
        return {r.scope: r.problem for r in reflectors if r.problem is not None}

    def stop(self) -> None:
        self.want(())
