"""Release status read from the cluster: every inventory record and its health now.

What `harmonia status` shows, in the spirit of WALM's release detail: ready or not
and why, every resource with its state and pods, the dependencies and the outputs
taken from them, the outputs published. Never a Secret value: an output some
Secret holds is recorded as `***`, and resources are shown by state, not content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.apply.inventory import (
    INVENTORY_SELECTOR,
    InventoryFormatError,
    InventoryRecord,
    record_from_configmap,
)
from reconciler.apply.live_index import LiveIndex
from reconciler.apply.records import INVENTORY_SCOPE
from reconciler.apply.wait import current_health
from reconciler.health import ReleaseHealth
from reconciler.kube.client import KubeClient
from reconciler.kube.errors import Forbidden, NotFound
from reconciler.kube.watch import Watches
from reconciler.types import JsonObject, ReleaseKey


@dataclass(frozen=True)
class ReleaseStatus:
    record: InventoryRecord
    health: ReleaseHealth
    installed: str = ""
    """When the release was first installed: its record's creationTimestamp ("" unknown)."""

    @property
    def key(self) -> ReleaseKey:
        return self.record.release

    def to_json(self) -> JsonObject:
        namespace, _, name = self.record.release.partition("/")
        # Only under sharding: the shard replica that last applied it.
        owner: JsonObject = {"appliedBy": self.record.applied_by} if self.record.applied_by else {}
        return {
            "name": name,
            "namespace": namespace,
            "revision": self.record.revision,
            "source": self.record.source,
            "lastResult": self.record.result,
            "lastApplied": self.record.time,
            "readySince": self.record.ready_since,
            "paused": self.record.paused,
            "state": str(self.health.state),
            "message": self.health.message,
            "resources": [resource.to_json() for resource in self.health.resources],
            "dependencies": dict(self.record.dependency_outputs),
            "outputs": dict(self.record.outputs),
            **owner,
        }


def _since(stamp: str, now: datetime) -> timedelta:
    try:
        return max(now - datetime.fromisoformat(stamp), timedelta(0))
    except ValueError:
        return timedelta(0)


def read_statuses(
    client: KubeClient,
    *,
    namespace: str | None = None,
    release: ReleaseKey | None = None,
    source: str | None = None,
    watched: Watches | None = None,
) -> tuple[list[ReleaseStatus], list[str]]:
    """Statuses of the releases recorded in the cluster (only `source`'s when given), and
    problems reading any: a record whose objects cannot be read (another installation's,
    in a namespace this one may not read) is a problem, not a failure of the whole list.
    With `watched` (a long-running reconciler's reflectors), what they keep is read
    instead of listed."""
    if release is not None:
        namespace = release.partition("/")[0]
    configmaps = watched.objects(INVENTORY_SCOPE) if watched is not None else None
    if configmaps is None:
        configmaps = client.list(
            "v1", "ConfigMap", namespace=namespace, label_selector=INVENTORY_SELECTOR
        )
    elif namespace is not None:
        configmaps = [c for c in configmaps if c["metadata"].get("namespace") == namespace]  # type: ignore[union-attr]
    statuses: list[ReleaseStatus] = []
    problems: list[str] = []
    now = datetime.now(UTC)
    # One index for every record: objects listed per kind and namespace, not fetched apiece.
    live = LiveIndex(client, watched=watched)
    for configmap in configmaps:
        try:
            record = record_from_configmap(configmap)
        except InventoryFormatError as error:
            problems.append(str(error))
            continue
        if (release is not None and record.release != release) or (
            source is not None and record.source != source
        ):
            continue
        try:
            health = current_health(
                live,
                record,
                paused=record.paused,
                since_change=_since(record.time, now),
                timeout=timedelta(seconds=record.timeout_sec),
                was_ready=bool(record.ready_since),
            )
        except (Forbidden, NotFound) as error:
            problems.append(f"release {record.release}: {error}")
            continue
        metadata: Any = configmap.get("metadata") or {}
        installed = str(metadata.get("creationTimestamp") or "")
        statuses.append(ReleaseStatus(record, health, installed=installed))
    return sorted(statuses, key=lambda status: status.key), problems
