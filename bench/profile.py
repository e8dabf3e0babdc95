"""Where a pass spends its time: a cold and a no-op `harmonia apply` under py-spy.

`python -m bench.profile --size 100` starts the benchmark's own dev cluster, runs the
two passes under `py-spy record --idle --threads` (wall-clock, every thread; `--passes
no-op` profiles only the second) and writes `bench/results/profile-<timestamp>.md`: per
pass, the Harmonia functions holding the most wall time on the main thread and on the
apply workers, and the leaf frames (where that time is spent: a socket read, a sleep,
helm, Python work).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.cluster import BenchError, own_cluster
from bench.generate import GitRepository, synthetic_repository
from bench.harmonia import harmonia_apply
from bench.run import RESULTS_DIR, log

DEFAULT_RATE = 100
TOP = 25
PRODUCT_PREFIX = "reconciler/"
MAIN_MARKER = "(reconciler/__main__.py)"
IDLE_WORKER_LEAF = "_worker (concurrent/futures/thread.py)"
_LINE_NUMBER = re.compile(r":\d+\)$")


@dataclass(frozen=True)
class Stack:
    thread: str
    frames: tuple[str, ...]
    """Root first, `function (file)` without line numbers."""
    samples: int


def parse_raw(text: str) -> list[Stack]:
    """py-spy's `--format raw --threads` output: `thread (id)[: name];frame;... count`."""
    stacks = []
    for line in text.splitlines():
        body, _, count = line.rpartition(" ")
        if not body:
            continue
        thread, *frames = body.split(";")
        stacks.append(
            Stack(
                thread.split(")")[0] + ")",
                tuple(_LINE_NUMBER.sub(")", frame) for frame in frames),
                int(count),
            )
        )
    return stacks


@dataclass
class ThreadGroup:
    """Samples of some threads: inclusive counts per function, and per leaf frame."""

    samples: int = 0
    inclusive: Counter[str] = field(default_factory=Counter)
    leaves: Counter[str] = field(default_factory=Counter)

    def add(self, stack: Stack) -> None:
        self.samples += stack.samples
        for frame in set(stack.frames):
            self.inclusive[frame] += stack.samples
        self.leaves[stack.frames[-1]] += stack.samples


@dataclass(frozen=True)
class PassProfile:
    main: ThreadGroup
    workers: ThreadGroup
    """Busy samples only: a worker waiting for its next release is left out."""
    rate: int


def profile_of(stacks: Iterable[Stack], *, rate: int) -> PassProfile:
    stacks = list(stacks)
    main_threads = {s.thread for s in stacks if any(MAIN_MARKER in f for f in s.frames)}
    main, workers = ThreadGroup(), ThreadGroup()
    for stack in stacks:
        if stack.thread in main_threads:
            if stack.frames:
                main.add(stack)
        elif stack.frames and stack.frames[-1] != IDLE_WORKER_LEAF:
            workers.add(stack)
    return PassProfile(main, workers, rate)


def _table(group: ThreadGroup, counts: Counter[str], *, rate: int, product_only: bool) -> str:
    lines = ["| frame | seconds | share |", "| --- | --- | --- |"]
    chosen = [
        (frame, count)
        for frame, count in counts.most_common()
        if not product_only or PRODUCT_PREFIX in frame
    ][:TOP]
    for frame, count in chosen:
        share = count / group.samples if group.samples else 0.0
        lines.append(f"| `{frame}` | {count / rate:.1f} | {share:.0%} |")
    return "\n".join(lines)


def markdown_section(title: str, profile: PassProfile) -> str:
    rate = profile.rate
    parts = [
        f"## {title}",
        "",
        f"Main thread: {profile.main.samples / rate:.1f} s of wall time. "
        f"Apply workers: {profile.workers.samples / rate:.1f} s busy (thread time, summed).",
        "",
        "### Main thread: Harmonia functions, inclusive",
        "",
        _table(profile.main, profile.main.inclusive, rate=rate, product_only=True),
        "",
        "### Apply workers: Harmonia functions, inclusive",
        "",
        _table(profile.workers, profile.workers.inclusive, rate=rate, product_only=True),
        "",
        "### Where the time ends (leaf frames, main thread and workers)",
        "",
        _table(
            ThreadGroup(
                profile.main.samples + profile.workers.samples,
                leaves=profile.main.leaves + profile.workers.leaves,
            ),
            profile.main.leaves + profile.workers.leaves,
            rate=rate,
            product_only=False,
        ),
    ]
    return "\n".join(parts)


def py_spy_wrapper(output: Path, rate: int) -> list[str]:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).is_file():
        raise BenchError("py-spy is not installed: pip install py-spy (the `bench` extra)")
    return [
        found, "record", "--idle", "--threads", "--rate", str(rate),
        "--format", "raw", "--output", str(output), "--",
    ]  # fmt: skip


PASSES = ("cold", "no-op")


def profile_passes(
    size: int, *, rate: int, workdir: Path, profiled: frozenset[str]
) -> list[tuple[str, PassProfile]]:
    """A cold and then a no-op pass over `size` releases; those in `profiled` under py-spy."""
    profiles = []
    with own_cluster(workdir, log, pods=size) as cluster:
        git = GitRepository.create(workdir / f"n{size}")
        git.commit(synthetic_repository(size), f"{size} synthetic releases")
        for name in PASSES:
            raw = workdir / f"{name}.txt"
            measure = harmonia_apply(
                cluster,
                git.work,
                cache=workdir / "harmonia-cache",
                log=workdir / f"{name}.log",
                wrapper=py_spy_wrapper(raw, rate) if name in profiled else (),
            )
            log(f"{name} pass: {measure.seconds:.1f} s ({measure.summary})")
            if name in profiled:
                title = (
                    f"{name.capitalize()} pass, N = {size} ({measure.seconds:.1f} s under py-spy)"
                )
                profiles.append((title, profile_of(parse_raw(raw.read_text()), rate=rate)))
    return profiles


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--rate", type=int, default=DEFAULT_RATE, help="Samples per second.")
    parser.add_argument("--workdir", type=Path, help="Kept afterwards, with py-spy's raw files.")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--passes",
        default=",".join(PASSES),
        help="Which passes run under py-spy (the cold pass always runs first): cold,no-op.",
    )
    arguments = parser.parse_args(argv)
    profiled = frozenset(arguments.passes.split(","))
    if not profiled <= set(PASSES):
        parser.error(f"--passes: choose from {', '.join(PASSES)}")
    workdir = arguments.workdir or Path(tempfile.mkdtemp(prefix="harmonia-profile-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        profiles = profile_passes(
            arguments.size, rate=arguments.rate, workdir=workdir.resolve(), profiled=profiled
        )
    finally:
        if arguments.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report = arguments.results_dir / f"profile-{stamp}.md"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(
        f"# Where the time goes: py-spy, {arguments.rate} Hz, wall clock\n\n"
        + "\n\n".join(markdown_section(title, profile) for title, profile in profiles)
        + "\n"
    )
    log(f"profile in {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
