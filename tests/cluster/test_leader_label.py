"""The leader's pod labelled `harmonia.dev/leader=true`, on the real dev cluster: two `harmonia
run` processes with leader election, each told by POD_NAME and POD_NAMESPACE about a real Pod
on a KWOK node (KWOK runs no container: the process runs here, the Pod object stands for
its pod). Only the leader's pod carries the label; a killed leader's label moves to the
standby's pod within the lease time (measured), a process restarted on the killed one's pod
removes the label left there, and SIGTERM takes the label off, so that a Service selecting
it, as deploy/'s webhooks Service does, lists the new leader alone.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from kubernetes import client

from reconciler.loop.leader_label import LEADER_LABEL
from tests.cluster.accounts import namespace_kubeconfig
from tests.cluster.test_run_loop import (
    eventually,
    identity_in,
    lease_holder,
    repository_files,
    running_with,
)
from tests.conftest import GitRepos, LiveCluster

LEASE_SECONDS = 6
TAKEOVER_BOUND = LEASE_SECONDS + 2 * LEASE_SECONDS * 2 / 15 + 5
"""The lease running out, two tries of the standby, and slack for a busy machine (as
test_run_loop's takeover test allows)."""
PODS = ("replica-a", "replica-b")
APP = {"app.kubernetes.io/name": "harmonia", "app.kubernetes.io/component": "reconciler"}


def create_pods(cluster: LiveCluster, namespace: str) -> None:
    """One bare Pod per replica, each on a KWOK node (which reports it Running and Ready)."""
    pods = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": APP},
            "spec": {
                "nodeName": f"kwok-node-{index}",
                "automountServiceAccountToken": False,
                "containers": [{"name": "harmonia", "image": "registry.example/harmonia:0.1.0"}],
            },
        }
        for index, name in enumerate(PODS)
    ]
    cluster.kubectl("-n", namespace, "create", "-f", "-", stdin=yaml.safe_dump_all(pods))


@contextmanager
def core_api(cluster: LiveCluster) -> Iterator[client.CoreV1Api]:
    api = client.CoreV1Api(cluster.api())
    try:
        yield api
    finally:
        api.api_client.close()


def labelled(api: client.CoreV1Api, namespace: str) -> set[str]:
    """The pods carrying the leader label."""
    found = api.list_namespaced_pod(namespace, label_selector=f"{LEADER_LABEL}=true")
    return {pod.metadata.name for pod in found.items}


def seconds_until(condition: Callable[[], bool], *, since: float, what: str) -> float:
    """Seconds from `since` (a monotonic time) until `condition` holds, polled every 0.1s."""
    while not condition():
        if time.monotonic() - since > 120:
            raise AssertionError(f"timed out after 120s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - since


@contextmanager
def replica(
    cluster: LiveCluster,
    repos: GitRepos,
    folder: Path,
    namespace: str,
    pod: str | None,
    run: str,
    *extra: str,
    kubeconfig: Path | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """`harmonia run` with leader election in `namespace`, told it runs in Pod `pod` (None:
    told nothing, as outside a pod); `run` names its log and cache (a restart gets fresh
    ones, as a restarted container does); `kubeconfig`: another user than the cluster's
    admin."""
    log = folder / f"{run}.log"
    args = ("--repo", str(repos.remote), "--ref", "main", "--interval", "10m", "--no-status")
    args += ("--lease-namespace", namespace, "--lease-duration", f"{LEASE_SECONDS}s")
    env = {} if pod is None else {"POD_NAME": pod, "POD_NAMESPACE": namespace}
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    with running_with(
        cluster, folder / f"cache-{run}", log, *args, "--listen", "off", *extra, env=env
    ) as process:
        yield process, log


def leading_pod(cluster: LiveCluster, namespace: str, logs: dict[str, Path]) -> str:
    """The pod whose process holds the Lease, by the identity each process logs."""
    eventually(lambda: all(identity_in(log) for log in logs.values()), what="ids", timeout=60)
    eventually(lambda: lease_holder(cluster, namespace), what="a leader", timeout=60)
    holder = lease_holder(cluster, namespace)
    (pod,) = [pod for pod, log in logs.items() if identity_in(log) == holder]
    return pod


def test_only_the_leaders_pod_is_labelled_and_a_killed_leaders_label_moves_to_the_standby(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(repository_files(namespace), "web")
    create_pods(cluster, namespace)
    with (
        core_api(cluster) as api,
        replica(cluster, git_repos, tmp_path, namespace, PODS[0], "a") as (first, first_log),
        replica(cluster, git_repos, tmp_path, namespace, PODS[1], "b") as (second, second_log),
    ):
        leader = leading_pod(cluster, namespace, {PODS[0]: first_log, PODS[1]: second_log})
        standby = PODS[1 - PODS.index(leader)]
        process = first if leader == PODS[0] else second
        eventually(lambda: labelled(api, namespace), what="a labelled pod", timeout=60)
        time.sleep(2)  # more renewals: the standby still labels nothing
        only_the_leader = labelled(api, namespace)

        process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        process.wait(timeout=30)
        took = seconds_until(
            lambda: standby in labelled(api, namespace), since=killed, what="the standby's label"
        )
        # Nothing of the killed process runs to take its label off: the pod object keeps it
        # (in a cluster the pod turns unready and leaves the Service until it restarts).
        both = labelled(api, namespace)

        with replica(cluster, git_repos, tmp_path, namespace, leader, "a-restarted") as (
            restarted,
            restarted_log,
        ):
            started = time.monotonic()
            cleared = seconds_until(
                lambda: labelled(api, namespace) == {standby},
                since=started,
                what="the restarted replica removing its stale label",
            )
            eventually(lambda: identity_in(restarted_log), what="standing by", timeout=60)
            time.sleep(2)
            after_restart = labelled(api, namespace)
            assert restarted.poll() is None
        restart_text = restarted_log.read_text()
    print(f"leader label handover after SIGKILL: {took:.1f}s (lease {LEASE_SECONDS}s)")
    print(f"stale label removed {cleared:.1f}s after the restart began")
    assert only_the_leader == {leader}
    assert took <= TAKEOVER_BOUND, f"the standby's pod labelled {took:.1f}s after the kill"
    assert both == {leader, standby}
    assert after_restart == {standby}
    assert f"Pod/{namespace}/{leader}: removed the stale {LEADER_LABEL} label" in restart_text
    assert "Traceback" not in restart_text


def webhook_service(namespace: str) -> str:
    """deploy/'s webhooks Service in miniature: the replicas' labels and the leader's."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "harmonia-webhooks", "namespace": namespace},
            "spec": {
                "selector": {**APP, LEADER_LABEL: "true"},
                "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
            },
        }
    )


def service_addresses(cluster: LiveCluster, namespace: str) -> set[str]:
    """The ready addresses the EndpointSlice controller lists for the webhooks Service."""
    found = cluster.kubectl(
        "-n", namespace, "get", "endpointslices", "-o", "json",
        "-l", "kubernetes.io/service-name=harmonia-webhooks",
    )  # fmt: skip
    return {
        address
        for endpoint_slice in json.loads(found.stdout)["items"]
        for endpoint in endpoint_slice.get("endpoints") or []
        if (endpoint.get("conditions") or {}).get("ready")
        for address in endpoint["addresses"]
    }


def pod_ip(api: client.CoreV1Api, namespace: str, name: str) -> str:
    """The address KWOK gives the pod once it runs it."""

    def address() -> str:
        return str(api.read_namespaced_pod(name, namespace).status.pod_ip or "")

    eventually(address, what=f"an address for Pod/{namespace}/{name}", timeout=60)
    return address()


def test_sigterm_takes_the_label_off_and_the_service_then_lists_the_new_leader_alone(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(repository_files(namespace), "web")
    create_pods(cluster, namespace)
    cluster.kubectl("apply", "-f", "-", stdin=webhook_service(namespace))
    with core_api(cluster) as api:
        ips = {name: pod_ip(api, namespace, name) for name in PODS}
        with (
            replica(cluster, git_repos, tmp_path, namespace, PODS[0], "a") as (first, first_log),
            replica(cluster, git_repos, tmp_path, namespace, PODS[1], "b") as (second, second_log),
        ):
            leader = leading_pod(cluster, namespace, {PODS[0]: first_log, PODS[1]: second_log})
            standby = PODS[1 - PODS.index(leader)]
            process, leader_log = (first, first_log) if leader == PODS[0] else (second, second_log)
            eventually(
                lambda: service_addresses(cluster, namespace) == {ips[leader]},
                what="the Service listing the leader",
                timeout=60,
            )

            process.send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            took = seconds_until(
                lambda: labelled(api, namespace) == {standby},
                since=stopped,
                what="the label on the standby's pod alone",
            )
            assert process.wait(timeout=60) == 0
            eventually(
                lambda: service_addresses(cluster, namespace) == {ips[standby]},
                what="the Service listing the new leader alone",
                timeout=60,
            )
            routed = time.monotonic() - stopped
        after_both_stopped = labelled(api, namespace)
    print(f"leader label handover after SIGTERM: {took:.1f}s; Service updated in {routed:.1f}s")
    assert f"Pod/{namespace}/{leader}: {LEADER_LABEL} label removed" in leader_log.read_text()
    assert took < TAKEOVER_BOUND - LEASE_SECONDS, f"{took:.1f}s: the Lease was not given up"
    assert after_both_stopped == set()


def test_a_leader_refused_the_label_says_so_and_leads_on(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    """An account that may hold the Lease and read pods but not patch them (an RBAC without
    the rule deploy/ adds): leading goes on, without the label."""
    git_repos.commit_and_push(repository_files(namespace), "web")
    create_pods(cluster, namespace)
    kubeconfig = namespace_kubeconfig(cluster, namespace, tmp_path, role="view")
    lease_rights = ("--verb=create,get,update,patch", "--resource=leases.coordination.k8s.io")
    cluster.kubectl("-n", namespace, "create", "role", "lease-holder", *lease_rights)
    account = f"--serviceaccount={namespace}:view-user"
    cluster.kubectl(
        "-n", namespace, "create", "rolebinding", "lease-holder", "--role=lease-holder", account
    )
    with (
        core_api(cluster) as api,
        replica(
            cluster, git_repos, tmp_path, namespace, PODS[0], "refused", kubeconfig=kubeconfig
        ) as (process, log),
    ):
        refused = f"Pod/{namespace}/{PODS[0]}: cannot set the {LEADER_LABEL} label"
        eventually(lambda: refused in log.read_text(), what="the refusal logged", timeout=60)
        # The pass fails (the account may not list what it needs): leading goes on, and the
        # label is tried again after it.
        eventually(lambda: "stopped: " in log.read_text(), what="a pass", timeout=60)
        time.sleep(1)
        assert lease_holder(cluster, namespace) == identity_in(log)
        assert process.poll() is None
        assert labelled(api, namespace) == set()
    text = log.read_text()
    assert "it leads on, but a Service selecting the label does not reach it" in text
    assert text.count("cannot set the") == 1, "the same refusal is a warning once"
    assert "cannot remove the" not in text, "a label known absent is not removed on the way out"
    assert "Traceback" not in text


def test_outside_a_pod_nothing_is_labelled_and_the_log_says_so_once(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(repository_files(namespace), "web")
    create_pods(cluster, namespace)
    secret_file = tmp_path / "webhook-secret"
    secret_file.write_text("a-webhook-secret\n")
    webhooks = ("--webhook-secret-file", str(secret_file))
    with (
        core_api(cluster) as api,
        replica(cluster, git_repos, tmp_path, namespace, None, "cli", *webhooks) as (_, log),
    ):
        eventually(lambda: "pass finished" in log.read_text(), what="a pass", timeout=60)
        assert lease_holder(cluster, namespace) == identity_in(log)
        assert labelled(api, namespace) == set()
    text = log.read_text()
    assert text.count("no POD_NAME and POD_NAMESPACE (not in a pod)") == 1
    assert "Traceback" not in text
