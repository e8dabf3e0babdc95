"""The health vocabulary: per-object and per-release states, reasons, and what callers supply.

Health sits after apply and before status: the waiter and the status report read live
objects and turn them into these values. Pure data, no I/O; WALM's state names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import TypeAlias

from reconciler.types import JsonObject, JsonValue

LiveObject: TypeAlias = Mapping[str, JsonValue]
"""One object as the API server returns it (apiVersion, kind, metadata, spec, status)."""

DEFAULT_TIMEOUT = timedelta(seconds=300)
"""A release's `timeoutSec` default."""


class HealthError(ValueError):
    """A live object is not shaped as its kind must be (a field of the wrong type)."""


class State(StrEnum):
    """WALM's resource states, plus Failed and Paused which WALM only reported per release."""

    READY = "Ready"
    PENDING = "Pending"
    PAUSED = "Paused"
    TERMINATING = "Terminating"
    FAILED = "Failed"
    NOT_FOUND = "NotFound"


class PodStatus(StrEnum):
    """WALM's pod states: the phase, with Running split into Ready and not yet Ready."""

    READY = "Ready"
    RUNNING = "Running"
    PENDING = "Pending"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    TERMINATING = "Terminating"
    UNKNOWN = "Unknown"


class Reason(StrEnum):
    """Reasons Harmonia states itself; others are passed through from Kubernetes
    (Unschedulable, ImagePullBackOff, BackoffLimitExceeded, ProgressDeadlineExceeded, ...)."""

    # WALM's, derived from a workload's pods.
    POD_NOT_CREATED = "PodNotCreated"
    POD_PENDING = "PodPending"
    POD_RUNNING = "PodRunning"
    POD_UNKNOWN = "PodUnknown"
    POD_FAILED = "PodFailed"
    POD_TERMINATING = "PodTerminating"
    DEPLOYMENT_UPDATING = "DeploymentUpdating"
    STATEFUL_SET_UPDATING = "StatefulSetUpdating"
    DAEMON_SET_UPDATING = "DaemonSetUpdating"
    REPLICA_SET_UPDATING = "ReplicaSetUpdating"
    JOB_ACTIVE = "JobActive"
    # Harmonia's.
    GENERATION_NOT_OBSERVED = "GenerationNotObserved"
    DEPLOYMENT_PAUSED = "DeploymentPaused"
    PAUSING = "Pausing"
    JOB_NOT_STARTED = "JobNotStarted"
    JOB_BACKOFF = "JobBackoff"
    JOB_FAILED = "JobFailed"
    JOB_SUSPENDED = "JobSuspended"
    CRON_JOB_SUSPENDED = "CronJobSuspended"
    LAST_JOB_FAILED = "LastJobFailed"
    PVC_PENDING = "PvcPending"
    PVC_LOST = "PvcLost"
    LOAD_BALANCER_PENDING = "LoadBalancerPending"
    LOAD_BALANCER_TIMEOUT = "LoadBalancerTimeout"
    CRD_INSTALLING = "Installing"
    NOT_READY = "NotReady"


FAILED_CREATE = "FailedCreate"
"""The reason of the Event a workload controller records when it cannot create a pod;
passed through as the workload's reason."""

WORKLOAD_UPDATING = {
    "Deployment": Reason.DEPLOYMENT_UPDATING,
    "StatefulSet": Reason.STATEFUL_SET_UPDATING,
    "DaemonSet": Reason.DAEMON_SET_UPDATING,
    "ReplicaSet": Reason.REPLICA_SET_UPDATING,
}
"""WALM's `<Kind>Updating`: counts lag but no pod is to blame."""


@dataclass(frozen=True)
class PodState:
    """One pod of a workload as `harmonia status` lists it (WALM's release detail)."""

    name: str
    node: str
    phase: str
    state: PodStatus
    reason: str = ""
    message: str = ""
    ready: str = "0/0"
    """Ready containers of all containers, `n/m`."""
    restarts: int = 0

    def to_json(self) -> JsonObject:
        return {
            "name": self.name,
            "node": self.node,
            "phase": self.phase,
            "state": str(self.state),
            "reason": self.reason,
            "message": self.message,
            "ready": self.ready,
            "restarts": self.restarts,
        }


@dataclass(frozen=True)
class ResourceState:
    """The health of one object of a release."""

    kind: str
    namespace: str
    """Empty for cluster-scoped objects."""
    name: str
    state: State
    reason: str = ""
    message: str = ""
    pods: tuple[PodState, ...] | None = None
    """The workload's pods; None for kinds without pods, or when the caller listed none."""

    @property
    def ready(self) -> bool:
        return self.state is State.READY

    @property
    def reference(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def headline(self) -> str:
        """`StatefulSet streaming/zookeeper is Pending: PodPending (pod zookeeper-0 ...)`."""
        text = f"{self.kind} {self.reference} is {self.state}"
        if self.reason:
            text += f": {self.reason}"
        if self.message:
            text += f" ({self.message})"
        return text

    def to_json(self) -> JsonObject:
        body: JsonObject = {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "state": str(self.state),
            "reason": self.reason,
            "message": self.message,
        }
        if self.pods is not None:
            body["pods"] = [pod.to_json() for pod in self.pods]
        return body


def not_found(kind: str, namespace: str, name: str) -> ResourceState:
    """An object the release should have (its inventory names it) that the cluster lacks."""
    return ResourceState(kind, namespace, name, State.NOT_FOUND, message="not found in the cluster")


class ReleaseState(StrEnum):
    READY = "Ready"
    PROGRESSING = "Progressing"
    """Still converging after a change, within the release's timeout."""
    DEGRADED = "Degraded"
    """Was Ready since its last change, and is not any more."""
    FAILED = "Failed"
    """A resource Failed, the change did not converge within the timeout, or the pass failed."""
    PAUSED = "Paused"
    BLOCKED = "Blocked"
    """Not applied: a dependency is not Ready."""


@dataclass(frozen=True)
class ReleaseHealth:
    state: ReleaseState
    message: str
    resources: tuple[ResourceState, ...]
    """Every resource in the stable order the message picks from (see `release.py`)."""

    @property
    def ready(self) -> bool:
        return self.state is ReleaseState.READY

    def to_json(self) -> JsonObject:
        return {
            "state": str(self.state),
            "message": self.message,
            "resources": [resource.to_json() for resource in self.resources],
        }


@dataclass(frozen=True)
class HealthContext:
    """What the caller knows besides each object: one per release and pass.

    `pods`, `replica_sets` and `jobs` are the live objects of the release's namespace,
    listed once by the caller; health picks each workload's own from them.
    """

    pods: tuple[LiveObject, ...] | None = None
    """None: pods were not listed, so workloads carry no pod details."""
    replica_sets: tuple[LiveObject, ...] | None = None
    """Links a Deployment to its pods; None falls back to the Deployment's label selector."""
    jobs: tuple[LiveObject, ...] = ()
    """A CronJob's Jobs: the newest one's result is the CronJob's."""
    paused: bool = False
    """The release is paused: workloads are expected scaled to zero / suspended."""
    waited: timedelta = timedelta(0)
    """How long the caller has waited for this state (since the change, or the object's age)."""
    timeout: timedelta = DEFAULT_TIMEOUT
    creation_failures: Mapping[str, str] = field(default_factory=dict)
    """Why a workload's controller cannot create its pods, by the workload's uid: the
    message of its latest `FailedCreate` Event (`no PriorityClass with name ...`)."""

    def __post_init__(self) -> None:
        if self.waited < timedelta(0):
            raise HealthError(f"health context: waited must not be negative, got {self.waited}")
        if self.timeout <= timedelta(0):
            raise HealthError(f"health context: timeout must be positive, got {self.timeout}")


def format_duration(duration: timedelta) -> str:
    """Go's style, as kubectl prints durations: `45s`, `5m0s`, `1h2m3s`."""
    seconds = int(duration.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{minutes}m{seconds}s"
    return f"{seconds}s"


PAUSED_REPLICAS_ANNOTATION = "harmonia.dev/paused-replicas"
"""Where pause remembers a workload's replicas; a Paused workload's message says what resume
restores. Whether a release is paused is an input (`HealthContext.paused`), never guessed."""
