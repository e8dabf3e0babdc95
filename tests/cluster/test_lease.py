"""Leader election against the real API server: one leader among replicas, a quick hand-over
on release, a standby taking over from a killed leader once its lease runs out, and a leader
that notices when its Lease was taken from it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reconciler.kube.client import KubeClient
from reconciler.kube.connection import KubeTarget
from reconciler.loop.lease import LeaderElector, LeaseSettings, format_micro_time, holder_of
from reconciler.types import JsonObject
from tests.conftest import LiveCluster
from tests.waiting import wait_for

REPOSITORY = Path(__file__).resolve().parents[2]


def quick(namespace: str, identity: str) -> LeaseSettings:
    """Short timings, so that waiting for a lease to run out keeps the tests quick."""
    return LeaseSettings(
        namespace,
        identity=identity,
        duration=timedelta(seconds=4),
        renew_deadline=timedelta(seconds=3),
        retry_period=timedelta(seconds=1),
    )


MARGIN = 10.0
"""Seconds of slack on every bound: a busy machine is slow, not wrong."""

LEADER_IN_A_CHILD = """
import sys, threading, time
from pathlib import Path
from reconciler.kube.client import KubeClient
from reconciler.kube.connection import KubeTarget
from reconciler.loop.lease import LeaderElector
from tests.cluster.test_lease import quick
kubeconfig, namespace, identity = sys.argv[1:4]
client = KubeClient.connect(KubeTarget(Path(kubeconfig)))
if LeaderElector(client, quick(namespace, identity)).acquire(threading.Event()):
    print("leader", flush=True)
time.sleep(600)
"""
"""A leader in its own process, so that the test can kill it with SIGKILL."""


@contextmanager
def connected(cluster: LiveCluster) -> Iterator[KubeClient]:
    with KubeClient.connect(KubeTarget(cluster.kubeconfig)) as client:
        yield client


@contextmanager
def campaigning(*electors: LeaderElector) -> Iterator[None]:
    """Each elector acquires in its own thread; all are stopped and released on the way out."""
    stop = threading.Event()
    threads = [threading.Thread(target=elector.acquire, args=(stop,)) for elector in electors]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for elector in electors:
            elector.release()


def live_lease(cluster: LiveCluster, namespace: str) -> JsonObject:
    shown = cluster.kubectl("-n", namespace, "get", "lease", "harmonia-leader", "-o", "json")
    found: JsonObject = json.loads(shown.stdout)
    return found


def leaders(*electors: LeaderElector) -> list[str]:
    return [elector.identity for elector in electors if elector.is_leader]


def test_one_of_two_replicas_leads_and_the_other_takes_over_at_once_on_release(
    cluster: LiveCluster, namespace: str
) -> None:
    # The default lease duration: without the release, a hand-over would take at least that.
    def settings(identity: str) -> LeaseSettings:
        return LeaseSettings(namespace, identity=identity, retry_period=timedelta(seconds=1))

    with connected(cluster) as client_a, connected(cluster) as client_b:
        first = LeaderElector(client_a, settings("replica-a"))
        second = LeaderElector(client_b, settings("replica-b"))
        with campaigning(first, second):
            wait_for(lambda: leaders(first, second), until=bool, what="a leader", timeout=60)
            time.sleep(3)  # the standby retries a few times meanwhile
            (leader_identity,) = leaders(first, second)
            leader, standby = (first, second) if leader_identity == "replica-a" else (second, first)
            assert holder_of(live_lease(cluster, namespace)) == leader.identity

            released_at = time.monotonic()
            leader.release()
            wait_for(lambda: standby.is_leader, until=bool, what="a hand-over", timeout=60)
            handed_over_after = time.monotonic() - released_at

            assert handed_over_after < settings("any").duration.total_seconds()
            assert leaders(first, second) == [standby.identity]
            spec = live_lease(cluster, namespace)["spec"]
            assert isinstance(spec, dict)
            assert spec["holderIdentity"] == standby.identity
            assert spec["leaseTransitions"] == 1


def test_a_standby_takes_over_from_a_killed_leader_once_its_lease_runs_out(
    cluster: LiveCluster, namespace: str
) -> None:
    command = [sys.executable, "-c", LEADER_IN_A_CHILD, str(cluster.kubeconfig), namespace, "child"]
    with (
        subprocess.Popen(
            command, cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as child,
        connected(cluster) as client,
    ):
        try:
            assert child.stdout is not None
            wait_for(
                lambda: child.poll() is not None or holder_of(lease_or_none(cluster, namespace)),
                until=bool,
                what="the child to lead",
                timeout=60,
            )
            assert child.stdout.readline() == "leader\n", child.stderr and child.stderr.read()
            settings = quick(namespace, "standby")
            standby = LeaderElector(client, settings)
            with campaigning(standby):
                time.sleep(3)  # a few retries against a live claim
                assert not standby.is_leader

                child.kill()
                killed_at = time.monotonic()
                wait_for(lambda: standby.is_leader, until=bool, what="the standby to lead")
                took_over_after = time.monotonic() - killed_at

                bound = (settings.duration + 2 * settings.retry_period).total_seconds()
                assert took_over_after < bound + MARGIN
                assert holder_of(live_lease(cluster, namespace)) == "standby"
        finally:
            child.kill()


def lease_or_none(cluster: LiveCluster, namespace: str) -> JsonObject | None:
    shown = cluster.kubectl(
        "-n", namespace, "get", "lease", "harmonia-leader", "-o", "json", check=False
    )
    if shown.returncode != 0:
        return None
    found: JsonObject = json.loads(shown.stdout)
    return found


def test_a_leader_whose_lease_is_taken_by_force_calls_on_lost_once(
    cluster: LiveCluster, namespace: str
) -> None:
    lost_at: list[float] = []
    settings = quick(namespace, "replica-a")
    with connected(cluster) as client:
        elector = LeaderElector(client, settings, on_lost=lambda: lost_at.append(time.monotonic()))
        try:
            assert elector.acquire(threading.Event())
            intruder = {
                "spec": {
                    "holderIdentity": "intruder",
                    "leaseDurationSeconds": 600,
                    "renewTime": format_micro_time(datetime.now(UTC)),
                }
            }
            cluster.kubectl(
                "-n", namespace, "patch", "lease", "harmonia-leader", "--type=merge",
                "-p", json.dumps(intruder),
            )  # fmt: skip
            taken_at = time.monotonic()

            wait_for(lambda: len(lost_at), until=bool, what="on_lost", timeout=60)
            assert not elector.is_leader
            bound = (settings.renew_deadline + 2 * settings.retry_period).total_seconds()
            assert lost_at[0] - taken_at < bound + MARGIN
            time.sleep(3)  # renewing has stopped: no second call, no retaking
            assert len(lost_at) == 1
            assert holder_of(live_lease(cluster, namespace)) == "intruder"
        finally:
            elector.release()
    assert holder_of(live_lease(cluster, namespace)) == "intruder"


def test_of_two_replicas_started_with_the_same_identity_the_one_outrenewed_gives_up_leading(
    cluster: LiveCluster, namespace: str
) -> None:
    # The Lease cannot tell them apart (a renewal in one's name is the other's too): each
    # would lead, and under sharding apply the same share, for ever.
    lost: list[str] = []
    settings = quick(namespace, "harmonia-0")
    with connected(cluster) as client_a, connected(cluster) as client_b:
        first = LeaderElector(client_a, settings, on_lost=lambda: lost.append("first"))
        second = LeaderElector(client_b, settings, on_lost=lambda: lost.append("second"))
        try:
            assert first.acquire(threading.Event())
            assert second.acquire(threading.Event())
            bound = (settings.renew_deadline + 2 * settings.retry_period).total_seconds()
            wait_for(lambda: lost, until=bool, what="a twin to give up", timeout=bound + MARGIN)
            time.sleep(2 * settings.retry_period.total_seconds())
            assert lost == ["first"]
            assert leaders(first, second) == ["harmonia-0"] and second.is_leader
        finally:
            first.release()
            second.release()
