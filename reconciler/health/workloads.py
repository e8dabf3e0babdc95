"""Health of the workload kinds: Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob.

Counts against the spec decide Ready (kubectl's rollout status, as Argo CD and kstatus use
it); when they fall short, the workload's pods say why (WALM's reasons).
"""

from __future__ import annotations

from reconciler.health.fields import (
    Fields,
    fields,
    identity,
    resource_state,
    unobserved_generation,
)
from reconciler.health.model import (
    FAILED_CREATE,
    PAUSED_REPLICAS_ANNOTATION,
    WORKLOAD_UPDATING,
    HealthContext,
    LiveObject,
    PodState,
    PodStatus,
    Reason,
    ResourceState,
    State,
)
from reconciler.health.pods import first_unready, pod_blame, pod_state, select_pods

_REVISION_LABEL = "controller-revision-hash"


def _paused_or_unobserved(
    obj: LiveObject, view: Fields, pods: tuple[PodState, ...] | None, *, paused: bool
) -> ResourceState | None:
    """What holds before any replica counting for a scaled workload: a paused release,
    or a spec the controller has not seen yet (its status describes the old one)."""
    if paused:
        return _paused_replicas(obj, view, pods)
    unobserved = unobserved_generation(view, required=True)
    if unobserved:
        return resource_state(obj, State.PENDING, Reason.GENERATION_NOT_OBSERVED, unobserved, pods)
    return None


def deployment_health(obj: LiveObject, context: HealthContext) -> ResourceState:
    view = fields(obj)
    pods = _long_running(_own_pods(obj, context))
    settled = _paused_or_unobserved(obj, view, pods, paused=context.paused)
    if settled is not None:
        return settled
    desired = view.integer("spec.replicas", 1)
    updated = view.integer("status.updatedReplicas")
    replicas = view.integer("status.replicas")
    available = view.integer("status.availableReplicas")
    progressing = view.condition("Progressing")
    if progressing is not None and progressing.text("reason") == "ProgressDeadlineExceeded":
        deadline = progressing.text("message").rstrip(".")
        _, why = _not_ready_reason(obj, view, pods, deadline, context)
        return resource_state(obj, State.FAILED, "ProgressDeadlineExceeded", why, pods)
    if updated < desired:
        shortfall = f"{updated} of {desired} replicas updated"
    elif replicas > updated:
        shortfall = f"{replicas - updated} old replicas pending termination"
    elif available < updated:
        shortfall = f"{available} of {updated} updated replicas available"
    else:
        return resource_state(
            obj, State.READY, message=f"{available}/{desired} available", pods=pods
        )
    if view.flag("spec.paused"):
        message = f"rollout paused (spec.paused); {shortfall}"
        return resource_state(obj, State.PENDING, Reason.DEPLOYMENT_PAUSED, message, pods)
    return resource_state(
        obj, State.PENDING, *_not_ready_reason(obj, view, pods, shortfall, context), pods
    )


def replica_set_health(obj: LiveObject, context: HealthContext) -> ResourceState:
    view = fields(obj)
    pods = _long_running(_own_pods(obj, context))
    settled = _paused_or_unobserved(obj, view, pods, paused=context.paused)
    if settled is not None:
        return settled
    desired = view.integer("spec.replicas", 1)
    replicas = view.integer("status.replicas")
    available = view.integer("status.availableReplicas")
    if available < desired:
        shortfall = f"{available} of {desired} replicas available"
    elif replicas > desired:
        shortfall = f"{replicas - desired} extra replicas pending termination"
    else:
        return resource_state(
            obj, State.READY, message=f"{available}/{desired} available", pods=pods
        )
    return resource_state(
        obj, State.PENDING, *_not_ready_reason(obj, view, pods, shortfall, context), pods
    )


def stateful_set_health(obj: LiveObject, context: HealthContext) -> ResourceState:
    view = fields(obj)
    own = _own_pods(obj, context)
    pods = _long_running(own)
    settled = _paused_or_unobserved(obj, view, pods, paused=context.paused)
    if settled is not None:
        return settled
    desired = view.integer("spec.replicas", 1)
    ready = view.integer("status.readyReplicas")
    replicas = view.integer("status.replicas")
    if ready < desired:
        shortfall = f"{ready} of {desired} replicas ready"
        return resource_state(
            obj, State.PENDING, *_not_ready_reason(obj, view, pods, shortfall, context), pods
        )
    if replicas > desired:
        shortfall = f"{replicas - desired} extra replicas pending termination"
        return resource_state(
            obj, State.PENDING, *_not_ready_reason(obj, view, pods, shortfall, context), pods
        )
    if view.text("spec.updateStrategy.type", "RollingUpdate") == "OnDelete":
        message = f"{ready}/{desired} ready; OnDelete: pods take a new revision when deleted"
        return resource_state(obj, State.READY, message=message, pods=pods)
    return _stateful_set_rollout(obj, view, own, pods, desired=desired, ready=ready)


def _stateful_set_rollout(
    obj: LiveObject,
    view: Fields,
    own: tuple[LiveObject, ...] | None,
    pods: tuple[PodState, ...] | None,
    *,
    desired: int,
    ready: int,
) -> ResourceState:
    """A rolling update is done when every ordinal at or above the partition runs the update
    revision; ordinals below it keep the current revision on purpose (a canary, a staged
    roll), so the two revisions may differ for good."""
    partition = view.integer("spec.updateStrategy.rollingUpdate.partition")
    updated = view.integer("status.updatedReplicas")
    update_revision = view.text("status.updateRevision")
    current_revision = view.text("status.currentRevision")
    to_update = max(desired - partition, 0)
    if updated < to_update:
        message = f"{updated} of {to_update} replicas updated to revision {update_revision}"
        if partition:
            message += f" (ordinals >= {partition}; partition {partition})"
        outdated = _outdated_pod(own, partition=partition, revision=update_revision)
        if outdated:
            message += f"; pod {outdated} is not at the update revision yet"
        return resource_state(obj, State.PENDING, Reason.STATEFUL_SET_UPDATING, message, pods)
    if partition == 0 and current_revision != update_revision:
        message = f"revision {update_revision} not yet current (current {current_revision})"
        return resource_state(obj, State.PENDING, Reason.STATEFUL_SET_UPDATING, message, pods)
    message = f"{ready}/{desired} ready at revision {update_revision}"
    if partition and current_revision != update_revision:
        message += f" from ordinal {partition}; below it {current_revision}"
    return resource_state(obj, State.READY, message=message, pods=pods)


def _outdated_pod(own: tuple[LiveObject, ...] | None, *, partition: int, revision: str) -> str:
    """The pod the controller updates next: the highest ordinal at or above the partition
    that still runs an older revision (StatefulSets roll from the highest ordinal down)."""
    outdated = []
    for pod in own or ():
        view = fields(pod, listed_as="Pod")
        name = view.text("metadata.name")
        ordinal = _ordinal(name)
        labels = view.strings("metadata.labels")
        if ordinal is not None and ordinal >= partition and labels.get(_REVISION_LABEL) != revision:
            outdated.append((ordinal, name))
    return max(outdated)[1] if outdated else ""


def _ordinal(pod_name: str) -> int | None:
    _, _, suffix = pod_name.rpartition("-")
    return int(suffix) if suffix.isdigit() else None


def daemon_set_health(obj: LiveObject, context: HealthContext) -> ResourceState:
    view = fields(obj)
    pods = _long_running(_own_pods(obj, context))
    scheduled = view.integer("status.currentNumberScheduled")
    if context.paused:
        # Pause gives a DaemonSet a node selector no node matches, so nothing is scheduled.
        if view.integer("status.desiredNumberScheduled") == 0 and scheduled == 0:
            return resource_state(
                obj, State.PAUSED, message="no node selected while paused", pods=pods
            )
        message = f"{scheduled} pods still scheduled"
        return resource_state(obj, State.PENDING, Reason.PAUSING, message, pods)
    unobserved = unobserved_generation(view, required=True)
    if unobserved:
        return resource_state(obj, State.PENDING, Reason.GENERATION_NOT_OBSERVED, unobserved, pods)
    desired = view.integer("status.desiredNumberScheduled")
    updated = view.integer("status.updatedNumberScheduled")
    available = view.integer("status.numberAvailable")
    on_delete = view.text("spec.updateStrategy.type") == "OnDelete"
    if updated < desired and not on_delete:
        shortfall = f"{updated} of {desired} pods updated"
    elif available < desired:
        shortfall = f"{available} of {desired} pods available"
    else:
        return resource_state(
            obj, State.READY, message=f"{available}/{desired} available", pods=pods
        )
    return resource_state(
        obj, State.PENDING, *_not_ready_reason(obj, view, pods, shortfall, context), pods
    )


def job_health(obj: LiveObject, context: HealthContext) -> ResourceState:
    view = fields(obj)
    own = _own_pods(obj, context)
    pods = None if own is None else tuple(pod_state(pod) for pod in own)
    completions = view.integer("spec.completions", 1)
    succeeded = view.integer("status.succeeded")
    failed = view.integer("status.failed")
    active = view.integer("status.active")
    # FailureTarget comes first on Kubernetes >= 1.31: the Job has failed and is only
    # waiting for its pods to stop before it says Failed.
    for failure in ("Failed", "FailureTarget"):
        condition = view.condition(failure)
        if condition is not None and condition.text("status") == "True":
            message = condition.text("message") or f"{failed} pods failed"
            blamed = first_unready(pods or (), runs_to_completion=True)
            if blamed is not None:
                message += f"; {pod_blame(blamed)[1]}"
            reason = condition.text("reason") or Reason.JOB_FAILED
            return resource_state(obj, State.FAILED, reason, message, pods)
    counts = f"{succeeded}/{completions} succeeded"
    complete = view.condition("Complete")
    if complete is not None and complete.text("status") == "True":
        return resource_state(obj, State.READY, message=counts, pods=pods)
    if view.flag("spec.suspend"):
        return resource_state(
            obj, State.READY, Reason.JOB_SUSPENDED, f"spec.suspend; {counts}", pods
        )
    blamed = first_unready(pods or (), runs_to_completion=True)
    if blamed is not None:
        reason, message = pod_blame(blamed)
        return resource_state(
            obj, State.PENDING, reason, f"{active} active, {counts}; {message}", pods
        )
    if active:
        return resource_state(
            obj, State.PENDING, Reason.JOB_ACTIVE, f"{active} active, {counts}", pods
        )
    if not view.present("status.startTime"):
        return resource_state(obj, State.PENDING, Reason.JOB_NOT_STARTED, counts, pods)
    if failed:
        message = f"{failed} failed, {counts}; the Job controller retries after a back-off"
        return resource_state(obj, State.PENDING, Reason.JOB_BACKOFF, message, pods)
    return resource_state(obj, State.PENDING, Reason.JOB_ACTIVE, f"0 active, {counts}", pods)


def cron_job_health(obj: LiveObject, context: HealthContext) -> ResourceState:
    """Suspended or scheduling; when the caller listed the namespace's Jobs, the newest Job
    of this CronJob gives its result (a failed last run is a failed CronJob until the next
    run succeeds)."""
    view = fields(obj)
    suspended = view.flag("spec.suspend")
    if context.paused:
        if suspended:
            return resource_state(obj, State.PAUSED, message="suspended while paused")
        return resource_state(obj, State.PENDING, Reason.PAUSING, "spec.suspend is not true yet")
    if suspended:
        return resource_state(obj, State.READY, Reason.CRON_JOB_SUSPENDED, "spec.suspend")
    last = _newest_job(view, context.jobs)
    if last is None:
        return resource_state(obj, State.READY, message=f"schedule {view.text('spec.schedule')!r}")
    _, _, job_name = identity(last, listed_as="Job")
    result = job_health({"apiVersion": "batch/v1", "kind": "Job", **last}, context)
    if result.state is State.FAILED:
        message = f"Job {job_name}: {result.reason}"
        if result.message:
            message += f": {result.message}"
        return resource_state(obj, State.FAILED, Reason.LAST_JOB_FAILED, message)
    summary = f"last Job {job_name} is {result.state}"
    if result.state is not State.READY:
        summary += f": {result.reason}"
    return resource_state(obj, State.READY, message=summary)


def _newest_job(cron_job: Fields, jobs: tuple[LiveObject, ...]) -> LiveObject | None:
    uid = cron_job.text("metadata.uid")
    name = cron_job.text("metadata.name")
    namespace = cron_job.text("metadata.namespace")
    own = []
    for job in jobs:
        view = fields(job, listed_as="Job")
        if view.text("metadata.namespace") != namespace:
            continue
        for owner in view.items("metadata.ownerReferences"):
            if owner.text("kind") == "CronJob" and (
                owner.text("uid") == uid if uid else owner.text("name") == name
            ):
                created = view.text("metadata.creationTimestamp")
                own.append((created, view.text("metadata.name"), job))
                break
    if not own:
        return None
    # RFC 3339 times in UTC sort as text; the name breaks ties between Jobs of one second.
    return max(own, key=lambda entry: (entry[0], entry[1]))[2]


def _paused_replicas(
    obj: LiveObject, view: Fields, pods: tuple[PodState, ...] | None
) -> ResourceState:
    """Pause scales to zero and remembers the size; Paused once no replica is left."""
    spec_replicas = view.integer("spec.replicas", 1)
    replicas = view.integer("status.replicas")
    if spec_replicas:
        message = f"spec.replicas is {spec_replicas}, not 0 yet"
        return resource_state(obj, State.PENDING, Reason.PAUSING, message, pods)
    if replicas:
        message = f"{replicas} replicas still running"
        return resource_state(obj, State.PENDING, Reason.PAUSING, message, pods)
    remembered = view.strings("metadata.annotations").get(PAUSED_REPLICAS_ANNOTATION)
    message = f"scaled to 0; resume restores {remembered}" if remembered else "scaled to 0"
    return resource_state(obj, State.PAUSED, message=message, pods=pods)


def _not_ready_reason(
    obj: LiveObject,
    view: Fields,
    pods: tuple[PodState, ...] | None,
    shortfall: str,
    context: HealthContext,
) -> tuple[str, str]:
    """(reason, message) of a long-running workload short of its replicas: the controller's
    own failure to create pods (a condition, or its `FailedCreate` Event when there are no
    pods), else the most stuck pod, else WALM's `<Kind>Updating`."""
    failure = view.condition("ReplicaFailure")
    if failure is not None and failure.text("status") == "True":
        return failure.text("reason") or "ReplicaFailure", f"{shortfall}; {failure.text('message')}"
    kind, _, _ = identity(obj)
    updating = WORKLOAD_UPDATING[kind]
    if pods is None:
        return updating, shortfall
    if not pods:
        failed = context.creation_failures.get(view.text("metadata.uid"))
        if failed:
            return FAILED_CREATE, f"{shortfall}; no pod created: {failed}"
        return Reason.POD_NOT_CREATED, f"{shortfall}; no pod created"
    blamed = first_unready(pods, runs_to_completion=False)
    if blamed is None:
        return updating, shortfall
    reason, message = pod_blame(blamed)
    return reason, f"{shortfall}; {message}"


def _own_pods(obj: LiveObject, context: HealthContext) -> tuple[LiveObject, ...] | None:
    if context.pods is None:
        return None
    return select_pods(obj, context.pods, replica_sets=context.replica_sets)


def _long_running(own: tuple[LiveObject, ...] | None) -> tuple[PodState, ...] | None:
    """The pods a long-running workload has now; finished ones (evicted, completed) are
    history its controller has replaced, so WALM left them out as well."""
    if own is None:
        return None
    states = (pod_state(pod) for pod in own)
    return tuple(s for s in states if s.state not in {PodStatus.SUCCEEDED, PodStatus.FAILED})
