"""A namespace's pods, ReplicaSets and Jobs grouped by their owner, listed once for many releases.

Health reads a workload's pods from the namespace's (`HealthContext`); when hundreds of
releases share a namespace, handing each the whole namespace makes a check of all of
them quadratic. This index hands each release only what its own objects own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from reconciler.health.model import DEFAULT_TIMEOUT, HealthContext, LiveObject


def _owner_uids(obj: LiveObject) -> tuple[str, ...]:
    metadata = obj.get("metadata")
    owners = metadata.get("ownerReferences") if isinstance(metadata, dict) else None
    if not isinstance(owners, list):
        return ()
    return tuple(
        str(owner["uid"]) for owner in owners if isinstance(owner, dict) and "uid" in owner
    )


def _uid(obj: LiveObject) -> str:
    metadata = obj.get("metadata")
    return str(metadata.get("uid") or "") if isinstance(metadata, dict) else ""


def _by_owner(objects: Iterable[LiveObject]) -> dict[str, tuple[LiveObject, ...]]:
    grouped: dict[str, list[LiveObject]] = {}
    for obj in objects:
        for uid in _owner_uids(obj):
            grouped.setdefault(uid, []).append(obj)
    return {uid: tuple(children) for uid, children in grouped.items()}


@dataclass(frozen=True)
class OwnedIndex:
    """One namespace's pods, ReplicaSets and Jobs, each under the uids of its owners."""

    pods: dict[str, tuple[LiveObject, ...]]
    replica_sets: dict[str, tuple[LiveObject, ...]]
    jobs: dict[str, tuple[LiveObject, ...]]

    @classmethod
    def of(
        cls,
        pods: Iterable[LiveObject],
        replica_sets: Iterable[LiveObject],
        jobs: Iterable[LiveObject],
    ) -> OwnedIndex:
        return cls(_by_owner(pods), _by_owner(replica_sets), _by_owner(jobs))

    def context_for(
        self,
        objects: Iterable[LiveObject],
        *,
        paused: bool = False,
        waited: timedelta = timedelta(0),
        timeout: timedelta = DEFAULT_TIMEOUT,
    ) -> HealthContext:
        """The context for a release made of `objects`: the ReplicaSets and Jobs they own,
        and the pods those (or the objects themselves) own."""
        uids = {uid for uid in map(_uid, objects) if uid}
        replica_sets = [rs for uid in sorted(uids) for rs in self.replica_sets.get(uid, ())]
        jobs = [job for uid in sorted(uids) for job in self.jobs.get(uid, ())]
        owners = uids | {_uid(child) for child in (*replica_sets, *jobs)}
        pods = {id(pod): pod for uid in sorted(owners) for pod in self.pods.get(uid, ())}
        return HealthContext(
            pods=tuple(pods.values()),
            replica_sets=tuple(replica_sets),
            jobs=tuple(jobs),
            paused=paused,
            waited=waited,
            timeout=timeout,
        )
