"""The benchmark's figures: medians with min and max, the tables, the target checks, and
the profile summary read from py-spy's raw output."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from bench.cluster import process_cpu_seconds
from bench.profile import parse_raw, profile_of
from bench.results import (
    FLOOR,
    HARMONIA_COLD,
    HARMONIA_NOOP,
    HELM_PER_RELEASE,
    SCENARIOS,
    Sample,
    ScenarioResult,
    Stat,
    markdown_report,
    noop_request_growth,
    size_table,
    target_checks,
    write_results,
)

META = {
    "started": "2026-01-01T00:00:00+00:00",
    "repeats": 3,
    "machine": {"cores": 2, "cpu": "test", "memory_gib": 8.0, "load_at_start": "0.1"},
    "versions": {
        "python": "3.11",
        "kubernetes": "v1.36.3",
        "kubectl": "v1.36.3",
        "helm": "v4",
        "harmonia": "0.1.0",
        "commit": "abc",
    },
}


def result(scenario: str, *seconds: float, size: int = 10, **fields: float) -> ScenarioResult:
    return ScenarioResult(scenario, size, [Sample(value, **fields) for value in seconds])


def test_a_stat_is_the_median_with_the_smallest_and_largest_sample() -> None:
    assert Stat.of([3.0, 1.0, 2.0]) == Stat(2.0, 1.0, 3.0)
    assert Stat.of([4.0]).shown() == "4.0"
    assert Stat.of([1.0, 2.0, 4.0]).shown() == "2.0 (1.0-4.0)"


def test_the_table_lists_every_scenario_in_order_with_a_dash_for_missing_figures() -> None:
    results = [result(name, 1.0) for name in reversed(list(SCENARIOS))]
    rows = size_table(results).splitlines()[2:]
    assert [row.split(" | ")[0].lstrip("| ") for row in rows] == list(SCENARIOS.values())
    assert all(" - " in row for row in rows)


def test_targets_are_checked_with_their_ratios() -> None:
    results = [
        result(HARMONIA_COLD, 30.0, peak_rss_mib=120.0),
        result(FLOOR, 10.0),
        result(HELM_PER_RELEASE, 300.0),
        result(HARMONIA_NOOP, 4.0, peak_rss_mib=260.0),
    ]
    checks = {check.target: check for check in target_checks(results)}
    assert [check.holds for check in checks.values()] == [False, True, False, False]
    assert "3.0x" in checks["cold within 2x of the floor (both until Ready)"].measured
    assert "10.0x faster" in checks["cold at least 5x faster than helm per release"].measured
    assert checks["peak RSS under 250 MiB"].measured == "260 MiB"


def test_no_op_requests_that_track_the_releases_miss_the_target() -> None:
    results = [
        result(HARMONIA_NOOP, 1.0, size=10, requests=150.0),
        result(HARMONIA_NOOP, 1.0, size=100, requests=1100.0),
    ]
    assert noop_request_growth(results) == (
        "N=10: 150 (15.0 per release); N=100: 1100 (11.0 per release); "
        "7.3x the requests for 10x the releases: grows with the number of objects: missed"
    )


def test_no_op_requests_that_barely_grow_hold_the_target() -> None:
    results = [
        result(HARMONIA_NOOP, 1.0, size=100, requests=40.0),
        result(HARMONIA_NOOP, 1.0, size=1000, requests=60.0),
    ]
    assert noop_request_growth(results).endswith("1.5x the requests for 10x the releases: holds")


def test_results_are_written_as_markdown_json_and_latest(tmp_path: Path) -> None:
    results = [result(name, 2.0, 1.0, 3.0) for name in SCENARIOS]
    written = write_results(tmp_path, "stamp", META, results)
    assert written == tmp_path / "stamp.md"
    assert (tmp_path / "latest.md").read_text() == written.read_text()
    assert "| Harmonia: no-op pass | 2.0 (1.0-3.0) |" in written.read_text()
    assert '"median": 2.0' in (tmp_path / "stamp.json").read_text()
    assert markdown_report(META, results) == written.read_text()


RAW = "\n".join(
    [
        "thread (1): MainThread;<module> (reconciler/__main__.py:5);"
        "reconcile (reconciler/reconcile.py:9);wait (threading.py:320) 50",
        "thread (1);<module> (reconciler/__main__.py:5);"
        "render (reconciler/render/pipeline.py:7) 30",
        "thread (2): ThreadPoolExecutor-0_0;_worker (concurrent/futures/thread.py:83);"
        "read_inventory (reconciler/apply/release.py:3);recv (ssl.py:1) 20",
        "thread (2);_worker (concurrent/futures/thread.py:81) 70",
    ]
)


def test_a_profile_splits_the_main_thread_from_busy_workers() -> None:
    profile = profile_of(parse_raw(RAW), rate=10)
    assert profile.main.samples == 80
    assert profile.main.inclusive["reconcile (reconciler/reconcile.py)"] == 50
    assert profile.workers.samples == 20
    assert profile.workers.leaves == {"recv (ssl.py)": 20}


def test_the_table_shows_the_cluster_and_tool_cpu_of_a_scenario() -> None:
    results = [result(HARMONIA_COLD, 30.0, cluster_cpu_seconds=41.25, tool_cpu_seconds=12.5)]
    (row,) = size_table(results).splitlines()[2:]
    assert "| 41.2 | 12.5 |" in row


def test_a_process_cpu_seconds_grow_while_it_works_and_are_zero_once_it_is_gone() -> None:
    before = process_cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    assert process_cpu_seconds(os.getpid()) >= before + 0.2
    finished = subprocess.Popen(["true"])
    finished.wait()
    assert process_cpu_seconds(finished.pid) == 0.0
