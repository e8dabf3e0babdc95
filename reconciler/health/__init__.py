"""Health: live objects to WALM-style states with reasons, per object and per release.

Sits after apply (the waiter gates dependents on it) and before status (the report shows
it). Pure functions over objects as the API returns them; the caller lists and supplies.
"""

from reconciler.health.model import (
    DEFAULT_TIMEOUT,
    PAUSED_REPLICAS_ANNOTATION,
    HealthContext,
    HealthError,
    LiveObject,
    PodState,
    PodStatus,
    Reason,
    ReleaseHealth,
    ReleaseState,
    ResourceState,
    State,
    not_found,
)
from reconciler.health.pods import pod_state, select_pods
from reconciler.health.release import apply_order, release_health
from reconciler.health.resource import resource_health

__all__ = [
    "DEFAULT_TIMEOUT",
    "PAUSED_REPLICAS_ANNOTATION",
    "HealthContext",
    "HealthError",
    "LiveObject",
    "PodState",
    "PodStatus",
    "Reason",
    "ReleaseHealth",
    "ReleaseState",
    "ResourceState",
    "State",
    "apply_order",
    "not_found",
    "pod_state",
    "release_health",
    "resource_health",
    "select_pods",
]
