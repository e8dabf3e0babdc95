"""A release's health from its resources' states: Ready, Progressing, Degraded, Failed,
Paused or Blocked, and a message naming the first resource that is not Ready.

The last step before status: the waiter gates dependents on it and the report shows it.
Pure: the caller supplies time since the change and what it knows of the pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta

from reconciler.health.model import (
    DEFAULT_TIMEOUT,
    HealthError,
    ReleaseHealth,
    ReleaseState,
    ResourceState,
    State,
    format_duration,
)

# The staged apply order: what must exist before the rest is named first, so the message
# points at the cause (a CRD not Established) rather than what waits on it. Kinds not listed
# (custom resources) come after the workloads; admission webhooks, applied last, come last.
KIND_ORDER = (
    "Namespace",
    "CustomResourceDefinition",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "RuntimeClass",
    "PersistentVolume",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "LimitRange",
    "ResourceQuota",
    "PersistentVolumeClaim",
    "Service",
    "StatefulSet",
    "Deployment",
    "DaemonSet",
    "ReplicaSet",
    "Pod",
    "Job",
    "CronJob",
    "Ingress",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
)
LAST_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


def apply_order(resource: ResourceState) -> tuple[int, str, str, str]:
    """Sort key: the kind's stage, then kind, namespace and name so the order is total."""
    if resource.kind in KIND_ORDER:
        rank = KIND_ORDER.index(resource.kind)
    elif resource.kind in LAST_KINDS:
        rank = len(KIND_ORDER) + 1
    else:
        rank = len(KIND_ORDER)
    return rank, resource.kind, resource.namespace, resource.name


def release_health(
    resources: Iterable[ResourceState],
    *,
    paused: bool = False,
    blocked_reason: str | None = None,
    failed_reason: str | None = None,
    since_change: timedelta = timedelta(0),
    timeout: timedelta = DEFAULT_TIMEOUT,
    was_ready: bool = False,
) -> ReleaseHealth:
    """The release's state, deciding in this order:

    1. `failed_reason` (the pass failed for it: render, apply, a hook): Failed.
    2. `blocked_reason` (a dependency is not Ready, so it was not applied): Blocked.
    3. `paused`: Paused, naming a workload that has not scaled down yet.
    4. A resource Failed: Failed, naming the first Failed resource.
    5. Every resource Ready: Ready.
    6. `was_ready` (Ready was seen since the last change, so nothing is converging): Degraded.
    7. `since_change` beyond `timeout`: Failed, the change did not converge in time.
    8. Otherwise Progressing: still converging, within its timeout.
    """
    if since_change < timedelta(0):
        raise HealthError(f"release health: since_change must not be negative, got {since_change}")
    if timeout <= timedelta(0):
        raise HealthError(f"release health: timeout must be positive, got {timeout}")
    ordered = tuple(sorted(resources, key=apply_order))

    def health(state: ReleaseState, message: str) -> ReleaseHealth:
        return ReleaseHealth(state, message, ordered)

    if failed_reason:
        return health(ReleaseState.FAILED, failed_reason)
    if blocked_reason:
        return health(ReleaseState.BLOCKED, blocked_reason)
    if paused:
        lagging = _first(ordered, lambda r: r.state not in {State.READY, State.PAUSED})
        message = "release is paused"
        return health(
            ReleaseState.PAUSED, f"{message}; {lagging.headline()}" if lagging else message
        )
    failed = _first(ordered, lambda r: r.state is State.FAILED)
    if failed:
        return health(ReleaseState.FAILED, failed.headline())
    unready = _first(ordered, lambda r: not r.ready)
    if unready is None:
        counted = f"all {len(ordered)} resources are Ready" if ordered else "it has no resources"
        return health(ReleaseState.READY, counted)
    if was_ready:
        return health(ReleaseState.DEGRADED, unready.headline())
    if since_change > timeout:
        # The timeout, not the time waited: the message goes into the status files, which
        # must not change from one pass to the next while the release stays as it is.
        late = (
            f"{unready.headline()}; not Ready within its timeout of "
            f"{format_duration(timeout)} after the change"
        )
        return health(ReleaseState.FAILED, late)
    return health(ReleaseState.PROGRESSING, unready.headline())


def _first(
    resources: tuple[ResourceState, ...], predicate: Callable[[ResourceState], bool]
) -> ResourceState | None:
    return next((resource for resource in resources if predicate(resource)), None)
