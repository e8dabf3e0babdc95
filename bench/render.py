"""Issue 26's rendering benchmark: N releases rendered with an empty render cache, one
`helm template` process per release (Harmonia without the renderer) against
harmonia-renderer, side by side in one run, the outputs checked byte for byte.

    python -m bench.render --size 1000 --repeats 3

Each pass is a new Python process (`bench/render_worker.py`) with a new cache folder, so
nothing is cached on disk or in memory; the two ways alternate within each repeat. Time
is the pass's wall clock; CPU is the worker's and every child's (helm processes, the
renderer), user plus system. Writes bench/results/render-<timestamp>.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.generate import synthetic_repository
from bench.run import RESULTS_DIR, log, machine
from devcluster.build import ensure_binaries

WAYS = ("helm template per release", "harmonia-renderer")


def write_repository(folder: Path, size: int) -> Path:
    for relative, text in synthetic_repository(size).files().items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def one_pass(repository: Path, work: Path, helm: Path, renderer: Path | None) -> dict[str, Any]:
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
    command = [sys.executable, "-m", "bench.render_worker", str(repository)]
    command += ["--cache", str(cache), "--helm", str(helm)]
    if renderer is not None:
        command += ["--renderer", str(renderer)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"render pass failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    result["process_seconds"] = wall
    result["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def report(meta: dict[str, Any], samples: dict[str, list[dict[str, Any]]]) -> str:
    lines = [
        f"# Rendering {meta['size']} releases, empty render cache ({meta['started']})",
        "",
        f"{meta['machine']['cores']} cores, {meta['machine']['cpu']}; {meta['repeats']} repeats,"
        " the two ways alternating; medians (min-max).",
        "",
        "| way | pass s | process s | CPU s | engines run |",
        "|---|---|---|---|---|",
    ]
    for way in WAYS:
        runs = samples[way]

        def cell(key: str, runs: list[dict[str, Any]] = runs) -> str:
            values = [run[key] for run in runs]
            return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"

        engines = runs[0]["engine_runs"]
        lines.append(
            f"| {way} | {cell('seconds')} | {cell('process_seconds')} | {cell('cpu_seconds')}"
            f" | {engines} |"
        )
    lines += [
        "",
        f"Speed-up of the pass (median): {meta['speedup']:.2f}x;"
        f" CPU: {meta['cpu_ratio']:.2f}x less.",
        f"Byte-identical: {meta['identical']} ({meta['compared']} releases compared, every"
        " repeat).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.render", description=__doc__)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    arguments = parser.parse_args(argv)
    started = datetime.now(UTC)
    binaries = ensure_binaries(log)
    helm, renderer = binaries["helm"], binaries["harmonia-renderer"]
    samples: dict[str, list[dict[str, Any]]] = {way: [] for way in WAYS}
    identical = True
    compared = 0
    with tempfile.TemporaryDirectory(prefix="harmonia-bench-render-") as folder:
        work = Path(folder)
        repository = write_repository(work / "repository", arguments.size)
        for index in range(arguments.repeats):
            runs = {
                WAYS[0]: one_pass(repository, work, helm, None),
                WAYS[1]: one_pass(repository, work, helm, renderer),
            }
            for way, run in runs.items():
                samples[way].append(run)
                seconds, cpu_seconds = run["seconds"], run["cpu_seconds"]
                log(f"repeat {index + 1} {way}: {seconds:.2f}s, CPU {cpu_seconds:.1f}s")
            helm_digests, renderer_digests = (run.pop("digests") for run in runs.values())
            compared = len(helm_digests)
            identical = identical and helm_digests == renderer_digests and compared > 0
    medians = {way: statistics.median(run["seconds"] for run in samples[way]) for way in WAYS}
    cpu = {way: statistics.median(run["cpu_seconds"] for run in samples[way]) for way in WAYS}
    meta: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "size": arguments.size,
        "repeats": arguments.repeats,
        "machine": machine(),
        "identical": identical,
        "compared": compared,
        "speedup": medians[WAYS[0]] / medians[WAYS[1]],
        "cpu_ratio": cpu[WAYS[0]] / cpu[WAYS[1]],
        "helm": str(helm),
        "renderer": str(renderer),
        "gomaxprocs": os.environ.get("GOMAXPROCS", "unset"),
    }
    stem = f"render-{started.strftime('%Y%m%dT%H%M%SZ')}"
    arguments.results_dir.mkdir(parents=True, exist_ok=True)
    (arguments.results_dir / f"{stem}.json").write_text(
        json.dumps({"meta": meta, "samples": samples}, indent=2) + "\n"
    )
    (arguments.results_dir / f"{stem}.md").write_text(report(meta, samples))
    log(f"results in {arguments.results_dir / stem}.md")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
