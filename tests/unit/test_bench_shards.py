"""The sharding benchmark's pure parts: movement over drawn identities, the line fit, the model."""

from __future__ import annotations

import pytest

from bench.shards import _line, model_table, movement


def test_movement_counts_a_joins_and_a_leaves_share_of_the_generated_keys() -> None:
    measured = movement(600, draws=3, seed=1)
    assert 0.15 < measured["join_3_to_4"]["median"] < 0.35
    assert 0.25 < measured["leave_3_to_2"]["median"] < 0.42
    assert measured["smallest_share_at_3"] <= 1 / 3 <= measured["largest_share_at_3"]


def test_the_line_through_exact_points_is_found() -> None:
    slope, intercept = _line([(10, 1.5), (20, 2.5), (40, 4.5)])
    assert slope == pytest.approx(0.1) and intercept == pytest.approx(0.5)


def test_the_model_divides_only_the_per_release_cost() -> None:
    shared = {"releases": 100, "warm": {"cpu_seconds": 1.0}}
    rows = model_table(0.03, shared)
    assert "| 1 | 4.0 | 1.00x |" in rows
    assert "| 2 | 2.5 | 1.60x |" in rows
