"""The real-time benchmark's figures: ratios side by side, issue 20's targets judged from
the medians, the idle daemon minute by minute, and the files written."""

from __future__ import annotations

import json
from pathlib import Path

from bench.realtime_report import (
    FULL_PASS,
    FULL_PASS_WATCHED,
    HAND_EDIT,
    IDLE,
    PUSH_HUB_POLL,
    PUSH_HUB_WEBHOOK,
    PUSH_POLL,
    PUSH_WEBHOOK,
    Series,
    checks,
    markdown_report,
    read_report,
    write_report,
)

META = {
    "started": "2026-12-06T18:00:00+00:00",
    "machine": {"cores": 2, "load_at_start": "1.0 1.0 1.0"},
    "versions": {"harmonia": "0.1.0", "commit": "abc", "kubernetes": "v1.36.3"},
}


def series(scenario: str, *samples: dict[str, float], size: int = 1000) -> Series:
    return Series(scenario, size, list(samples))


def test_the_watched_full_pass_holds_its_target_with_no_request_and_under_a_second() -> None:
    found = checks(
        [
            series(FULL_PASS, {"seconds": 2.0, "requests_sent": 25}),
            series(FULL_PASS_WATCHED, {"seconds": 0.5, "requests_sent": 0}),
        ]
    )
    assert found == [
        "full pass reading the watches / listing: 0.50 s / 2.00 s = 0.25",
        "target: 0 list requests and <= 1 s: 0 requests sent, 0.50 s: holds",
    ]


def test_a_watched_full_pass_that_sends_requests_misses_its_target() -> None:
    found = checks(
        [
            series(FULL_PASS, {"seconds": 2.0, "requests_sent": 25}),
            series(FULL_PASS_WATCHED, {"seconds": 0.5, "requests_sent": 3}),
        ]
    )
    assert found[-1].endswith("3 requests sent, 0.50 s: missed")


def test_the_hand_edit_is_judged_by_its_median_and_each_push_by_its_ratio_to_the_poll() -> None:
    found = checks(
        [
            series(HAND_EDIT, {"seconds": 1.0}, {"seconds": 4.0}, {"seconds": 2.0}),
            series(PUSH_WEBHOOK, {"seconds": 2.0}),
            series(PUSH_POLL, {"seconds": 40.0}),
            series(PUSH_HUB_WEBHOOK, {"seconds": 5.0}),
            series(PUSH_HUB_POLL, {"seconds": 50.0}),
        ]
    )
    assert found == [
        "target: hand edit put back <= 3 s: 2.00 s: holds",
        "push to Ready, webhook / poll: 2.0 s / 40.0 s = 0.05",
        "hub push to dependents Ready, webhook / poll: 5.0 s / 50.0 s = 0.10",
    ]


def test_a_push_is_judged_by_what_is_left_after_the_releases_own_render_and_time() -> None:
    quick = {"seconds": 1.5, "render_seconds": 0.1, "release_seconds": 0.6}
    slow = {"seconds": 3.0, "render_seconds": 0.1, "release_seconds": 0.6}

    held = checks([series(PUSH_WEBHOOK, quick | {"overhead_seconds": 0.8})])
    missed = checks([series(PUSH_WEBHOOK, slow | {"overhead_seconds": 2.3})])

    assert held == [
        "target: push to Ready with the webhook <= render + apply + readiness + 1 s: "
        "the rest is 0.80 s: holds"
    ]
    assert missed[0].endswith("the rest is 2.30 s: missed")


def test_the_report_lists_the_idle_daemon_minute_by_minute(tmp_path: Path) -> None:
    idle = series(
        IDLE,
        {"requests": 60, "lists": 0, "cpu_seconds": 10.0, "rss_mib": 80},
        {"requests": 62, "lists": 1, "own_requests": 3, "own_lists": 0, "cpu_seconds": 10.4,
         "rss_mib": 81},
        size=100,
    )  # fmt: skip
    report = markdown_report(META, [idle])
    assert "## N = 100" in report
    assert "| 1 | 60 | 0 | - | - | 10.0 | 80 |\n| 2 | 62 | 1 | 3 | 0 | 10.4 | 81 |" in report
    assert "- idle daemon over 2 minutes: 0.40 CPU s a minute, RSS 80 -> 81 MiB" in report
    written = write_report(tmp_path, "realtime-x", META, [idle])
    assert written.read_text() == report
    body = json.loads((tmp_path / "realtime-x.json").read_text())
    assert body["series"][0]["samples"][1]["rss_mib"] == 81
    assert markdown_report(*read_report(tmp_path / "realtime-x.json")) == report
