"""Sharding (`harmonia run --shards`, docs/sharding.md): how many releases move when a
replica joins or leaves, and the CPU one replica's pass spends on its share, from which
docs/benchmarks.md models the speed-up of several replicas.

    python -m bench.shards                       # movement at N = 3000 (pure, no cluster)
    python -m bench.shards --kubeconfig K --cpu-releases 100   # and the CPU model's inputs

Movement: rendezvous hashing (`reconciler/loop/shard_assignment.py`) of the generator's
keys over replica identities shaped like a Deployment's (`<pod name>_<tag>`), several draws
of identities. CPU: passes over chunks of a generated repository (each its own render
cache, as each replica has) on a real cluster, in this process, as `harmonia run`'s cycle
calls them; CPU time of this process and of the helm processes it reaped.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from bench.generate import synthetic_repository
from bench.results import write_run
from bench.run import RESULTS_DIR, _commit
from devcluster.build import ensure_binaries
from reconciler.apply.external_outputs import external_outputs_from
from reconciler.desired import Owns, Tools, compute_desired_state
from reconciler.kube.client import KubeClient
from reconciler.kube.connection import KubeTarget, probe
from reconciler.loop.shard_assignment import assignment, moved
from reconciler.outcome import FAILING
from reconciler.policy import Policy
from reconciler.reconcile import PassOptions, reconcile
from reconciler.render.environment import choose_versions
from reconciler.types import ReleaseKey


def identities(count: int, rng: random.Random) -> list[str]:
    """Replica identities as `harmonia run` makes them in a Deployment's pods."""

    def tag(length: int) -> str:
        return "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(length))

    template = tag(10)
    return [f"harmonia-{template}-{tag(5)}_{rng.getrandbits(32):08x}" for _ in range(count)]


def movement(size: int, draws: int, seed: int) -> dict[str, Any]:
    """Shares at three replicas, and the share that moves when a fourth joins or one leaves."""
    keys = [ReleaseKey(release.key) for release in synthetic_repository(size).releases]
    rng = random.Random(seed)
    joins, leaves, spreads, seconds = [], [], [], []
    for _ in range(draws):
        four = identities(4, rng)
        started = time.process_time()
        three_owners = assignment(keys, four[:3])
        seconds.append(time.process_time() - started)
        four_owners = assignment(keys, four)
        two_owners = assignment(keys, four[:2])
        shares = [sum(1 for o in three_owners.values() if o == h) / size for h in four[:3]]
        spreads.append((min(shares), max(shares)))
        join = moved(three_owners, four_owners)
        assert all(four_owners[key] == four[3] for key in join), "a join moved between old holders"
        joins.append(len(join) / size)
        leave = moved(three_owners, two_owners)
        assert all(three_owners[key] == four[2] for key in leave), "a leave moved others' keys"
        leaves.append(len(leave) / size)
    return {
        "releases": size,
        "draws": draws,
        "seed": seed,
        "join_3_to_4": _spread(joins),
        "leave_3_to_2": _spread(leaves),
        "smallest_share_at_3": min(low for low, _ in spreads),
        "largest_share_at_3": max(high for _, high in spreads),
        "assignment_cpu_seconds_at_3": _spread(seconds),
    }


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _cpu_now() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def write_repository(size: int, root: Path, prefix: str) -> tuple[list[ReleaseKey], list[str]]:
    """The generator's `size` releases at `root`, in namespaces `<prefix>-0..3` and without
    dependencies (so that any share's pass stands alone): their keys and namespaces."""
    own_namespaces = re.compile(r"\bbench-(\d)\b")
    keys: list[ReleaseKey] = []
    for path, text in synthetic_repository(size).files().items():
        target = root / own_namespaces.sub(rf"{prefix}-\1", path)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = own_namespaces.sub(rf"{prefix}-\1", text)
        if path.startswith("releases/"):
            body = json.loads(text)
            body["dependencies"] = {}
            text = json.dumps(body, indent=2) + "\n"
            keys.append(ReleaseKey(f"{body['namespace']}/{body['name']}"))
        target.write_text(text)
    if len(keys) != size:
        raise RuntimeError(f"expected {size} release files, found {len(keys)}")
    return sorted(keys), sorted({key.split("/")[0] for key in keys})


class Passes:
    """Passes over a repository on one cluster, each measured in CPU and wall time."""

    def __init__(self, client: KubeClient, kubeconfig: Path, root: Path, source: str) -> None:
        self.client, self.root, self.source = client, root, source
        self.cluster = probe(KubeTarget(kubeconfig))
        binaries = ensure_binaries()
        self.helm, self.kubectl = binaries["helm"], binaries["kubectl"]

    def measure(self, owns: Owns | None, cache: Path) -> dict[str, Any]:
        started, wall = _cpu_now(), time.monotonic()
        state = compute_desired_state(
            self.root,
            policy=Policy(allowed_namespaces=("*",)),
            versions_for=lambda config: choose_versions(config, cluster=self.cluster),
            tools=Tools(helm=self.helm, kubectl=self.kubectl, cache_dir=cache),
            external_outputs=external_outputs_from(self.client),
            owns=owns,
        )
        report = reconcile(
            self.client, state, PassOptions("rev-1", self.source, applied_by="bench")
        )
        failing = [k for k, r in report.releases.items() if r.outcome in FAILING]
        if state.has_errors or failing:
            raise RuntimeError(f"{len(failing)} releases failed: {failing[:3]}")
        outcomes = Counter(str(entry.outcome) for entry in report.releases.values())
        return {
            "releases": len(report.releases),
            "outcomes": dict(sorted(outcomes.items())),
            "cpu_seconds": round(_cpu_now() - started, 3),
            "wall_seconds": round(time.monotonic() - wall, 3),
        }


def _nothing(_key: ReleaseKey) -> bool:
    return False


def cpu_passes(kubeconfig: Path, size: int) -> dict[str, Any]:
    """Cold and no-op passes over chunks of 10/20/30/40 % of `size` generated releases,
    each chunk with a render cache of its own (as each replica has), then a pass taking
    none of them (what every replica pays whatever its share), then one replica's no-op
    pass over all of them."""
    prefix = f"shardbench-{uuid.uuid4().hex[:6]}"
    work = Path(tempfile.mkdtemp(prefix="harmonia-shardbench-"))
    keys, namespaces = write_repository(size, work / "repo", prefix)
    bounds = [0, size // 10, size * 3 // 10, size * 6 // 10, size]
    chunks = [frozenset(keys[low:high]) for low, high in pairwise(bounds)]
    results: dict[str, Any] = {"releases": size, "cold": [], "no_op": []}
    target = KubeTarget(kubeconfig)
    with KubeClient.connect(target, cache_dir=work / "discovery") as client:
        passes = Passes(client, kubeconfig, work / "repo", f"bench:{prefix}")
        for namespace in namespaces:
            client.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            )
        try:
            for phase in ("cold", "no_op"):
                for index, chunk in enumerate(chunks):
                    owns: Callable[[ReleaseKey], bool] = chunk.__contains__
                    measured = passes.measure(owns, work / f"cache-{index}")
                    results[phase].append(measured)
                    print(f"{phase} chunk {index}: {measured}", file=sys.stderr, flush=True)
            results["no_op_none_taken"] = passes.measure(_nothing, work / "cache-0")
            # One replica over everything: the first pass fills its render cache.
            passes.measure(None, work / "cache-all")
            results["no_op_all"] = passes.measure(None, work / "cache-all")
        finally:
            for namespace in namespaces:
                client.delete(
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
                )
    for phase in ("cold", "no_op"):
        points = [(p["releases"], p["cpu_seconds"]) for p in results[phase]]
        slope, intercept = _line(points)
        results[f"{phase}_fit"] = {
            "cpu_per_release": round(slope, 4),
            "cpu_per_pass": round(intercept, 3),
        }
    return results


def shared_cost(kubeconfig: Path, size: int) -> dict[str, Any]:
    """What a replica pays whatever its share, at `size` releases: a pass taking none of
    them (loading and validating every file, listing the records); nothing is applied.
    The second of two passes: the document cache warm, as in a long-running replica."""
    work = Path(tempfile.mkdtemp(prefix="harmonia-shardbench-"))
    write_repository(size, work / "repo", f"shardbench-{uuid.uuid4().hex[:6]}")
    target = KubeTarget(kubeconfig)
    with KubeClient.connect(target, cache_dir=work / "discovery") as client:
        passes = Passes(client, kubeconfig, work / "repo", "bench:shared-cost")
        first = passes.measure(_nothing, work / "cache")
        second = passes.measure(_nothing, work / "cache")
    return {"releases": size, "first": first, "warm": second}


def _line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares: slope and intercept of y over x."""
    xs, ys = [x for x, _ in points], [y for _, y in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x in xs)
    return slope, mean_y - slope * mean_x


def report(result: dict[str, Any]) -> str:
    move = result["movement"]
    lines = [
        f"# Sharding benchmark, {result['time']}",
        "",
        f"Commit {result['commit']}; {result['cores']} cores.",
        "",
        f"## Movement, N = {move['releases']} generated keys, {move['draws']} draws of identities",
        "",
        "| measure | median | min | max |",
        "| --- | --- | --- | --- |",
    ]
    for name, label in (
        ("join_3_to_4", "share moved when a 4th replica joins 3"),
        ("leave_3_to_2", "share moved when 1 of 3 leaves"),
        ("assignment_cpu_seconds_at_3", "CPU s to assign all keys over 3"),
    ):
        spread = move[name]
        lines.append(
            f"| {label} | {spread['median']:.4f} | {spread['min']:.4f} | {spread['max']:.4f} |"
        )
    lines += [
        "",
        f"Shares at 3 replicas: {move['smallest_share_at_3']:.3f} to "
        f"{move['largest_share_at_3']:.3f} (1/3 = 0.333). Every key that moved on a join went "
        "to the newcomer; every key that moved on a leave was the leaver's.",
    ]
    cpu = result.get("cpu")
    if cpu is not None:
        lines += [
            "",
            f"## CPU of one replica's pass over its share, {cpu['releases']} generated releases",
            "",
            "| pass | releases taken | CPU s | wall s |",
            "| --- | --- | --- | --- |",
        ]
        rows = [(phase, measured) for phase in ("cold", "no_op") for measured in cpu[phase]]
        rows += [
            (label, cpu[name])
            for label, name in (
                ("no_op, none taken", "no_op_none_taken"),
                ("no_op, all", "no_op_all"),
            )
        ]
        lines += [
            f"| {label} | {measured['releases']} | {measured['cpu_seconds']} | "
            f"{measured['wall_seconds']} |"
            for label, measured in rows
        ]
        for phase in ("cold", "no_op"):
            fit = cpu[f"{phase}_fit"]
            lines.append(
                f"\n{phase}: CPU ≈ {fit['cpu_per_pass']} s per pass + "
                f"{fit['cpu_per_release']} s per release taken (least squares)."
            )
    shared = result.get("shared_cost")
    if shared is not None:
        lines += [
            "",
            f"## What every replica pays whatever its share, N = {shared['releases']}",
            "",
            "A pass taking none of the releases (loading and validating every file, listing "
            f"the records): {shared['first']['cpu_seconds']} CPU s the first time, "
            f"{shared['warm']['cpu_seconds']} CPU s with the document cache warm.",
        ]
    if cpu is not None and shared is not None:
        lines += ["", *model_table(cpu["cold_fit"]["cpu_per_release"], shared)]
    return "\n".join(lines) + "\n"


def model_table(per_release: float, shared: dict[str, Any]) -> list[str]:
    """The modelled cold pass of N releases over r replicas: each replica pays the shared
    cost and N/r of the per-release cost; the speed-up is one replica's over that."""
    size, fixed = shared["releases"], shared["warm"]["cpu_seconds"]
    one = fixed + size * per_release
    lines = [
        f"Model, cold pass at N = {size}: CPU per replica = {fixed} + N/r x {per_release} s",
        "",
        "| replicas r | CPU s per replica | speed-up over 1 |",
        "| --- | --- | --- |",
    ]
    for replicas in (1, 2, 3, 4, 8):
        each = fixed + size / replicas * per_release
        lines.append(f"| {replicas} | {each:.1f} | {one / each:.2f}x |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shards")
    parser.add_argument("--releases", type=int, default=3000)
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--kubeconfig", type=Path)
    parser.add_argument("--cpu-releases", type=int, default=100)
    args = parser.parse_args(argv)
    commit = _commit()
    result: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "cores": os.cpu_count(),
        "movement": movement(args.releases, args.draws, args.seed),
    }
    if args.kubeconfig is not None:
        result["cpu"] = cpu_passes(args.kubeconfig, args.cpu_releases)
        result["shared_cost"] = shared_cost(args.kubeconfig, args.releases)
    write_run(RESULTS_DIR, f"shards-{datetime.now(UTC):%Y%m%dT%H%M%SZ}", result, report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
