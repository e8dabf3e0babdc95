"""One live object's health: the rule for its kind, after what holds for every kind.

The waiter and `harmonia status` call `resource_health` for each object of a release, with
one `HealthContext` per release holding the namespace's pods listed once.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.health.fields import api_group, fields, identity, resource_state
from reconciler.health.model import HealthContext, LiveObject, ResourceState, State
from reconciler.health.non_workloads import (
    custom_resource_definition_health,
    generic_health,
    ingress_health,
    persistent_volume_claim_health,
    pod_health,
    service_health,
)
from reconciler.health.workloads import (
    cron_job_health,
    daemon_set_health,
    deployment_health,
    job_health,
    replica_set_health,
    stateful_set_health,
)

HealthRule = Callable[[LiveObject, HealthContext], ResourceState]

# Keyed by API group too: a custom resource may well be called `Deployment`.
RULES: dict[tuple[str, str], HealthRule] = {
    ("apps", "Deployment"): deployment_health,
    ("apps", "StatefulSet"): stateful_set_health,
    ("apps", "DaemonSet"): daemon_set_health,
    ("apps", "ReplicaSet"): replica_set_health,
    ("batch", "Job"): job_health,
    ("batch", "CronJob"): cron_job_health,
    ("", "Pod"): pod_health,
    ("", "PersistentVolumeClaim"): persistent_volume_claim_health,
    ("", "Service"): service_health,
    ("networking.k8s.io", "Ingress"): ingress_health,
    ("extensions", "Ingress"): ingress_health,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): custom_resource_definition_health,
}

NO_CONTEXT = HealthContext()


def resource_health(obj: LiveObject, *, context: HealthContext = NO_CONTEXT) -> ResourceState:
    """The object's state in WALM's vocabulary, with a reason when it is not Ready."""
    kind, _, _ = identity(obj)
    view = fields(obj)
    if view.present("metadata.deletionTimestamp"):
        finalizers = view.string_list("metadata.finalizers")
        message = f"waiting for finalizers: {', '.join(finalizers)}" if finalizers else ""
        return resource_state(obj, State.TERMINATING, message=message)
    rule = RULES.get((api_group(obj), kind), generic_health)
    return rule(obj, context)
