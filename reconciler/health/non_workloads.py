"""Health of the kinds that are not workloads: Pod, PVC, Service, Ingress, CRD, and the rest.

A LoadBalancer Service waits for an address only as long as the release's timeout; an
Ingress is Ready by existing; any other object follows its `Ready`/`Available` condition,
or is Ready by existing (ConfigMaps, RBAC).
"""

from __future__ import annotations

from reconciler.health.fields import fields, resource_state, unobserved_generation
from reconciler.health.model import (
    HealthContext,
    LiveObject,
    PodStatus,
    Reason,
    ResourceState,
    State,
    format_duration,
)
from reconciler.health.pods import pod_blame, pod_state

_POD_TO_RESOURCE = {
    PodStatus.READY: State.READY,
    # A pod a release ships on its own that ran to completion (a test or a one-off) is done.
    PodStatus.SUCCEEDED: State.READY,
    PodStatus.RUNNING: State.PENDING,
    PodStatus.PENDING: State.PENDING,
    PodStatus.UNKNOWN: State.PENDING,
    PodStatus.FAILED: State.FAILED,
    PodStatus.TERMINATING: State.TERMINATING,
}


def pod_health(obj: LiveObject, context: HealthContext) -> ResourceState:
    pod = pod_state(obj)
    state = _POD_TO_RESOURCE[pod.state]
    if state is State.READY or state is State.TERMINATING:
        return resource_state(obj, state, pods=(pod,))
    reason, _ = pod_blame(pod)
    return resource_state(obj, state, reason, pod.message, (pod,))


def persistent_volume_claim_health(obj: LiveObject, context: HealthContext) -> ResourceState:
    view = fields(obj)
    phase = view.text("status.phase", "Pending")
    if phase == "Bound":
        return resource_state(obj, State.READY, message=f"bound to {view.text('spec.volumeName')}")
    if phase == "Lost":
        message = f"its volume {view.text('spec.volumeName')} is gone"
        return resource_state(obj, State.FAILED, Reason.PVC_LOST, message)
    storage_class = view.text("spec.storageClassName")
    message = f"waiting for a volume of class {storage_class}" if storage_class else phase
    return resource_state(obj, State.PENDING, Reason.PVC_PENDING, message)


def service_health(obj: LiveObject, context: HealthContext) -> ResourceState:
    view = fields(obj)
    if view.text("spec.type") != "LoadBalancer":
        return resource_state(obj, State.READY)
    return _address_health(obj, context, waiting_for="a load balancer")


def ingress_health(obj: LiveObject, context: HealthContext) -> ResourceState:
    """Ready once it exists, as kstatus has it: many clusters run no controller that writes
    an address, and an Ingress without one still routes once a controller comes. The
    address, when there is one, is the message."""
    addresses = [
        entry.text("ip") or entry.text("hostname")
        for entry in fields(obj).items("status.loadBalancer.ingress")
    ]
    message = f"address {', '.join(addresses)}" if addresses else "no address assigned yet"
    return resource_state(obj, State.READY, message=message)


def _address_health(obj: LiveObject, context: HealthContext, *, waiting_for: str) -> ResourceState:
    """Ready once something wrote `status.loadBalancer.ingress`. A cluster with nothing to
    provide it (bare metal without MetalLB) never will, so after the release's timeout the
    wait ends as Failed with a reason that says so."""
    view = fields(obj)
    addresses = [
        entry.text("ip") or entry.text("hostname")
        for entry in view.items("status.loadBalancer.ingress")
    ]
    if addresses:
        return resource_state(obj, State.READY, message=f"address {', '.join(addresses)}")
    if context.waited > context.timeout:
        message = (
            f"no address within its timeout of {format_duration(context.timeout)}: "
            f"does the cluster have {waiting_for}?"
        )
        return resource_state(obj, State.FAILED, Reason.LOAD_BALANCER_TIMEOUT, message)
    message = f"waiting for {waiting_for} to assign an address"
    return resource_state(obj, State.PENDING, Reason.LOAD_BALANCER_PENDING, message)


def custom_resource_definition_health(obj: LiveObject, context: HealthContext) -> ResourceState:
    """kstatus' rule: refused names fail at once; Established=False is Installing until the
    API server gives another reason."""
    view = fields(obj)
    names = view.condition("NamesAccepted")
    if names is not None and names.text("status") == "False":
        reason = names.text("reason") or "NamesNotAccepted"
        return resource_state(obj, State.FAILED, reason, names.text("message"))
    established = view.condition("Established")
    if established is not None and established.text("status") == "True":
        return resource_state(obj, State.READY)
    if established is not None and established.text("status") == "False":
        reason = established.text("reason") or Reason.CRD_INSTALLING
        if reason != Reason.CRD_INSTALLING:
            return resource_state(obj, State.FAILED, reason, established.text("message"))
    return resource_state(obj, State.PENDING, Reason.CRD_INSTALLING, "not Established yet")


def generic_health(obj: LiveObject, context: HealthContext) -> ResourceState:
    """Any other kind: its controller's observed generation, the conventional Stalled and
    Reconciling conditions, then Ready or else Available; no status at all means an object
    that is Ready by existing (ConfigMap, Secret, ServiceAccount, RBAC, ...)."""
    view = fields(obj)
    unobserved = unobserved_generation(view, required=False)
    if unobserved:
        return resource_state(obj, State.PENDING, Reason.GENERATION_NOT_OBSERVED, unobserved)
    stalled = view.condition("Stalled")
    if stalled is not None and stalled.text("status") == "True":
        reason = stalled.text("reason") or "Stalled"
        return resource_state(obj, State.FAILED, reason, stalled.text("message"))
    reconciling = view.condition("Reconciling")
    if reconciling is not None and reconciling.text("status") == "True":
        reason = reconciling.text("reason") or "Reconciling"
        return resource_state(obj, State.PENDING, reason, reconciling.text("message"))
    generation = view.optional_integer("metadata.generation")
    for kind in ("Ready", "Available"):
        condition = view.condition(kind)
        if condition is None:
            continue
        # A condition stamped with an older generation describes a spec that is gone.
        stamped = condition.optional_integer("observedGeneration")
        if generation is not None and stamped is not None and stamped < generation:
            message = f"condition {kind} is of generation {stamped}, not {generation}"
            return resource_state(obj, State.PENDING, Reason.GENERATION_NOT_OBSERVED, message)
        if condition.text("status") == "True":
            return resource_state(obj, State.READY, message=condition.text("message"))
        reason = condition.text("reason") or Reason.NOT_READY
        return resource_state(obj, State.PENDING, reason, condition.text("message"))
    return resource_state(obj, State.READY)
