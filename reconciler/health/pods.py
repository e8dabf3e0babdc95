"""A workload's pods: which live pods are its own, and each pod's state with its reason.

WALM explained a workload that is not Ready by its pods (`pkg/k8s/converter/pod_converter.go`);
health does the same from the namespace's pods the caller listed once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from reconciler.health.fields import Fields, fields
from reconciler.health.model import HealthError, LiveObject, PodState, PodStatus, Reason

# Which pod a not-Ready workload names: the one least likely to sort itself out comes first.
_STUCK_FIRST = {
    PodStatus.FAILED: 0,
    PodStatus.PENDING: 1,
    PodStatus.UNKNOWN: 2,
    PodStatus.RUNNING: 3,
    PodStatus.TERMINATING: 4,
}

_POD_REASONS = {
    PodStatus.PENDING: Reason.POD_PENDING,
    PodStatus.RUNNING: Reason.POD_RUNNING,
    PodStatus.UNKNOWN: Reason.POD_UNKNOWN,
    PodStatus.FAILED: Reason.POD_FAILED,
    PodStatus.TERMINATING: Reason.POD_TERMINATING,
}


def pod_state(pod: LiveObject) -> PodState:
    """One pod's state and why (WALM's `buildWalmPodState`, with container reasons)."""
    view = fields(pod, listed_as="Pod")
    status, reason, message = _status_and_reason(view)
    containers = view.items("status.containerStatuses")
    declared = view.count("spec.containers") or len(containers)
    ready = sum(1 for container in containers if container.flag("ready"))
    return PodState(
        name=view.text("metadata.name"),
        node=view.text("spec.nodeName"),
        phase=view.text("status.phase"),
        state=status,
        reason=reason,
        message=message,
        ready=f"{ready}/{declared}",
        restarts=sum(container.integer("restartCount") for container in containers),
    )


def _status_and_reason(pod: Fields) -> tuple[PodStatus, str, str]:
    if pod.present("metadata.deletionTimestamp"):
        return PodStatus.TERMINATING, "", ""
    phase = pod.text("status.phase")
    if phase == "Running":
        ready = pod.condition("Ready")
        if ready is not None and ready.text("status") == "True":
            return PodStatus.READY, "", ""
        return PodStatus.RUNNING, *_not_ready_reason(pod, ready)
    if phase == "Succeeded":
        return PodStatus.SUCCEEDED, "", ""
    if phase == "Failed":
        return PodStatus.FAILED, *_failed_reason(pod)
    if phase == "Unknown":
        return PodStatus.UNKNOWN, pod.text("status.reason"), pod.text("status.message")
    # Pending, or not yet seen by any kubelet (no phase at all).
    return PodStatus.PENDING, *_pending_reason(pod)


def _pending_reason(pod: Fields) -> tuple[str, str]:
    scheduled = pod.condition("PodScheduled")
    if scheduled is not None and scheduled.text("status") == "False":
        return scheduled.text("reason"), scheduled.text("message")
    for container in (*pod.items("status.initContainerStatuses"), *_containers(pod)):
        if container.present("state.waiting.reason"):
            return _waiting(container)
    initialized = pod.condition("Initialized")
    if initialized is not None and initialized.text("status") == "False":
        return initialized.text("reason"), initialized.text("message")
    return "", ""


def _not_ready_reason(pod: Fields, ready: Fields | None) -> tuple[str, str]:
    containers = _containers(pod)
    for container in containers:
        if container.present("state.waiting.reason"):
            return _waiting(container)
    for container in containers:
        if container.present("state.terminated"):
            return _terminated(container)
    not_ready = [c.text("name") for c in containers if not c.flag("ready")]
    if not_ready:
        return "ContainersNotReady", f"containers not ready: {', '.join(not_ready)}"
    if ready is not None:
        return ready.text("reason"), ready.text("message")
    return "", ""


def _failed_reason(pod: Fields) -> tuple[str, str]:
    if pod.text("status.reason"):
        return pod.text("status.reason"), pod.text("status.message")
    for container in (*pod.items("status.initContainerStatuses"), *_containers(pod)):
        if container.integer("state.terminated.exitCode"):
            return _terminated(container)
    return "", pod.text("status.message")


def _containers(pod: Fields) -> tuple[Fields, ...]:
    return pod.items("status.containerStatuses")


def _waiting(container: Fields) -> tuple[str, str]:
    message = container.text("state.waiting.message")
    return container.text("state.waiting.reason"), _in_container(container, message)


def _terminated(container: Fields) -> tuple[str, str]:
    reason = container.text("state.terminated.reason") or "Terminated"
    code = container.integer("state.terminated.exitCode")
    message = container.text("state.terminated.message") or f"exit code {code}"
    return reason, _in_container(container, message)


def _in_container(container: Fields, message: str) -> str:
    name = container.text("name")
    return f"container {name}: {message}" if message else f"container {name}"


def select_pods(
    workload: LiveObject,
    pods: Iterable[LiveObject],
    *,
    replica_sets: Iterable[LiveObject] | None = None,
) -> tuple[LiveObject, ...]:
    """The workload's own pods among the namespace's, sorted by name.

    Ownership decides (a pod's controller, or for a Deployment its ReplicaSet's controller),
    so two workloads sharing labels do not see each other's pods. The label selector is
    the fallback when ownership cannot be followed: no uid on the workload, or a
    Deployment whose ReplicaSets were not listed.
    """
    view = fields(workload)
    namespace = view.text("metadata.namespace")
    uid = view.text("metadata.uid")
    kind = view.text("kind")
    listed = [(pod, fields(pod, listed_as="Pod")) for pod in pods]
    candidates = [(pod, pod_view) for pod, pod_view in listed if _namespace(pod_view) == namespace]
    if uid and kind == "Deployment" and replica_sets is not None:
        sets = [fields(rs, listed_as="ReplicaSet") for rs in replica_sets]
        owners = {rs.text("metadata.uid") for rs in sets if _controller_uid(rs) == uid}
        chosen = [(pod, v) for pod, v in candidates if _controller_uid(v) in owners]
    elif uid and kind != "Deployment":
        chosen = [(pod, v) for pod, v in candidates if _controller_uid(v) == uid]
    else:
        chosen = [(pod, v) for pod, v in candidates if matches_selector(view, v)]
    return tuple(pod for pod, _ in sorted(chosen, key=lambda entry: entry[1].text("metadata.name")))


def _namespace(obj: Fields) -> str:
    return obj.text("metadata.namespace")


def _controller_uid(obj: Fields) -> str:
    for owner in obj.items("metadata.ownerReferences"):
        if owner.flag("controller"):
            return owner.text("uid")
    return ""


def matches_selector(workload: Fields, pod: Fields) -> bool:
    """`spec.selector` of a workload (matchLabels and matchExpressions) against a pod's labels.

    An empty or missing selector selects nothing: the API server refuses one on every
    workload kind, so its absence means there is nothing to go by.
    """
    labels = pod.strings("metadata.labels")
    match_labels = workload.strings("spec.selector.matchLabels")
    expressions = workload.items("spec.selector.matchExpressions")
    if not match_labels and not expressions:
        return False
    if any(labels.get(key) != value for key, value in match_labels.items()):
        return False
    return all(_expression_holds(expression, labels) for expression in expressions)


def _expression_holds(expression: Fields, labels: Mapping[str, str]) -> bool:
    key, operator = expression.text("key"), expression.text("operator")
    values = expression.string_list("values")
    if operator == "In":
        return labels.get(key) in values
    if operator == "NotIn":
        return labels.get(key) not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    raise HealthError(f"{expression.subject}: operator: unknown operator {operator!r}")


def first_unready(pods: Sequence[PodState], *, runs_to_completion: bool) -> PodState | None:
    """The pod to name when a workload is not Ready: the most stuck, then by name.

    A Job `runs_to_completion`: its Running pods make progress and its Failed pods explain
    a retry. For long-running workloads a Running pod that is not Ready is the problem, and
    finished pods (evicted, completed) are history the controller has already replaced.
    """
    if runs_to_completion:
        fine = {PodStatus.READY, PodStatus.RUNNING, PodStatus.SUCCEEDED}
    else:
        fine = {PodStatus.READY, PodStatus.SUCCEEDED, PodStatus.FAILED}
    blamed = [pod for pod in pods if pod.state not in fine]
    if not blamed:
        return None
    return min(blamed, key=lambda pod: (_STUCK_FIRST[pod.state], pod.name))


def pod_blame(pod: PodState) -> tuple[str, str]:
    """(reason, message) a workload takes from its named pod: the pod's own reason when it
    has one (Unschedulable, ImagePullBackOff), else WALM's `Pod<State>`."""
    reason = pod.reason or _POD_REASONS[pod.state]
    message = f"pod {pod.name} is {pod.state}"
    if pod.message:
        message += f": {pod.message}"
    elif pod.reason:
        message += f": {pod.reason}"
    return reason, message
