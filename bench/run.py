"""One command for the whole benchmark: `python -m bench.run --sizes 10,100,1000 --repeats 3`.

For each size it generates the repository, renders the peers' inputs once, and in every
repeat runs each scenario on a dev cluster of its own, started fresh for it and removed
after it: Harmonia's cold pass, no-op pass, one changed release and the hub's fan-out (one
sequence, one cluster); kubectl per release and at once; helm per release; the floor.
Results go to `bench/results/<timestamp>.md|.json` and `bench/results/latest.md`,
rewritten after each figure so a long run leaves what it has finished.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench.cluster import BenchCluster, BenchError, own_cluster
from bench.floor import floor_apply
from bench.generate import (
    GitRepository,
    SyntheticRepository,
    synthetic_repository,
    with_hub_outputs_changed,
    with_settings_changed,
)
from bench.harmonia import harmonia_apply
from bench.peers import (
    PeerInputs,
    helm_per_release,
    helm_sample,
    kubectl_everything,
    kubectl_per_release,
    render_peer_inputs,
)
from bench.results import (
    FLOOR,
    HARMONIA_COLD,
    HARMONIA_FAN_OUT,
    HARMONIA_NOOP,
    HARMONIA_ONE_CHANGED,
    HELM_PER_RELEASE,
    KUBECTL_EVERYTHING,
    KUBECTL_PER_RELEASE,
    SCENARIOS,
    Sample,
    ScenarioResult,
    write_results,
)
from devcluster.build import ensure_binaries
from reconciler import __version__

RESULTS_DIR = Path(__file__).parent / "results"
DEFAULT_HELM_SAMPLE = 100
READY_TIMEOUT_BASE = 600.0
READY_TIMEOUT_PER_RELEASE = 2.0
BACKGROUND_WINDOW = 5.0
"""Seconds of quiet before the no-op pass, to tell its requests from everyone else's."""


def log(line: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


HARMONIA_GROUP = "harmonia"
"""`--skip harmonia` skips Harmonia's four scenarios, which run as one sequence."""
HARMONIA_SCENARIOS = (HARMONIA_COLD, HARMONIA_NOOP, HARMONIA_ONE_CHANGED, HARMONIA_FAN_OUT)
PEER_SCENARIOS = (KUBECTL_PER_RELEASE, KUBECTL_EVERYTHING, HELM_PER_RELEASE, FLOOR)
"""The scenarios that send the objects `helm template` renders from the first commit."""


@dataclass(frozen=True)
class Settings:
    sizes: tuple[int, ...]
    repeats: int
    helm_sample: int
    workdir: Path
    results_dir: Path
    keep_workdir: bool
    skip: frozenset[str] = frozenset()

    def runs(self, scenario: str) -> bool:
        grouped = scenario in HARMONIA_SCENARIOS and HARMONIA_GROUP in self.skip
        return scenario not in self.skip and not grouped


FreshCluster = Callable[[], AbstractContextManager[BenchCluster]]


class SizeRun:
    """Every scenario of one size, repeated; `publish` is called after each figure.

    Each scenario (Harmonia's four passes count as one) gets a cluster started for it:
    a cluster that served earlier scenarios carries their history (etcd's revisions,
    the controllers' caches, events), which slowed every tool by up to a third from one
    repeat to the next when they shared one.
    """

    def __init__(
        self,
        clusters: FreshCluster,
        size: int,
        settings: Settings,
        *,
        helm: Path,
        publish: Callable[[], None],
    ) -> None:
        self.clusters = clusters
        self.size = size
        self.settings = settings
        self.publish = publish
        self.folder = settings.workdir / f"n{size}"
        self.results = {
            name: ScenarioResult(name, size) for name in SCENARIOS if settings.runs(name)
        }
        self.repository: SyntheticRepository = synthetic_repository(size)
        self.git = GitRepository.create(self.folder)
        self.git.commit(self.repository, f"{size} synthetic releases")
        self.ready_timeout = READY_TIMEOUT_BASE + READY_TIMEOUT_PER_RELEASE * size
        self._peers: PeerInputs | None = None
        if any(name in self.results for name in PEER_SCENARIOS):
            log(f"N={size}: rendering the peers' objects with helm template")
            self._peers = render_peer_inputs(
                self.repository,
                chart_root=self.git.work,
                helm=helm,
                folder=self.folder / "peers",
            )
        if HARMONIA_FAN_OUT in self.results:
            dependents = len(self.repository.dependents_of(self.repository.hub.key))
            self.results[HARMONIA_FAN_OUT].note = f"{dependents} dependents"
        if FLOOR in self.results:
            self.results[FLOOR].note = f"{self.peers.object_count} objects"

    @property
    def peers(self) -> PeerInputs:
        """The peers' objects, rendered from the first commit when a peer runs; only
        Harmonia's passes (N = 5000) skip the minutes of `helm template` per release."""
        if self._peers is None:
            raise BenchError(f"N={self.size}: no peer runs, so no peer objects were rendered")
        return self._peers

    @contextmanager
    def scenario(self, name: str, repeat: int) -> Iterator[Callable[[Sample], None]]:
        """Runs one scenario; a failure is recorded on it and the run goes on."""
        result = self.results[name]
        where = f"N={self.size} repeat {repeat + 1}/{self.settings.repeats}: {result.title}"
        load = os.getloadavg()[0]

        def record(sample: Sample) -> None:
            result.samples.append(dataclasses.replace(sample, load_average=load))
            log(f"{where}: {sample.seconds:.1f} s")

        try:
            yield record
        except BenchError as error:
            result.errors.append(str(error).splitlines()[0])
            log(f"{where}: FAILED: {error}")
        self.publish()

    def run(self) -> None:
        scenarios: tuple[tuple[str, Callable[[BenchCluster, int], None]], ...] = (
            (HARMONIA_COLD, self.harmonia),
            (KUBECTL_PER_RELEASE, self.kubectl_per_release),
            (KUBECTL_EVERYTHING, self.kubectl_everything),
            (HELM_PER_RELEASE, self.helm),
            (FLOOR, self.floor),
        )
        for repeat in range(self.settings.repeats):
            for name, scenario in scenarios:
                if self.settings.runs(name):
                    with self.clusters() as cluster:
                        scenario(cluster, repeat)

    def harmonia(self, cluster: BenchCluster, repeat: int) -> None:
        """Cold, no-op, one release changed, the hub's fan-out: one sequence, one cache."""
        cache = self.folder / f"harmonia-cache-{repeat}"

        def one_pass(name: str, *, background_rate: float | None = None) -> None:
            with self.scenario(name, repeat) as record:
                measure = harmonia_apply(
                    cluster,
                    self.git.work,
                    cache=cache,
                    log=self.folder / f"{name}-{repeat}.log",
                )
                record(
                    Sample(
                        measure.seconds,
                        requests=measure.requests,
                        peak_rss_mib=measure.peak_rss_mib,
                        background_rate=background_rate,
                        cluster_cpu_seconds=measure.cluster_cpu_seconds,
                        tool_cpu_seconds=measure.cpu_seconds,
                    )
                )

        one_pass(HARMONIA_COLD)
        one_pass(HARMONIA_NOOP, background_rate=cluster.background_rate(BACKGROUND_WINDOW))
        changed = self.repository.releases[-1].key
        self.repository = with_settings_changed(self.repository, changed, str(repeat + 2))
        self.git.commit(self.repository, f"{changed}: a new setting")
        one_pass(HARMONIA_ONE_CHANGED)
        self.repository = with_hub_outputs_changed(self.repository, repeat + 2)
        self.git.commit(self.repository, "the hub publishes new outputs")
        one_pass(HARMONIA_FAN_OUT)
        shutil.rmtree(cache, ignore_errors=True)

    def _peer(
        self, name: str, cluster: BenchCluster, repeat: int, send: Callable[[], float]
    ) -> None:
        with self.scenario(name, repeat) as record:
            before, cluster_cpu, tool_cpu = cluster.request_count(), cluster.cpu_seconds(), _cpu()
            sent = send()
            requests, tool_cpu = cluster.request_count() - before, _cpu() - tool_cpu
            waited = cluster.wait_ready(self.size, timeout=self.ready_timeout)
            cluster_cpu = cluster.cpu_seconds() - cluster_cpu
            record(
                Sample(
                    sent + waited,
                    apply_seconds=sent,
                    requests=requests,
                    cluster_cpu_seconds=cluster_cpu,
                    tool_cpu_seconds=tool_cpu,
                )
            )

    def kubectl_per_release(self, cluster: BenchCluster, repeat: int) -> None:
        send = partial(kubectl_per_release, cluster, self.peers)
        self._peer(KUBECTL_PER_RELEASE, cluster, repeat, send)

    def kubectl_everything(self, cluster: BenchCluster, repeat: int) -> None:
        send = partial(kubectl_everything, cluster, self.peers)
        self._peer(KUBECTL_EVERYTHING, cluster, repeat, send)

    def helm(self, cluster: BenchCluster, repeat: int) -> None:
        """Per release; above `--helm-sample` releases, a sample, its send time scaled up."""
        releases = helm_sample(self.peers, self.settings.helm_sample)
        scale = self.size / len(releases)
        if scale > 1:
            self.results[HELM_PER_RELEASE].note = (
                f"EXTRAPOLATED: {len(releases)} of {self.size} releases installed, "
                f"their send time x{scale:g}, plus their measured wait for Ready"
            )
        with self.scenario(HELM_PER_RELEASE, repeat) as record:
            before, cluster_cpu, tool_cpu = cluster.request_count(), cluster.cpu_seconds(), _cpu()
            sent = helm_per_release(cluster, self.peers, releases, home=self.folder / "helm-home")
            requests, tool_cpu = (cluster.request_count() - before) * scale, _cpu() - tool_cpu
            waited = cluster.wait_ready(len(releases), timeout=self.ready_timeout)
            cluster_cpu = cluster.cpu_seconds() - cluster_cpu
            record(
                Sample(
                    sent * scale + waited,
                    apply_seconds=sent * scale,
                    requests=requests,
                    cluster_cpu_seconds=cluster_cpu * scale,
                    tool_cpu_seconds=tool_cpu * scale,
                )
            )

    def floor(self, cluster: BenchCluster, repeat: int) -> None:
        objects = [
            *self.peers.namespaces,
            *(obj for release in self.peers.releases for obj in release.objects),
        ]
        self._peer(FLOOR, cluster, repeat, lambda: floor_apply(cluster.api, objects))


def _cpu() -> float:
    """CPU-seconds of this process and the children it has waited for (kubectl, helm): the
    floor's client sends from this process, the peers from their children."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _commit() -> str:
    folder = Path(__file__).parent
    run = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=folder, capture_output=True, text=True
    )
    return run.stdout.strip() or "unknown"


def machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": total_kib / 1024 / 1024,
        "kernel": platform.release(),
        "load_at_start": _load(),
    }


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def run(settings: Settings) -> int:
    started = datetime.now(UTC)
    stem = started.strftime("%Y%m%dT%H%M%SZ")
    clock = time.monotonic()
    results: list[ScenarioResult] = []

    def fresh_cluster(pods: int) -> FreshCluster:
        return partial(own_cluster, settings.workdir, log, pods=pods)

    with fresh_cluster(pods=0)() as cluster:
        versions = cluster.versions()
    meta: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "sizes": list(settings.sizes),
        "repeats": settings.repeats,
        "helm_sample": settings.helm_sample,
        "skipped": sorted(settings.skip),
        "machine": machine(),
        "versions": {
            "python": platform.python_version(),
            "harmonia": __version__,
            "commit": _commit(),
            **versions,
        },
    }

    def publish() -> None:
        meta["seconds"] = round(time.monotonic() - clock, 1)
        meta["machine"]["load_at_end"] = _load()
        write_results(settings.results_dir, stem, meta, results)

    helm = ensure_binaries(log)["helm"]
    for size in settings.sizes:
        size_run = SizeRun(fresh_cluster(pods=size), size, settings, helm=helm, publish=publish)
        results += size_run.results.values()
        size_run.run()
        log(f"N={size} done; results in {settings.results_dir / stem}.md")
    failed = [result for result in results if result.errors or not result.samples]
    for result in failed:
        log(f"N={result.size} {result.title}: {'; '.join(result.errors) or 'no figure'}")
    return 1 if failed else 0


def parse_arguments(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description="Harmonia against kubectl, Helm and the floor."
    )
    parser.add_argument("--sizes", default="10,100,1000", help="Release counts, comma-separated.")
    parser.add_argument("--repeats", type=int, default=3, help="Runs of every scenario per size.")
    parser.add_argument(
        "--helm-sample",
        type=int,
        default=DEFAULT_HELM_SAMPLE,
        help="Above this many releases, helm installs this many and the time is extrapolated.",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="Scratch folder, kept afterwards (default: a new temporary folder, removed).",
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--skip",
        default="",
        help=f"Scenarios not to run, comma-separated: {HARMONIA_GROUP} (its four passes), "
        + ", ".join(name for name in SCENARIOS if name not in HARMONIA_SCENARIOS),
    )
    arguments = parser.parse_args(argv)
    skip = frozenset(name for name in arguments.skip.split(",") if name)
    unknown = skip - {*SCENARIOS, HARMONIA_GROUP}
    if unknown:
        parser.error(f"--skip: no scenario {', '.join(sorted(unknown))}")
    workdir = arguments.workdir or Path(tempfile.mkdtemp(prefix="harmonia-bench-"))
    return Settings(
        keep_workdir=arguments.workdir is not None,
        sizes=tuple(int(size) for size in arguments.sizes.split(",")),
        repeats=arguments.repeats,
        helm_sample=arguments.helm_sample,
        workdir=workdir.resolve(),
        results_dir=arguments.results_dir.resolve(),
        skip=skip,
    )


def main(argv: list[str] | None = None) -> int:
    settings = parse_arguments(argv)
    settings.workdir.mkdir(parents=True, exist_ok=True)
    log(f"working in {settings.workdir}")
    try:
        return run(settings)
    finally:
        if not settings.keep_workdir:
            shutil.rmtree(settings.workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
