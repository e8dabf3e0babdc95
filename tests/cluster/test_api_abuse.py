"""The JSON API of a real `harmonia run` on loopback, asked as an attacker would: a flood of
costly and oversized requests never delays the Lease renewal nor the health probe, and the
API shows only this reconciler's releases.

Every request goes to 127.0.0.1; the flood is bounded in count and in time.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from reconciler.kube.client import KubeClient
from reconciler.kube.connection import KubeTarget
from reconciler.loop.api import MAX_REQUIREMENTS, MAX_SELECTOR_LENGTH
from reconciler.loop.lease import LeaseSettings, lease_reference, parse_micro_time
from reconciler.types import JsonObject, release_key
from tests.cluster.test_run_loop import (
    eventually,
    free_port,
    http_get,
    identity_in,
    repository_files,
    running_ready,
)
from tests.cluster.workbench import Workbench
from tests.conftest import GitRepos, LiveCluster

LEASE_DURATION = 9
"""Seconds: the reconciler renews every 1.2s and gives up leading after 6s without one."""
RENEW_DEADLINE = LEASE_DURATION * 2 / 3
FLOOD_CLIENTS = 12
FLOOD_REQUESTS = 12 * 500
FLOOD_SECONDS = 15.0
PROBE_TIMEOUT = 5.0
"""The kubelet's probe timeout in deploy/."""


def flood_paths(namespace: str) -> list[str]:
    """The costly requests: a selector of ~32 000 terms just under the standard library's
    64 KiB request line (seconds of parsing, holding the GIL, before the fix), the longest
    selector the API parses, a list of every release and one release's detail."""
    huge = ",".join(["a"] * 32_000)
    term_length = MAX_SELECTOR_LENGTH // MAX_REQUIREMENTS - 1
    longest = ",".join(
        f"k{index:02d}".ljust(term_length - 3, "x") + "!=v" for index in range(MAX_REQUIREMENTS)
    )
    return [
        f"/api/v1/releases?labelSelector={huge}",
        f"/api/v1/releases?labelSelector={urllib.parse.quote(longest)}",
        "/api/v1/releases",
        f"/api/v1/releases/{namespace}/web",
    ]


def status_of(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        with error:
            return error.code
    except OSError:
        return 0


def flood(port: int, paths: list[str]) -> Counter[int]:
    """`FLOOD_REQUESTS` requests from `FLOOD_CLIENTS` threads, stopping at `FLOOD_SECONDS`."""
    deadline = time.monotonic() + FLOOD_SECONDS

    def client(number: int) -> Counter[int]:
        seen: Counter[int] = Counter()
        for index in range(FLOOD_REQUESTS // FLOOD_CLIENTS):
            if time.monotonic() > deadline:
                break
            seen[status_of(port, paths[(number + index) % len(paths)])] += 1
        return seen

    with ThreadPoolExecutor(FLOOD_CLIENTS) as pool:
        return sum(pool.map(client, range(FLOOD_CLIENTS)), Counter())


@dataclass
class Watch:
    """What the watchers saw while the flood ran."""

    renewals: list[float] = field(default_factory=list)
    """Each distinct renewTime of the Lease, as seconds since the epoch."""
    holders: set[str] = field(default_factory=set)
    probe_seconds: list[float] = field(default_factory=list)

    def longest_gap(self) -> float:
        times = sorted(self.renewals)
        return max(later - earlier for earlier, later in pairwise(times))


@contextmanager
def watching(cluster: LiveCluster, namespace: str, port: int) -> Iterator[Watch]:
    """Reads the Lease every 0.2s and asks /healthz every 0.5s from two threads of this test."""
    seen = Watch()
    done = threading.Event()
    lease = lease_reference(LeaseSettings(namespace))

    def read_lease() -> None:
        with KubeClient.connect(KubeTarget(cluster.kubeconfig)) as client:
            while not done.wait(0.2):
                spec = (client.get(lease) or {}).get("spec") or {}
                assert isinstance(spec, dict)
                seen.holders.add(str(spec.get("holderIdentity")))
                stamp = parse_micro_time(str(spec["renewTime"])).timestamp()
                if stamp not in seen.renewals:
                    seen.renewals.append(stamp)

    def probe() -> None:
        while not done.wait(0.5):
            started = time.monotonic()
            assert status_of(port, "/healthz") == 200
            seen.probe_seconds.append(time.monotonic() - started)

    with ThreadPoolExecutor(2) as pool:
        watchers = [pool.submit(read_lease), pool.submit(probe)]
        try:
            yield seen
        finally:
            done.set()
        for watcher in watchers:
            watcher.result()


def test_a_flood_of_costly_api_requests_never_delays_the_lease_renewal_nor_the_probe(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(repository_files(namespace), "add web")
    port = free_port()
    log = tmp_path / "run.log"
    # Without watches each API request reads the cluster: the costly path the concurrency
    # limit (429) is for. With them, answers come from memory.
    args: tuple[str, ...] = ("--no-status", "--no-watch", "--lease-namespace", namespace)
    args += ("--lease-duration", f"{LEASE_DURATION}s")
    cache = tmp_path / "cache"
    with running_ready(cluster, git_repos, cache, log, port, *args, what="leading") as process:
        # A standby is Ready too: the release is known once the first pass has finished.
        eventually(lambda: "pass finished" in log.read_text(), what="first pass", timeout=120)
        with watching(cluster, namespace, port) as seen:
            statuses = flood(port, flood_paths(namespace))
        assert process.poll() is None, log.read_text()
        alive_after_flood = http_get(port, "/healthz")

    assert alive_after_flood == (200, "ok\n")
    assert "lost leadership" not in log.read_text()
    assert seen.holders == {identity_in(log)}
    assert len(seen.renewals) >= 3, statuses
    assert seen.longest_gap() < RENEW_DEADLINE, sorted(seen.renewals)
    assert max(seen.probe_seconds) < PROBE_TIMEOUT, seen.probe_seconds
    # Every request had an answer: refused as too large (414), too busy (429), or served.
    assert set(statuses) <= {200, 414, 429}, statuses
    assert statuses[414] and statuses[429] and statuses[200], statuses
    assert sum(statuses.values()) <= FLOOD_REQUESTS


def test_a_running_reconcilers_api_shows_its_own_releases_and_not_another_repositorys(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    other = Workbench(cluster, tmp_path / "other-repo", tmp_path / "other-cache")
    settings: JsonObject = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs"}}
    other.release(namespace, "theirs", chartPath=other.chart("theirs", [settings]))
    assert other.run().releases[release_key(namespace, "theirs")].ready is True
    git_repos.commit_and_push(repository_files(namespace), "add web")
    port = free_port()
    args = ("--no-leader-elect", "--no-status")
    with running_ready(cluster, git_repos, tmp_path / "cache", tmp_path / "run.log", port, *args):
        code, listed = http_get(port, f"/api/v1/releases?namespace={namespace}")
        assert code == 200, listed
        assert [item["name"] for item in json.loads(listed)["releases"]] == ["web"]
        code, detail = http_get(port, f"/api/v1/releases/{namespace}/theirs")
        assert code == 404, detail
    every_log, every = tmp_path / "all.log", ("--api-scope", "all")
    with running_ready(cluster, git_repos, tmp_path / "cache", every_log, port, *args, *every):
        code, listed = http_get(port, f"/api/v1/releases?namespace={namespace}")
        assert [item["name"] for item in json.loads(listed)["releases"]] == ["theirs", "web"]
