"""The memory report ranks the places still holding memory by the innermost frame of
Harmonia or the benchmark that allocated it."""

from __future__ import annotations

import tracemalloc

from bench.memory import held_by_line
from bench.results import Stat


def test_the_place_holding_the_most_comes_first_named_by_its_benchmark_frame() -> None:
    tracemalloc.start(5)
    try:
        held = [Stat.of([float(n)]) for n in range(20000)]
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()

    (place, mib, blocks), *_rest = held_by_line(snapshot, top=3)
    assert place.startswith("bench/results.py:")
    assert mib > 0.5 and blocks >= 20000
    assert len(held) == 20000
