"""Sharding on a cluster at scale: `harmonia run --shards` replicas over N releases of one
ConfigMap each (issue 26's "3 replicas at N = 3000"): how long until every release is
applied by its owner, whether each pass of each replica took only its own releases, how
many move when a fourth joins, and then how long a SIGKILLed replica's releases take to
be applied by the others.

    python -m bench.shards_cluster --kubeconfig K --releases 3000

It uses the cluster `K` names (a namespace `shardbench-<random>` it creates and deletes)
and a bare Git repository in a temporary folder; writes
`bench/results/shards-cluster-<timestamp>.md` and `.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bench.results import write_run
from bench.run import RESULTS_DIR, _commit
from devcluster.build import ensure_binaries
from reconciler.apply.inventory import INVENTORY_LABEL, record_from_configmap
from reconciler.loop.shard_assignment import assignment, moved
from reconciler.types import ReleaseKey


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Bench:
    def __init__(self, kubeconfig: Path, size: int, lease: int, interval: int) -> None:
        self.kubeconfig, self.size, self.lease, self.interval = kubeconfig, size, lease, interval
        self.work = Path(tempfile.mkdtemp(prefix="harmonia-shards-cluster-"))
        self.namespace = f"shardbench-{uuid.uuid4().hex[:6]}"
        self.binaries = ensure_binaries()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.keys = [ReleaseKey(f"{self.namespace}/r{i:04d}") for i in range(size)]

    def kubectl(self, *args: str) -> str:
        return subprocess.run(
            [str(self.binaries["kubectl"]), "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        ).stdout

    def repository(self) -> Path:
        """A bare remote holding the N releases, each its own plain-manifest chart."""
        work, remote = self.work / "clone", self.work / "remote.git"
        subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
        (work / "harmonia.yaml").write_text("apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n")
        for key in self.keys:
            name = key.split("/")[1]
            chart = work / "charts" / name
            chart.mkdir(parents=True)
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
            (chart / "objects.yaml").write_text(yaml.safe_dump({**body, "data": {"n": name}}))
            release = work / "releases" / self.namespace / f"{name}.yaml"
            release.parent.mkdir(parents=True, exist_ok=True)
            release.write_text(
                yaml.safe_dump(
                    {
                        "apiVersion": "harmonia.dev/v1alpha1",
                        "kind": "Release",
                        "name": name,
                        "namespace": self.namespace,
                        "chartPath": f"charts/{name}",
                    }
                )
            )
        git = ["git", "-C", str(work), "-c", "user.name=bench", "-c", "user.email=b@b"]
        subprocess.run([*git, "add", "--all"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "releases"], check=True)
        subprocess.run([*git, "push", "-q", str(remote), "HEAD:main"], check=True)
        return remote

    def start(self, identity: str, remote: Path) -> None:
        environment = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "HARMONIA_HELM": str(self.binaries["helm"]),
            "HARMONIA_KUBECTL": str(self.binaries["kubectl"]),
            "HARMONIA_CACHE_DIR": str(self.work / f"cache-{identity}"),
        }
        arguments = [
            *("--repo", str(remote), "--ref", "main", "--shards", "--identity", identity),
            *("--lease-namespace", self.namespace, "--lease-duration", f"{self.lease}s"),
            *("--interval", f"{self.interval}s", "--jitter", "0", "--no-status"),
            *("--listen", f"127.0.0.1:{_free_port()}"),
        ]
        sink = self.log(identity).open("wb")
        self.processes[identity] = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "run", *arguments],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=environment,
        )

    def log(self, identity: str) -> Path:
        return self.work / f"{identity}.log"

    def applied_by(self) -> dict[ReleaseKey, str]:
        found = self.kubectl(
            "-n", self.namespace, "get", "configmaps", "-l", f"{INVENTORY_LABEL}=true", "-o", "json"
        )
        records = [record_from_configmap(item) for item in json.loads(found)["items"]]
        return {record.release: record.applied_by for record in records}

    def until(self, condition: Callable[[], bool], timeout: float, what: str) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if condition():
                return time.monotonic() - started
            time.sleep(1)
        raise TimeoutError(f"{what}: not within {timeout}s")

    def passes_since(self, identity: str, holders: set[str]) -> list[list[ReleaseKey]]:
        """The releases each pass of `identity` reported since it saw exactly `holders`."""
        text = self.log(identity).read_text()
        marker = f"shard set harmonia-leader: {len(holders)} live ({', '.join(sorted(holders))})"
        _, found, after = text.rpartition(marker)
        if not found:
            return []
        pattern = re.compile(rf"release ({re.escape(self.namespace)}/r\d+) [A-Z]")
        return [
            [ReleaseKey(key) for key in pattern.findall(chunk)]
            for chunk in after.split("pass started")[1:]
            if "pass finished" in chunk
        ]

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
        subprocess.run(
            [str(self.binaries["kubectl"]), "--kubeconfig", str(self.kubeconfig), "delete",
             "namespace", self.namespace, "--wait=false"],
            check=False, capture_output=True,
        )  # fmt: skip


def measure(bench: Bench) -> dict[str, Any]:
    result: dict[str, Any] = {"releases": bench.size, "lease_seconds": bench.lease}
    result["interval_seconds"] = bench.interval
    bench.kubectl("create", "namespace", bench.namespace)
    remote = bench.repository()
    three = {"shard-1", "shard-2", "shard-3"}
    started = time.monotonic()
    for identity in sorted(three):
        bench.start(identity, remote)
    owners = assignment(bench.keys, three)
    bench.until(lambda: bench.applied_by() == owners, 3600, "three replicas settled")
    result["settled_seconds"] = round(time.monotonic() - started, 1)
    # Two more passes of each, to check what each pass took.
    bench.until(
        lambda: all(len(bench.passes_since(h, three)) >= 2 for h in three), 900, "two passes"
    )
    exactly_once: dict[str, Any] = {}
    for identity in sorted(three):
        passes = bench.passes_since(identity, three)
        share = {key for key, owner in owners.items() if owner == identity}
        exactly_once[identity] = {
            "share": len(share),
            "passes": len(passes),
            "foreign_reported": sum(1 for p in passes for key in p if key not in share),
            "complete_passes": sum(1 for p in passes if set(p) == share),
        }
    result["three"] = exactly_once
    before = bench.applied_by()
    four = three | {"shard-4"}
    joined = time.monotonic()
    bench.start("shard-4", remote)
    bench.until(lambda: bench.applied_by() == assignment(bench.keys, four), 1800, "join")
    result["join_settled_seconds"] = round(time.monotonic() - joined, 1)
    after = bench.applied_by()
    changed = moved(before, after)
    result["join_moved"] = len(changed)
    result["join_moved_share"] = round(len(changed) / bench.size, 4)
    result["join_moved_all_to_newcomer"] = all(after[key] == "shard-4" for key in changed)
    bench.processes["shard-3"].send_signal(signal.SIGKILL)
    bench.processes["shard-3"].wait()
    rest = four - {"shard-3"}
    result["sigkill_moved"] = len(moved(after, assignment(bench.keys, rest)))
    result["sigkill_takeover_seconds"] = round(
        bench.until(lambda: bench.applied_by() == assignment(bench.keys, rest), 1800, "takeover"),
        1,
    )
    return result


def report(result: dict[str, Any]) -> str:
    lines = [
        f"# Sharding on a cluster, {result['time']}",
        "",
        f"Commit {result['commit']}; {result['cores']} cores; N = {result['releases']} "
        f"releases of one ConfigMap; lease {result['lease_seconds']}s, interval "
        f"{result['interval_seconds']}s.",
        "",
        f"- Three replicas started together: every record named its owner after "
        f"{result['settled_seconds']} s.",
    ]
    for identity, seen in result["three"].items():
        lines.append(
            f"- {identity}: share {seen['share']}, {seen['passes']} passes since the set of "
            f"three, {seen['complete_passes']} of them reporting exactly its share, "
            f"{seen['foreign_reported']} reports of another's release."
        )
    lines += [
        f"- shard-4 joined the three: {result['join_moved']} releases moved "
        f"({result['join_moved_share']:.1%}), all to it: {result['join_moved_all_to_newcomer']};"
        f" each applied by it {result['join_settled_seconds']} s after it started.",
        f"- then shard-3 SIGKILLed: its {result['sigkill_moved']} releases applied by the other "
        f"three {result['sigkill_takeover_seconds']} s after the kill.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shards_cluster")
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--releases", type=int, default=3000)
    parser.add_argument("--lease", type=int, default=15)
    parser.add_argument("--interval", type=int, default=20)
    args = parser.parse_args(argv)
    bench = Bench(args.kubeconfig, args.releases, args.lease, args.interval)
    commit = _commit()
    try:
        result = measure(bench)
    finally:
        bench.stop()
        print(f"logs in {bench.work}", file=sys.stderr)
    result |= {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "cores": os.cpu_count(),
    }
    write_run(
        RESULTS_DIR, f"shards-cluster-{datetime.now(UTC):%Y%m%dT%H%M%SZ}", result, report(result)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
