"""When the readiness rounds run: never so often that they take the pass's main thread."""

from __future__ import annotations

from reconciler.apply.wait import POLL_INTERVAL, ROUND_COST_PAUSE, next_round


def test_a_cheap_round_is_followed_by_the_next_after_the_interval() -> None:
    assert next_round(100.0, 0.05, POLL_INTERVAL) == 100.0 + POLL_INTERVAL


def test_a_round_costlier_than_the_interval_pushes_the_next_out_by_twice_its_cost() -> None:
    assert next_round(100.0, 2.0, POLL_INTERVAL) == 102.0 + ROUND_COST_PAUSE * 2.0 == 106.0


def test_rounds_due_back_to_back_keep_at_most_a_third_of_the_time() -> None:
    now, busy = 0.0, 0.0
    for _ in range(50):
        cost = 3.0
        busy += cost
        now = next_round(now, cost, POLL_INTERVAL)
    assert busy / now <= 1 / 3
