"""The real-time benchmark reads its daemons' logs: the numbers a pattern captures in
what was logged after a point, once there are enough of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.cluster import BenchError
from bench.realtime import PASS_FINISHED, logged_numbers


def test_the_passes_logged_after_a_point_are_read_in_order(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("pass finished at revision aaa in 9.9s: 1 releases, 0 not applied\n")
    offset = log.stat().st_size
    with log.open("a") as more:
        more.write("pass started at revision bbb\n")
        more.write("pass finished at revision bbb in 4.7s: 5000 releases, 0 not applied\n")
        more.write("pass finished at revision bbb in 4.1s: 5000 releases, 0 not applied\n")

    assert logged_numbers(log, offset, PASS_FINISHED, count=2, timeout=1) == [4.7, 4.1]


def test_too_few_lines_logged_in_time_is_a_bench_error(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("release shop/web Applied (one object) seconds=0.2\n")

    with pytest.raises(BenchError):
        logged_numbers(log, 0, re.compile(r"seconds=([0-9.]+)"), count=2, timeout=0.3)
