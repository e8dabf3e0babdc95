"""What a change the watches saw asks of the reconciler: a pass for some releases, a fresh
look at readiness, or nothing.

- An object of a release of this repository changed (a hand edit, a controller, an
  object deleted): a pass for that release when it heals drift (`selfHeal`); the pass
  finds an unchanged object unchanged without a request, so a controller's status
  writes cost nothing but a look. The echo of Harmonia's own write (its field manager
  alone wrote last) asks nothing.
- A pod, ReplicaSet or Job in a release namespace changed: readiness is looked at again,
  without a pass.
- An inventory record changed: a sync request on it asks for a pass of that release; new
  outputs of a release outside this repository ask for a pass of its dependents here.
Pure: the repository's releases and graph come in as functions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.apply.inventory import (
    INVENTORY_LABEL,
    InventoryFormatError,
    InventoryRecord,
    inventory_release,
    record_from_configmap,
)
from reconciler.apply.live_index import HEALTH_KINDS, MANAGED_SELECTOR
from reconciler.apply.records import INVENTORY_SCOPE
from reconciler.apply.sync_request import pending_request
from reconciler.kube.client import FIELD_MANAGER
from reconciler.kube.watch import Change
from reconciler.loop.pass_queue import PassRequest
from reconciler.objects import ref_of
from reconciler.render.ownership import RELEASE_NAME_LABEL, RELEASE_NAMESPACE_LABEL
from reconciler.types import ReleaseKey, release_key


@dataclass(frozen=True)
class ReadinessCheck:
    """Readiness in `namespace` may have changed: look again, without a pass."""

    namespace: str


@dataclass(frozen=True)
class Repository:
    """What the classification needs to know of the repository, as of the last pass."""

    heals: Callable[[ReleaseKey], bool]
    """Whether a release of this repository puts back what changed (its `selfHeal`);
    False for a release that is not this repository's."""
    dependents: Callable[[ReleaseKey], frozenset[ReleaseKey]]
    """This repository's releases depending on a release (of any repository)."""
    owns: Callable[[ReleaseKey], bool]


class LiveChanges:
    """Classifies watch changes; remembers each record's outputs to see them change."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository
        self._outputs: dict[ReleaseKey, str] = {}

    def seen(self, records: Iterable[InventoryRecord]) -> None:
        """The outputs of records the watches listed rather than saw change (a reflector's
        first list is no change): the baseline a later change is new against. A release
        already known keeps what its own changes said."""
        for record in records:
            if record.release not in self._outputs:
                self._outputs[record.release] = _digest(record.outputs)

    def classify(self, change: Change) -> PassRequest | ReadinessCheck | None:
        if change.scope == INVENTORY_SCOPE:
            return self._record(change)
        if change.scope.label_selector == MANAGED_SELECTOR:
            return self._managed(change)
        if (change.scope.api_version, change.scope.kind) in HEALTH_KINDS:
            return ReadinessCheck(change.scope.namespace)
        return None

    def _managed(self, change: Change) -> PassRequest | None:
        metadata: Any = change.object.get("metadata") or {}
        labels = metadata.get("labels") or {}
        if INVENTORY_LABEL in labels:
            return None  # a record: its own scope says what its changes ask
        name, namespace = labels.get(RELEASE_NAME_LABEL), labels.get(RELEASE_NAMESPACE_LABEL)
        if not isinstance(name, str) or not isinstance(namespace, str):
            return None
        key = release_key(namespace, name)
        if not self.repository.heals(key):
            return None
        if change.writers == {FIELD_MANAGER} and change.type != "DELETED":
            return None  # the echo of Harmonia's own write: nothing to put back
        what = "deleted" if change.type == "DELETED" else "changed"
        return PassRequest(frozenset({key}), reasons=(f"{ref_of(change.object)} {what}",))

    def _record(self, change: Change) -> PassRequest | None:
        key = inventory_release(change.object)
        if key is None:
            return None
        if change.type == "DELETED":
            self._outputs.pop(key, None)
            return None
        try:
            # Only a real record counts: a look-alike ConfigMap (another release's object
            # named like a record) neither asks for a sync nor publishes outputs.
            outputs = record_from_configmap(change.object).outputs
        except InventoryFormatError:
            return None
        requested = pending_request(change.object)
        if requested is not None and self.repository.owns(key):
            return PassRequest(
                frozenset({key}),
                reasons=(f"sync of {key} requested at {requested}",),
                syncs=((key, requested),),
            )
        digest = _digest(outputs)
        before, self._outputs[key] = self._outputs.get(key), digest
        if before is None or before == digest or self.repository.owns(key):
            # First sight, no change, or this repository's own pass re-rendered the
            # dependents already.
            return None
        dependents = self.repository.dependents(key)
        if not dependents:
            return None
        return PassRequest(dependents, reasons=(f"{key} published new outputs",))


def _digest(outputs: object) -> str:
    return hashlib.sha256(json.dumps(outputs, sort_keys=True).encode()).hexdigest()
