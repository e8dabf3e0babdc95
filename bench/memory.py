"""What a running reconciler's memory holds: `python -m bench.memory --size 5000`.

On the benchmark's own dev cluster with N synthetic releases applied by a cold `harmonia
apply`, this process does what `harmonia run` holds between passes: the desired state
(rendered through harmonia-renderer, the outputs holding Secrets in the render cache's
memory), the reflectors over every scope the records name with the inventory records,
and one pass reading them; under `tracemalloc`, whose snapshot then says which source
lines allocated what is still held. Written to `bench/results/memory-<timestamp>.md`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.cluster import BenchError, own_cluster
from bench.generate import GitRepository, synthetic_repository
from bench.harmonia import harmonia_apply, high_water_mib
from bench.realtime import until
from bench.run import RESULTS_DIR, _commit, log
from reconciler.apply.external_outputs import external_outputs_from
from reconciler.apply.inventory import InventoryRecord
from reconciler.apply.live_index import scopes_to_watch
from reconciler.apply.records import INVENTORY_SCOPE, inventory_records
from reconciler.desired import Tools, compute_desired_state
from reconciler.kube.client import KubeClient
from reconciler.kube.connection import KubeTarget, probe
from reconciler.kube.watch import Watches
from reconciler.policy import load_policy
from reconciler.reconcile import PassOptions, reconcile
from reconciler.render.environment import choose_versions
from reconciler.render.helm.renderer import RENDERER_VARIABLE
from reconciler.source.git_source import describe_checkout
from reconciler.types import split_release_key

TOP = 25
FRAMES = 12
SYNC_TIMEOUT = 600.0
REPOSITORY = f"{Path(__file__).resolve().parent.parent}/"
"""Cut from the file names the report shows."""
PRODUCT_OR_BENCH = (f"{REPOSITORY}reconciler/", f"{REPOSITORY}bench/")


def held_by_line(snapshot: tracemalloc.Snapshot, *, top: int = TOP) -> list[tuple[str, float, int]]:
    """The `top` places holding the most, as (the innermost frame of the product or the
    benchmark, else the innermost one; MiB; blocks)."""
    totals: dict[str, list[float]] = {}
    for stat in snapshot.statistics("traceback"):
        frames = list(reversed(stat.traceback))  # innermost first
        ours = next(
            (f for f in frames if f.filename.startswith(PRODUCT_OR_BENCH)),
            frames[0],
        )
        place = f"{ours.filename.removeprefix(REPOSITORY)}:{ours.lineno}"
        found = totals.setdefault(place, [0.0, 0])
        found[0] += stat.size / 2**20
        found[1] += stat.count
    ranked = sorted(totals.items(), key=lambda item: -item[1][0])[:top]
    return [(place, size, int(count)) for place, (size, count) in ranked]


def measure(size: int, workdir: Path) -> str:
    """The report of one size: the held memory by place, the totals, the process's RSS."""
    with own_cluster(workdir, log, pods=size) as cluster:
        repository = synthetic_repository(size)
        git = GitRepository.create(workdir)
        git.commit(repository, f"{size} synthetic releases")
        cache = workdir / "cache"
        cold = harmonia_apply(cluster, git.work, cache=cache, log=workdir / "cold.log")
        log(f"N={size}: cold apply {cold.seconds:.1f} s")
        os.environ[RENDERER_VARIABLE] = str(cluster.binaries["harmonia-renderer"])
        target = KubeTarget(cluster.kubeconfig)
        capabilities = probe(target)
        source = describe_checkout(git.work).source
        tracemalloc.start(FRAMES)
        with KubeClient.connect(target, cache_dir=cache) as client:
            state = compute_desired_state(
                git.work,
                policy=load_policy(None),
                versions_for=lambda config: choose_versions(config, cluster=capabilities),
                tools=Tools(
                    helm=cluster.binaries["helm"],
                    kubectl=cluster.binaries["kubectl"],
                    cache_dir=cache,
                    renderer=cluster.binaries["harmonia-renderer"],
                ),
                external_outputs=external_outputs_from(client),
            )
            records = [
                r
                for r in inventory_records(client).values()
                if isinstance(r, InventoryRecord) and r.source == source
            ]
            watches = Watches(client)
            entries = [entry.ref for record in records for entry in record.entries]
            namespaces = {split_release_key(record.release)[0] for record in records}
            watches.want(scopes_to_watch(entries, namespaces) | {INVENTORY_SCOPE})
            try:
                until(
                    lambda: all(watches.objects(s) is not None for s in watches.scopes),
                    SYNC_TIMEOUT,
                    "reflectors synced",
                )
                report = reconcile(
                    client,
                    state,
                    PassOptions(describe_checkout(git.work).revision, source),
                    watched=watches,
                )
                if report.failed:
                    raise BenchError("the pass failed releases: see its report")
                snapshot = tracemalloc.take_snapshot()
                traced, _peak = tracemalloc.get_traced_memory()
            finally:
                watches.stop()
        tracemalloc.stop()
        rss = high_water_mib(os.getpid()) or 0.0
    lines = [
        f"## N = {size}",
        "",
        f"Held after a pass reading the reflectors: **{traced / 2**20:.0f} MiB** traced by "
        f"Python (`tracemalloc`, {FRAMES} frames); this process's peak RSS {rss:.0f} MiB "
        "(tracemalloc's own bookkeeping included). Cold `harmonia apply` before it: "
        f"{cold.seconds:.1f} s, peak RSS {cold.peak_rss_mib:.0f} MiB.",
        "",
        "| where it was allocated (innermost frame of Harmonia or the benchmark) | MiB | blocks |",
        "| --- | --- | --- |",
        *(f"| `{place}` | {mib:.1f} | {count} |" for place, mib, count in held_by_line(snapshot)),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    arguments = parser.parse_args(argv)
    workdir = (arguments.workdir or Path(tempfile.mkdtemp(prefix="harmonia-memory-"))).resolve()
    section = measure(arguments.size, workdir)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report = arguments.results_dir / f"memory-{stamp}.md"
    report.write_text(
        f"# What a running reconciler's memory holds (at `{_commit()}`)\n\n{section}\n"
    )
    log(f"memory report in {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
