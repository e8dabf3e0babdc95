"""Pause, resume and restart, as transforms of the desired objects before they are applied.

`paused: true` scales Deployments and StatefulSets to zero (remembering the desired
replicas in an annotation), suspends CronJobs and gives DaemonSets a node selector
no node has; volumes stay. Resuming is applying the release as rendered again,
with the remembered replicas where the chart leaves replicas out. A new
`restartedAt` rolls the workloads through a pod-template annotation, as
`kubectl rollout restart` does. Pure: the engine applies the result.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from reconciler.health import PAUSED_REPLICAS_ANNOTATION
from reconciler.render.model import KubeObject

PAUSED_NODE_SELECTOR = "harmonia.dev/paused"
RESTARTED_AT_ANNOTATION = "harmonia.dev/restartedAt"
SCALED_KINDS = ("Deployment", "StatefulSet")
POD_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet")

LiveLookup = Callable[[KubeObject], "KubeObject | None"]
"""The live object named like a desired one, or None."""


def _annotations(obj: Any) -> dict[str, str]:
    annotations: dict[str, str] = obj.setdefault("metadata", {}).setdefault("annotations", {})
    return annotations


def _remembered_replicas(live: KubeObject | None) -> int | None:
    if live is None:
        return None
    value = ((live.get("metadata") or {}).get("annotations") or {}).get(PAUSED_REPLICAS_ANNOTATION)  # type: ignore[union-attr]
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _live_replicas(live: KubeObject | None) -> int | None:
    if live is None:
        return None
    replicas = (live.get("spec") or {}).get("replicas")  # type: ignore[union-attr]
    return replicas if isinstance(replicas, int) else None


def paused(objects: Sequence[KubeObject], *, live: LiveLookup) -> tuple[KubeObject, ...]:
    """The objects as a paused release applies them."""
    result: list[KubeObject] = []
    for obj in objects:
        kind = obj.get("kind")
        if kind not in (*SCALED_KINDS, "CronJob", "DaemonSet"):
            result.append(obj)
            continue
        changed: Any = copy.deepcopy(obj)
        spec = changed.setdefault("spec", {})
        if kind in SCALED_KINDS:
            current = live(obj)
            # Keep what a previous pause remembered; the live count is 0 by then.
            desired = spec.get("replicas")
            remembered = _remembered_replicas(current)
            if desired is None:
                desired = remembered if remembered is not None else _live_replicas(current)
            _annotations(changed)[PAUSED_REPLICAS_ANNOTATION] = str(
                desired if desired is not None else 1
            )
            spec["replicas"] = 0
        elif kind == "CronJob":
            spec["suspend"] = True
        else:
            pod_spec = spec.setdefault("template", {}).setdefault("spec", {})
            pod_spec.setdefault("nodeSelector", {})[PAUSED_NODE_SELECTOR] = "true"
        result.append(changed)
    return tuple(result)


def resumed(objects: Sequence[KubeObject], *, live: LiveLookup) -> tuple[KubeObject, ...]:
    """The objects of a running release: a workload the chart gives no replicas gets
    back the count remembered when it was paused."""
    result: list[KubeObject] = []
    for obj in objects:
        if obj.get("kind") in SCALED_KINDS and "replicas" not in (obj.get("spec") or {}):  # type: ignore[operator]
            remembered = _remembered_replicas(live(obj))
            if remembered is not None:
                changed: Any = copy.deepcopy(obj)
                changed.setdefault("spec", {})["replicas"] = remembered
                result.append(changed)
                continue
        result.append(obj)
    return tuple(result)


def restarted(
    objects: Sequence[KubeObject], *, restarted_at: datetime | None
) -> tuple[KubeObject, ...]:
    """Workloads with the restart stamp on their pod template (a rolling restart)."""
    if restarted_at is None:
        return tuple(objects)
    stamp = restarted_at.isoformat()
    result: list[KubeObject] = []
    for obj in objects:
        if obj.get("kind") not in POD_TEMPLATE_KINDS:
            result.append(obj)
            continue
        changed: Any = copy.deepcopy(obj)
        template = changed.setdefault("spec", {}).setdefault("template", {})
        _annotations(template)[RESTARTED_AT_ANNOTATION] = stamp
        result.append(changed)
    return tuple(result)


def with_lifecycle(
    objects: Sequence[KubeObject],
    *,
    paused_release: bool,
    restarted_at: datetime | None,
    live: LiveLookup,
) -> tuple[KubeObject, ...]:
    """The objects to apply for a release's lifecycle fields."""
    stamped = restarted(objects, restarted_at=restarted_at)
    return paused(stamped, live=live) if paused_release else resumed(stamped, live=live)
