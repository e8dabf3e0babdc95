"""Workload health: replica counts against the spec, observed generations, partitioned
rollouts, progress deadlines, Job results, CronJobs, pause, and pods naming the cause."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from reconciler.health import HealthContext, State, resource_health


def load(text: str) -> Any:
    return yaml.safe_load(text)


def changed(obj: Any, **paths: Any) -> Any:
    """A copy with dotted paths (`status__readyReplicas`) set; None removes the field."""
    result = copy.deepcopy(obj)
    for dotted, value in paths.items():
        *parents, last = dotted.split("__")
        node = result
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return result


def pod(name: str, owner_uid: str, *, status: str, labels: dict[str, str] | None = None) -> Any:
    body = load(status)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "labels": labels or {},
            "ownerReferences": [{"kind": "X", "name": "x", "uid": owner_uid, "controller": True}],
        },
        "spec": {"nodeName": "node-1", "containers": [{"name": "app"}]},
        "status": body,
    }


READY_POD = """
phase: Running
conditions: [{type: Ready, status: "True"}]
containerStatuses: [{name: app, ready: true, restartCount: 0, state: {running: {}}}]
"""
UNSCHEDULABLE_POD = """
phase: Pending
conditions:
- {type: PodScheduled, status: "False", reason: Unschedulable,
   message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."}
"""
PLAIN_PENDING_POD = "phase: Pending"
IMAGE_PULL_POD = """
phase: Pending
containerStatuses:
- {name: app, ready: false, restartCount: 0,
   state: {waiting: {reason: ImagePullBackOff, message: 'Back-off pulling image "web:9"'}}}
"""

DEPLOYMENT = load("""
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: dep-web, generation: 4}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  progressDeadlineSeconds: 600
status:
  observedGeneration: 4
  replicas: 3
  updatedReplicas: 3
  readyReplicas: 3
  availableReplicas: 3
  conditions:
  - {type: Available, status: "True", reason: MinimumReplicasAvailable}
  - {type: Progressing, status: "True", reason: NewReplicaSetAvailable,
     message: ReplicaSet "web-5d8f" has successfully progressed.}
""")
WEB_REPLICA_SET = load("""
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f
  namespace: shop
  uid: rs-web
  ownerReferences: [{kind: Deployment, name: web, uid: dep-web, controller: true}]
""")


def with_pods(*pods: Any, **settings: Any) -> HealthContext:
    return HealthContext(pods=pods, replica_sets=(WEB_REPLICA_SET,), **settings)


def test_a_deployment_with_all_replicas_updated_and_available_is_ready() -> None:
    health = resource_health(DEPLOYMENT)
    assert (health.state, health.reason, health.message) == (State.READY, "", "3/3 available")
    assert health.pods is None


def test_a_deployment_whose_new_generation_is_not_observed_is_pending() -> None:
    health = resource_health(changed(DEPLOYMENT, metadata__generation=5))
    assert (health.state, health.reason) == (State.PENDING, "GenerationNotObserved")
    assert health.message == "generation 5 not observed yet (observed 4)"


def test_a_deployment_the_controller_never_saw_is_pending() -> None:
    health = resource_health(changed(DEPLOYMENT, status=None))
    assert (health.state, health.reason) == (State.PENDING, "GenerationNotObserved")
    assert health.message == "the controller has not observed it yet"


def test_an_unschedulable_pod_makes_its_deployment_pending_and_is_named() -> None:
    deployment = changed(DEPLOYMENT, status__updatedReplicas=3, status__availableReplicas=2)
    pods = (
        pod("web-5d8f-aaaaa", "rs-web", status=READY_POD),
        pod("web-5d8f-bbbbb", "rs-web", status=READY_POD),
        pod("web-5d8f-zzzzz", "rs-web", status=UNSCHEDULABLE_POD),
    )
    health = resource_health(deployment, context=with_pods(*pods))
    assert (health.state, health.reason) == (State.PENDING, "Unschedulable")
    assert health.message == (
        "2 of 3 updated replicas available; pod web-5d8f-zzzzz is Pending: "
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
    )
    assert [p.name for p in health.pods or ()] == [
        "web-5d8f-aaaaa",
        "web-5d8f-bbbbb",
        "web-5d8f-zzzzz",
    ]


def test_the_most_stuck_pod_is_named_before_one_that_is_merely_starting() -> None:
    deployment = changed(DEPLOYMENT, status__availableReplicas=1)
    pods = (
        pod(
            "web-5d8f-a",
            "rs-web",
            status="phase: Running\nconditions: [{type: Ready, status: 'False'}]",
        ),
        pod("web-5d8f-b", "rs-web", status=IMAGE_PULL_POD),
        pod("web-5d8f-c", "rs-web", status=READY_POD),
    )
    health = resource_health(deployment, context=with_pods(*pods))
    assert health.reason == "ImagePullBackOff"
    assert "pod web-5d8f-b is Pending" in health.message


def test_a_pending_pod_without_a_reason_gives_walms_pod_pending() -> None:
    deployment = changed(DEPLOYMENT, status__availableReplicas=2)
    pods = (pod("web-5d8f-a", "rs-web", status=PLAIN_PENDING_POD),)
    health = resource_health(deployment, context=with_pods(*pods))
    assert (health.reason, health.message) == (
        "PodPending",
        "2 of 3 updated replicas available; pod web-5d8f-a is Pending",
    )


def test_a_deployment_with_no_pods_at_all_says_none_was_created() -> None:
    deployment = changed(DEPLOYMENT, status__availableReplicas=0, status__updatedReplicas=0)
    health = resource_health(deployment, context=with_pods())
    assert (health.reason, health.message) == (
        "PodNotCreated",
        "0 of 3 replicas updated; no pod created",
    )
    assert health.pods == ()


def test_without_listed_pods_a_lagging_deployment_is_walms_deployment_updating() -> None:
    health = resource_health(changed(DEPLOYMENT, status__replicas=4))
    assert (health.state, health.reason) == (State.PENDING, "DeploymentUpdating")
    assert health.message == "1 old replicas pending termination"


def test_a_deployment_past_its_progress_deadline_has_failed() -> None:
    deployment = changed(
        DEPLOYMENT,
        status__availableReplicas=0,
        status__conditions=[
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": 'ReplicaSet "web-5d8f" has timed out progressing.',
            },
        ],
    )
    pods = (pod("web-5d8f-a", "rs-web", status=IMAGE_PULL_POD),)
    health = resource_health(deployment, context=with_pods(*pods))
    assert (health.state, health.reason) == (State.FAILED, "ProgressDeadlineExceeded")
    assert health.message == (
        'ReplicaSet "web-5d8f" has timed out progressing; pod web-5d8f-a is Pending: '
        'container app: Back-off pulling image "web:9"'
    )


def test_a_deployment_that_cannot_create_pods_reports_the_replica_failure() -> None:
    deployment = changed(
        DEPLOYMENT,
        status__availableReplicas=0,
        status__conditions=[
            {
                "type": "ReplicaFailure",
                "status": "True",
                "reason": "FailedCreate",
                "message": 'pods "web-5d8f-" is forbidden: exceeded quota: compute',
            }
        ],
    )
    health = resource_health(deployment, context=with_pods())
    assert (health.state, health.reason) == (State.PENDING, "FailedCreate")
    assert "exceeded quota" in health.message


def test_a_rollout_paused_with_spec_paused_says_so_and_a_complete_one_is_ready() -> None:
    lagging = changed(DEPLOYMENT, spec__paused=True, status__updatedReplicas=1)
    health = resource_health(lagging)
    assert (health.state, health.reason) == (State.PENDING, "DeploymentPaused")
    assert health.message == "rollout paused (spec.paused); 1 of 3 replicas updated"
    assert resource_health(changed(DEPLOYMENT, spec__paused=True)).state is State.READY


def test_a_deployment_scaled_to_zero_by_pause_is_paused_and_says_what_resume_restores() -> None:
    paused = changed(
        DEPLOYMENT,
        spec__replicas=0,
        metadata__annotations={"harmonia.dev/paused-replicas": "3"},
        status={"observedGeneration": 5, "replicas": 0},
    )
    health = resource_health(paused, context=HealthContext(paused=True))
    assert (health.state, health.message) == (State.PAUSED, "scaled to 0; resume restores 3")


@pytest.mark.parametrize(
    ("spec_replicas", "running", "message"),
    [(3, 3, "spec.replicas is 3, not 0 yet"), (0, 2, "2 replicas still running")],
)
def test_a_paused_deployment_still_scaling_down_is_pausing(
    spec_replicas: int, running: int, message: str
) -> None:
    obj = changed(DEPLOYMENT, spec__replicas=spec_replicas, status__replicas=running)
    health = resource_health(obj, context=HealthContext(paused=True))
    assert (health.state, health.reason, health.message) == (State.PENDING, "Pausing", message)


def test_a_deployment_with_no_replicas_wanted_is_ready_once_none_is_left() -> None:
    obj = changed(
        DEPLOYMENT,
        spec__replicas=0,
        status={"observedGeneration": 4, "replicas": 0, "updatedReplicas": 0},
    )
    assert resource_health(obj).state is State.READY


def test_the_pods_of_a_deployment_leave_out_evicted_ones() -> None:
    evicted = pod("web-5d8f-old", "rs-web", status="{phase: Failed, reason: Evicted}")
    health = resource_health(DEPLOYMENT, context=with_pods(evicted))
    assert health.pods == ()


STATEFUL_SET = load("""
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: zookeeper, namespace: streaming, uid: sts-zk, generation: 2}
spec:
  replicas: 3
  serviceName: zookeeper
  selector: {matchLabels: {app: zookeeper}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 0}}
status:
  observedGeneration: 2
  replicas: 3
  readyReplicas: 3
  currentReplicas: 3
  updatedReplicas: 3
  availableReplicas: 3
  currentRevision: zookeeper-7d4b9c
  updateRevision: zookeeper-7d4b9c
""")


def zk_pod(ordinal: int, revision: str) -> Any:
    body = pod(
        f"zookeeper-{ordinal}",
        "sts-zk",
        status=READY_POD,
        labels={"app": "zookeeper", "controller-revision-hash": revision},
    )
    body["metadata"]["namespace"] = "streaming"
    return body


def test_a_statefulset_with_every_replica_ready_at_one_revision_is_ready() -> None:
    health = resource_health(STATEFUL_SET)
    assert (health.state, health.message) == (State.READY, "3/3 ready at revision zookeeper-7d4b9c")


def test_a_statefulset_short_of_ready_replicas_is_walms_pod_pending() -> None:
    obj = changed(STATEFUL_SET, status__readyReplicas=2)
    pods = (
        zk_pod(0, "zookeeper-7d4b9c"),
        zk_pod(1, "zookeeper-7d4b9c"),
        {**zk_pod(2, "zookeeper-7d4b9c"), "status": {"phase": "Pending"}},
    )
    health = resource_health(obj, context=HealthContext(pods=pods))
    assert health.headline() == (
        "StatefulSet streaming/zookeeper is Pending: PodPending "
        "(2 of 3 replicas ready; pod zookeeper-2 is Pending)"
    )


def test_a_statefulset_rolling_to_a_new_revision_is_updating() -> None:
    obj = changed(
        STATEFUL_SET, status__updatedReplicas=1, status__updateRevision="zookeeper-9f00aa"
    )
    health = resource_health(obj)
    assert (health.state, health.reason) == (State.PENDING, "StatefulSetUpdating")
    assert health.message == "1 of 3 replicas updated to revision zookeeper-9f00aa"


def test_a_partitioned_rollout_is_ready_once_the_ordinals_above_the_partition_are_updated() -> None:
    obj = changed(
        STATEFUL_SET,
        spec__updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
        status__updatedReplicas=1,
        status__currentReplicas=2,
        status__updateRevision="zookeeper-9f00aa",
    )
    health = resource_health(obj)
    assert health.state is State.READY
    assert health.message == (
        "3/3 ready at revision zookeeper-9f00aa from ordinal 2; below it zookeeper-7d4b9c"
    )


def test_a_partitioned_rollout_short_of_its_ordinals_names_the_pod_to_update_next() -> None:
    obj = changed(
        STATEFUL_SET,
        spec__updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 1}},
        status__updatedReplicas=1,
        status__updateRevision="zookeeper-9f00aa",
    )
    pods = (
        zk_pod(0, "zookeeper-7d4b9c"),
        zk_pod(1, "zookeeper-7d4b9c"),
        zk_pod(2, "zookeeper-9f00aa"),
    )
    health = resource_health(obj, context=HealthContext(pods=pods))
    assert (health.state, health.reason) == (State.PENDING, "StatefulSetUpdating")
    assert health.message == (
        "1 of 2 replicas updated to revision zookeeper-9f00aa (ordinals >= 1; partition 1); "
        "pod zookeeper-1 is not at the update revision yet"
    )


def test_a_partition_at_or_above_the_replicas_holds_every_pod_back_and_is_ready() -> None:
    obj = changed(
        STATEFUL_SET,
        spec__updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 3}},
        status__updatedReplicas=0,
        status__updateRevision="zookeeper-9f00aa",
    )
    assert resource_health(obj).state is State.READY


def test_an_on_delete_statefulset_is_ready_with_pods_at_the_old_revision() -> None:
    obj = changed(
        STATEFUL_SET,
        spec__updateStrategy={"type": "OnDelete"},
        status__updatedReplicas=0,
        status__updateRevision="zookeeper-9f00aa",
    )
    assert resource_health(obj).state is State.READY


def test_a_statefulset_scaling_down_waits_for_the_extra_pods() -> None:
    obj = changed(STATEFUL_SET, spec__replicas=2)
    health = resource_health(obj)
    assert (health.reason, health.message) == (
        "StatefulSetUpdating",
        "1 extra replicas pending termination",
    )


def test_a_statefulset_whose_revision_is_not_current_yet_is_updating() -> None:
    obj = changed(STATEFUL_SET, status__currentRevision="zookeeper-0ld")
    assert resource_health(obj).reason == "StatefulSetUpdating"


def test_a_paused_statefulset_at_zero_is_paused() -> None:
    obj = changed(STATEFUL_SET, spec__replicas=0, status__replicas=0, status__readyReplicas=0)
    assert resource_health(obj, context=HealthContext(paused=True)).state is State.PAUSED


DAEMON_SET = load("""
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ops, generation: 1}
spec: {selector: {matchLabels: {app: agent}}, updateStrategy: {type: RollingUpdate}}
status:
  observedGeneration: 1
  desiredNumberScheduled: 3
  currentNumberScheduled: 3
  updatedNumberScheduled: 3
  numberAvailable: 3
  numberReady: 3
""")


@pytest.mark.parametrize(
    ("changes", "state", "reason", "message"),
    [
        ({}, State.READY, "", "3/3 available"),
        (
            {"status__updatedNumberScheduled": 1},
            State.PENDING,
            "DaemonSetUpdating",
            "1 of 3 pods updated",
        ),
        (
            {"status__numberAvailable": 2},
            State.PENDING,
            "DaemonSetUpdating",
            "2 of 3 pods available",
        ),
        (
            {"status__updatedNumberScheduled": 0, "spec__updateStrategy": {"type": "OnDelete"}},
            State.READY,
            "",
            "3/3 available",
        ),
        (
            {"status__observedGeneration": None},
            State.PENDING,
            "GenerationNotObserved",
            "the controller has not observed it yet",
        ),
    ],
)
def test_a_daemonset_is_ready_when_its_pods_are_updated_and_available(
    changes: dict[str, Any], state: State, reason: str, message: str
) -> None:
    health = resource_health(changed(DAEMON_SET, **changes))
    assert (health.state, health.reason, health.message) == (state, reason, message)


def test_a_paused_daemonset_is_paused_once_no_node_runs_it() -> None:
    paused = changed(DAEMON_SET, status__desiredNumberScheduled=0, status__currentNumberScheduled=0)
    assert resource_health(paused, context=HealthContext(paused=True)).state is State.PAUSED
    pausing = resource_health(DAEMON_SET, context=HealthContext(paused=True))
    assert (pausing.reason, pausing.message) == ("Pausing", "3 pods still scheduled")


REPLICA_SET = load("""
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: cache, namespace: shop, generation: 1}
spec: {replicas: 2, selector: {matchLabels: {app: cache}}}
status: {observedGeneration: 1, replicas: 2, readyReplicas: 2, availableReplicas: 2}
""")


def test_a_replicaset_is_ready_with_its_replicas_available_and_pending_without() -> None:
    assert resource_health(REPLICA_SET).state is State.READY
    short = resource_health(changed(REPLICA_SET, status__availableReplicas=1))
    assert (short.reason, short.message) == ("ReplicaSetUpdating", "1 of 2 replicas available")


JOB = load("""
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: shop, uid: job-migrate, generation: 1}
spec:
  completions: 1
  parallelism: 1
  backoffLimit: 2
  template: {spec: {containers: [{name: app}]}}
status:
  startTime: "2025-01-01T00:00:00Z"
  completionTime: "2025-01-01T00:00:09Z"
  succeeded: 1
  conditions:
  - {type: SuccessCriteriaMet, status: "True", reason: CompletionsReached}
  - {type: Complete, status: "True", reason: CompletionsReached}
""")
FAILED_JOB_POD = """
phase: Failed
containerStatuses:
- {name: app, ready: false, restartCount: 0, state: {terminated: {exitCode: 1, reason: Error}}}
"""


def test_a_completed_job_is_ready() -> None:
    health = resource_health(JOB)
    assert (health.state, health.message) == (State.READY, "1/1 succeeded")


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        ("Failed", "BackoffLimitExceeded"),
        ("Failed", "DeadlineExceeded"),
        ("FailureTarget", "PodFailurePolicy"),
        ("Failed", ""),
    ],
)
def test_a_failed_job_has_failed_with_the_job_controllers_reason(
    condition: str, reason: str
) -> None:
    job = changed(
        JOB,
        status={
            "startTime": "2025-01-01T00:00:00Z",
            "failed": 3,
            "conditions": [
                {"type": condition, "status": "True", "reason": reason, "message": "it broke"}
            ],
        },
    )
    health = resource_health(job)
    assert (health.state, health.reason) == (State.FAILED, reason or "JobFailed")
    assert health.message == "it broke"


def test_a_failed_job_names_a_failed_pod_and_its_exit() -> None:
    job = changed(
        JOB,
        status={
            "failed": 3,
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            ],
        },
    )
    pods = (pod("migrate-x7k2p", "job-migrate", status=FAILED_JOB_POD),)
    health = resource_health(job, context=HealthContext(pods=pods))
    assert health.headline() == (
        "Job shop/migrate is Failed: BackoffLimitExceeded (Job has reached the specified backoff "
        "limit; pod migrate-x7k2p is Failed: container app: exit code 1)"
    )


def test_a_running_job_is_walms_job_active() -> None:
    job = changed(JOB, status={"startTime": "2025-01-01T00:00:00Z", "active": 1})
    running = "phase: Running\nconditions: [{type: Ready, status: 'True'}]"
    pods = (pod("migrate-a", "job-migrate", status=running),)
    health = resource_health(job, context=HealthContext(pods=pods))
    assert (health.state, health.reason, health.message) == (
        State.PENDING,
        "JobActive",
        "1 active, 0/1 succeeded",
    )


def test_a_job_whose_pod_cannot_pull_its_image_says_so() -> None:
    job = changed(JOB, status={"startTime": "2025-01-01T00:00:00Z", "active": 1})
    pods = (pod("migrate-a", "job-migrate", status=IMAGE_PULL_POD),)
    health = resource_health(job, context=HealthContext(pods=pods))
    assert (health.state, health.reason) == (State.PENDING, "ImagePullBackOff")


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ({}, "JobNotStarted"),
        ({"startTime": "2025-01-01T00:00:00Z", "failed": 1}, "JobBackoff"),
        ({"startTime": "2025-01-01T00:00:00Z"}, "JobActive"),
    ],
)
def test_a_job_between_pods_says_where_it_is(status: dict[str, Any], reason: str) -> None:
    health = resource_health(changed(JOB, status=status))
    assert (health.state, health.reason) == (State.PENDING, reason)


def test_a_suspended_job_is_ready_as_its_chart_asked() -> None:
    health = resource_health(changed(JOB, spec__suspend=True, status={}))
    assert (health.state, health.reason) == (State.READY, "JobSuspended")


CRON_JOB = load("""
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop, uid: cron-report}
spec: {schedule: "*/5 * * * *", suspend: false, jobTemplate: {spec: {template: {spec: {}}}}}
status: {lastScheduleTime: "2025-01-01T00:10:00Z"}
""")


def cron_run(
    name: str, created: str, conditions: list[dict[str, str]], uid: str = "cron-report"
) -> Any:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "creationTimestamp": created,
            "ownerReferences": [
                {"kind": "CronJob", "name": "report", "uid": uid, "controller": True}
            ],
        },
        "status": {"startTime": created, "conditions": conditions},
    }


COMPLETE = [{"type": "Complete", "status": "True"}]
FAILED = [
    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "limit"}
]


def test_a_cron_job_with_no_run_yet_is_ready_and_shows_its_schedule() -> None:
    health = resource_health(CRON_JOB)
    assert (health.state, health.message) == (State.READY, "schedule '*/5 * * * *'")


def test_a_cron_job_takes_its_newest_jobs_result() -> None:
    jobs = (
        cron_run("report-100", "2025-01-01T00:05:00Z", FAILED),
        cron_run("report-105", "2025-01-01T00:10:00Z", COMPLETE),
        cron_run("other-999", "2025-01-01T00:20:00Z", FAILED, uid="cron-other"),
    )
    health = resource_health(CRON_JOB, context=HealthContext(jobs=jobs))
    assert (health.state, health.message) == (State.READY, "last Job report-105 is Ready")


def test_a_cron_job_whose_last_run_failed_has_failed() -> None:
    jobs = (
        cron_run("report-100", "2025-01-01T00:05:00Z", COMPLETE),
        cron_run("report-105", "2025-01-01T00:10:00Z", FAILED),
    )
    health = resource_health(CRON_JOB, context=HealthContext(jobs=jobs))
    assert health.headline() == (
        "CronJob shop/report is Failed: LastJobFailed (Job report-105: BackoffLimitExceeded: limit)"
    )


def test_a_cron_job_running_now_is_ready() -> None:
    jobs = (cron_run("report-105", "2025-01-01T00:10:00Z", []),)
    jobs[0]["status"]["active"] = 1
    health = resource_health(CRON_JOB, context=HealthContext(jobs=jobs))
    assert (health.state, health.message) == (
        State.READY,
        "last Job report-105 is Pending: JobActive",
    )


def test_a_suspended_cron_job_is_ready_unless_the_release_is_paused() -> None:
    suspended = changed(CRON_JOB, spec__suspend=True)
    assert resource_health(suspended).reason == "CronJobSuspended"
    assert resource_health(suspended, context=HealthContext(paused=True)).state is State.PAUSED
    pausing = resource_health(CRON_JOB, context=HealthContext(paused=True))
    assert (pausing.state, pausing.reason) == (State.PENDING, "Pausing")


def test_a_cron_jobs_jobs_from_a_list_response_need_no_kind() -> None:
    listed = cron_run("report-105", "2025-01-01T00:10:00Z", FAILED)
    del listed["kind"], listed["apiVersion"]
    health = resource_health(CRON_JOB, context=HealthContext(jobs=(listed,)))
    assert (health.state, health.reason) == (State.FAILED, "LastJobFailed")
