"""The live objects a pass compares with: listed once per kind and namespace, not per object.

A pass asks the API server for every kind its releases use, in each namespace they
touch, filtered by Harmonia's managed-by label; objects not found that way (never
applied by Harmonia, to be adopted or refused) are fetched one by one. Health reads
the same index, plus each namespace's pods, ReplicaSets and Jobs, listed once. So the
number of requests grows with kinds and namespaces, not with objects.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import TypeVar

from reconciler.health.events import creation_failures
from reconciler.health.owners import OwnedIndex
from reconciler.kube.client import KubeClient
from reconciler.kube.errors import Forbidden, KubeError, NotFound
from reconciler.kube.watch import Watches, WatchScope
from reconciler.objects import Identity, ObjectRef, ref_of, stub_object
from reconciler.render.model import KubeObject
from reconciler.render.ownership import MANAGED_BY, MANAGED_BY_LABEL

MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY}"

Value = TypeVar("Value")
Mapper = Callable[[Callable[[ObjectRef], object], Iterable[ObjectRef]], Iterable[object]]


class _Once:
    """Values computed once per key, even when threads ask for the same key together."""

    def __init__(self) -> None:
        self._values: dict[object, object] = {}
        self._locks: dict[object, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: object, compute: Callable[[], Value]) -> Value:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._values:
                self._values[key] = compute()
            return self._values[key]  # type: ignore[return-value]

    def peek(self, key: object) -> object | None:
        """The value computed for `key`, or None when none was (yet)."""
        return self._values.get(key)


class LiveIndex:
    """Live objects by identity, filled by listing; a miss falls back to one GET.

    One index is one moment's view: a pass plans from one, and the waiter takes a
    fresh one for each round of readiness checks. Objects read are kept without
    `metadata.managedFields` (often half an object; at a thousand releases, most of the
    memory); the rare step that needs them reads the object again.

    With `watched` (a long-running reconciler's reflectors), a scope they keep current
    is read from them instead of listed: no request at all.
    """

    def __init__(
        self,
        client: KubeClient,
        *,
        watched: Watches | None = None,
        carried: tuple[LiveIndex, Callable[[ObjectRef], bool]] | None = None,
        children: Watches | None = None,
    ) -> None:
        """`carried`: an earlier index, and which objects to take from it as it saw them
        instead of reading them again (their scope is then neither watched nor listed).
        `children`: watches to read the pods, ReplicaSets and Jobs of `owned` from first
        (a pass's own readiness watches, which keep only what health reads: so only
        health reads them)."""
        self.client = client
        self._watched = watched
        self._children = children
        self._carried = carried
        self._objects: dict[Identity, KubeObject | None] = {}
        self._read_through: dict[
            tuple[str, str, str], Callable[[ObjectRef], KubeObject | None]
        ] = {}
        """Scopes read object by object, by (apiVersion, kind, namespace): from `watched`
        (which raises LookupError once its watch is not current), or `carried`."""
        self._scopes = _Once()
        self._owned = _Once()
        self._fetched = _Once()
        self._unmanaged = _Once()
        self._failures = _Once()
        self._events = _Once()

    def load(self, objects: Iterable[KubeObject], *, mapper: Mapper = map) -> None:
        """List every (kind, namespace) that `objects` use, once; `mapper` (a thread
        pool's `map`) may send the lists side by side."""
        scopes = {(ref.api_version, ref.kind, ref.namespace): ref for ref in map(ref_of, objects)}
        for _listed in mapper(self._load_scope, scopes.values()):
            pass

    def _load_scope(self, ref: ObjectRef) -> object:
        return self._scopes.get(
            (ref.api_version, ref.kind, ref.namespace), partial(self._list, ref)
        )

    def fresh(
        self,
        *,
        carry: Callable[[ObjectRef], bool] | None = None,
        watched: Watches | None = None,
    ) -> LiveIndex:
        """A new moment's index on the same client and reflectors (or on `watched`); the
        objects `carry` says yes to are taken from this one as it saw them."""
        return LiveIndex(
            self.client,
            watched=watched or self._watched,
            carried=(self, carry) if carry else None,
        )

    def _watched_objects(
        self, api_version: str, kind: str, namespace: str, selector: str = ""
    ) -> list[KubeObject] | None:
        if self._watched is None:
            return None
        return self._watched.objects(WatchScope(api_version, kind, namespace, selector))

    def _list(self, ref: ObjectRef) -> bool:
        # Read object by object as asked (`get`): a round of readiness checks reads the
        # few objects of the releases still waiting, not the whole scope.
        key = (ref.api_version, ref.kind, ref.namespace)
        if self._carried is not None and self._carried[1](ref):
            self._read_through[key] = self._carried[0].get
            return True
        scope = WatchScope(ref.api_version, ref.kind, ref.namespace, MANAGED_SELECTOR)
        if self._watched is not None and self._watched.synced(scope):
            self._read_through[key] = partial(_watched_object, self._watched, scope)
            return True
        return self._list_managed(ref)

    def _list_managed(self, ref: ObjectRef) -> bool:
        try:
            listed = self.client.list(
                ref.api_version,
                ref.kind,
                namespace=ref.namespace or None,
                label_selector=MANAGED_SELECTOR,
            )
        except KubeError as error:
            # A CRD this release brings, not served yet; or a kind the API server will not
            # list (RBAC): the objects are then read one by one, and a refusal fails only
            # the release that asks (the first load covers every release of the pass).
            if error.temporary:
                raise
            return False
        for item in _drop_managed_fields(listed):
            self._objects.setdefault(ref_of(item).identity, item)
        return True

    def get(self, ref: ObjectRef) -> KubeObject | None:
        """The live object, or None. An object missing from a listed scope (not Harmonia's,
        or absent) is looked for in one unfiltered list of that scope, taken once (or in
        the reflector keeping the whole scope current), so a first install of many
        releases does not send a GET per object; any other miss is one GET, sent once
        however many releases ask (their namespace)."""
        if ref.identity not in self._objects:
            scope = (ref.api_version, ref.kind, ref.namespace)
            if scope in self._read_through:
                self._read_one(ref, self._read_through[scope])
        if ref.identity not in self._objects:
            scope = (ref.api_version, ref.kind, ref.namespace)
            watched = self._watched is not None and self._watched.synced(WatchScope(*scope))
            if self._scopes.peek(scope) or watched:
                everything = self._unmanaged.get(scope, partial(self._list_unfiltered, ref))
                self._objects.setdefault(ref.identity, everything.get(ref.identity))
            else:
                self._fetched.get(ref.identity, partial(self._fetch, ref))
        return self._objects[ref.identity]

    def _read_one(self, ref: ObjectRef, read: Callable[[ObjectRef], KubeObject | None]) -> None:
        """`ref`'s object as its scope's source has it; once a reflector is no longer
        current (its watch failed), the scope is listed as without it."""
        try:
            found = read(ref)
        except LookupError:
            self._read_through.pop((ref.api_version, ref.kind, ref.namespace), None)
            self._list_managed(ref)
            return
        if found is not None:
            self._objects.setdefault(ref.identity, found)

    def _list_unfiltered(self, ref: ObjectRef) -> dict[Identity, KubeObject]:
        watched = self._watched_objects(ref.api_version, ref.kind, ref.namespace)
        if watched is None:
            watched = _drop_managed_fields(
                self.client.list(ref.api_version, ref.kind, namespace=ref.namespace or None)
            )
        return {ref_of(item).identity: item for item in watched}

    def _fetch(self, ref: ObjectRef) -> None:
        try:
            found = self.client.get(stub_object(ref))
        except NotFound:
            found = None
        if found is not None:
            _drop_managed_fields([found])
        self._objects.setdefault(ref.identity, found)

    def lookup(self, obj: KubeObject) -> KubeObject | None:
        return self.get(ref_of(obj))

    def update(self, obj: KubeObject) -> None:
        """Keep `obj` (an apply's answer) as the live object, without its managedFields like
        every object read: a cold pass of 5000 releases kept 25 000 answers whole."""
        self._objects[ref_of(obj).identity] = _drop_managed_fields([obj])[0]

    def forget(self, ref: ObjectRef) -> None:
        self._objects[ref.identity] = None

    def forget_children(self) -> None:
        """Drop the pods, ReplicaSets and Jobs listed so far: the next `owned` lists again."""
        self._owned = _Once()

    def owned(self, namespace: str) -> OwnedIndex:
        """The namespace's pods, ReplicaSets and Jobs by owner, listed once."""

        def objects_of(api_version: str, kind: str) -> list[KubeObject]:
            scope = WatchScope(api_version, kind, namespace)
            watched = self._children.objects(scope) if self._children is not None else None
            if watched is None:
                watched = self._watched_objects(api_version, kind, namespace)
            if watched is not None:
                return watched
            return _drop_managed_fields(self.client.list(api_version, kind, namespace=namespace))

        def listing() -> OwnedIndex:
            pods, replica_sets, jobs = (objects_of(*kind) for kind in HEALTH_KINDS)
            return OwnedIndex.of(pods, replica_sets, jobs)

        return self._owned.get(namespace, listing)

    def creation_failures(self, namespace: str) -> dict[str, str]:
        """Why workloads of the namespace cannot create pods, by uid (their controllers'
        `FailedCreate` Events), listed once; nothing when Events may not be listed."""

        def listing() -> dict[str, str]:
            try:
                events = self.client.list(
                    "v1", "Event", namespace=namespace, field_selector="reason=FailedCreate"
                )
            except Forbidden:
                return {}  # an older deployment's role, without `list` on events
            return creation_failures(events)

        return self._failures.get(namespace, listing)

    def events_about(self, ref: ObjectRef) -> tuple[KubeObject, ...]:
        """The Events about the object named like `ref`, listed once: what is left of how
        a Job ended once its TTL removed it. None readable (RBAC without `list events`)
        means nothing is known, as when there are none."""

        def listing() -> tuple[KubeObject, ...]:
            selector = f"involvedObject.kind={ref.kind},involvedObject.name={ref.name}"
            try:
                listed = self.client.list(
                    "v1", "Event", namespace=ref.namespace, field_selector=selector
                )
            except Forbidden:
                return ()
            return tuple(listed)

        return self._events.get(ref.identity, listing)


def _watched_object(watched: Watches, scope: WatchScope, ref: ObjectRef) -> KubeObject | None:
    return watched.get(scope, ref.identity)


HEALTH_KINDS = (("v1", "Pod"), ("apps/v1", "ReplicaSet"), ("batch/v1", "Job"))
"""What readiness reads in each release namespace besides the release's own objects."""


def scopes_to_watch(
    entries: Iterable[ObjectRef], namespaces: Iterable[str]
) -> frozenset[WatchScope]:
    """What a long-running reconciler keeps watched so a pass lists nothing: every kind
    and namespace the inventory records name (Harmonia's objects only), and the pods,
    ReplicaSets and Jobs of the release namespaces."""
    managed = {
        WatchScope(ref.api_version, ref.kind, ref.namespace, MANAGED_SELECTOR) for ref in entries
    }
    health = {
        WatchScope(api_version, kind, namespace)
        for namespace in namespaces
        for api_version, kind in HEALTH_KINDS
    }
    return frozenset(managed | health)


def _drop_managed_fields(objects: list[KubeObject]) -> list[KubeObject]:
    for obj in objects:
        metadata = obj.get("metadata")
        if isinstance(metadata, dict):
            metadata.pop("managedFields", None)
    return objects
