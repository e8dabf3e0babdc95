"""The live objects a pass compares with: listed once per kind and namespace, not per object.

A pass asks the API server for every kind its releases use, in each namespace they
touch, filtered by Harmonia's managed-by label; objects not found that way (never
applied by Harmonia, to be adopted or refused) are fetched one by one. So the
number of requests grows with kinds and namespaces, not with objects.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from reconciler.kube.client import KubeClient
from reconciler.kube.errors import NotFound
from reconciler.objects import ObjectRef, ref_of, stub_object
from reconciler.render.model import KubeObject
from reconciler.render.ownership import MANAGED_BY, MANAGED_BY_LABEL

MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY}"


class LiveIndex:
    """Live objects by identity, filled by listing; a miss falls back to one GET."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self._objects: dict[tuple[str, str, str, str], KubeObject | None] = {}
        self._listed: set[tuple[str, str, str]] = set()
        # Releases of one level share the index from several threads.
        self._lock = threading.Lock()

    def load(self, objects: Iterable[KubeObject]) -> None:
        """List every (kind, namespace) that `objects` use, once."""
        for obj in objects:
            ref = ref_of(obj)
            scope = (ref.api_version, ref.kind, ref.namespace)
            with self._lock:
                if scope in self._listed:
                    continue
                self._listed.add(scope)
            try:
                listed = self.client.list(
                    ref.api_version,
                    ref.kind,
                    namespace=ref.namespace or None,
                    label_selector=MANAGED_SELECTOR,
                )
            except NotFound:
                continue  # a CRD this release brings, not served yet
            for item in listed:
                self._objects[ref_of(item).identity] = item

    def get(self, ref: ObjectRef) -> KubeObject | None:
        if ref.identity not in self._objects:
            try:
                self._objects[ref.identity] = self.client.get(stub_object(ref))
            except NotFound:
                self._objects[ref.identity] = None
        return self._objects[ref.identity]

    def lookup(self, obj: KubeObject) -> KubeObject | None:
        return self.get(ref_of(obj))

    def update(self, obj: KubeObject) -> None:
        self._objects[ref_of(obj).identity] = obj

    def forget(self, ref: ObjectRef) -> None:
        self._objects[ref.identity] = None
