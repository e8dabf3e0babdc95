"""Failure backoff: exponential growth up to a cap, forgotten on success or a new commit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reconciler.loop.backoff import BackoffPolicy, FailureBackoff
from reconciler.types import ReleaseKey

NOW = datetime(2026, 11, 23, 22, 0, 0, tzinfo=UTC)
WEB = ReleaseKey("shop/web")
DB = ReleaseKey("shop/db")


def failed(backoff: FailureBackoff, key: ReleaseKey, times: int) -> None:
    for _ in range(times):
        backoff.record(key, failed=True, now=NOW)


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(1, 30), (2, 60), (3, 120), (5, 480), (6, 900), (7, 900), (5000, 900)],
)
def test_each_failure_doubles_the_wait_up_to_the_cap(failures: int, expected: int) -> None:
    assert BackoffPolicy().delay(failures) == timedelta(seconds=expected)


@pytest.mark.parametrize(
    ("policy", "failures", "expected"),
    [
        (BackoffPolicy(base=timedelta(seconds=10), factor=3.0), 3, timedelta(seconds=90)),
        (BackoffPolicy(factor=1.0), 9, timedelta(seconds=30)),
        (BackoffPolicy(cap=timedelta(seconds=45)), 2, timedelta(seconds=45)),
    ],
    ids=["factor three", "constant", "low cap"],
)
def test_the_policy_shapes_the_wait(
    policy: BackoffPolicy, failures: int, expected: timedelta
) -> None:
    assert policy.delay(failures) == expected


@pytest.mark.parametrize(
    ("failures", "message"),
    [
        (1, "failed once; next attempt after 22:00:30Z (backoff 30s)"),
        (3, "failed 3 times in a row; next attempt after 22:02:00Z (backoff 2m0s)"),
        (9, "failed 9 times in a row; next attempt after 22:15:00Z (backoff 15m0s)"),
    ],
)
def test_a_failing_release_waits_with_a_message_saying_how_long(
    failures: int, message: str
) -> None:
    backoff = FailureBackoff()
    failed(backoff, WEB, failures)
    assert backoff.waiting(NOW) == {WEB: message}


@pytest.mark.parametrize("failures", [1, 4])
def test_a_success_forgets_the_streak(failures: int) -> None:
    backoff = FailureBackoff()
    failed(backoff, WEB, failures)
    backoff.record(WEB, failed=False, now=NOW)
    assert backoff.waiting(NOW) == {}
    backoff.record(WEB, failed=True, now=NOW)
    assert backoff.waiting(NOW)[WEB].startswith("failed once;")


@pytest.mark.parametrize("failures", [1, 3, 20])
def test_a_new_commit_resets_every_release(failures: int) -> None:
    backoff = FailureBackoff()
    failed(backoff, WEB, failures)
    failed(backoff, DB, 1)
    backoff.reset()
    assert backoff.waiting(NOW) == {}
    backoff.record(WEB, failed=True, now=NOW)
    assert backoff.waiting(NOW)[WEB].startswith("failed once;")


@pytest.mark.parametrize(
    ("later", "still_waiting"),
    [
        (timedelta(0), {WEB, DB}),
        (timedelta(seconds=29), {WEB, DB}),
        (timedelta(seconds=30), {DB}),
        (timedelta(seconds=119), {DB}),
        (timedelta(seconds=120), set()),
    ],
)
def test_the_waiting_set_shrinks_as_time_passes(
    later: timedelta, still_waiting: set[ReleaseKey]
) -> None:
    backoff = FailureBackoff()
    failed(backoff, WEB, 1)
    failed(backoff, DB, 3)
    assert set(backoff.waiting(NOW + later)) == still_waiting


def test_a_failure_after_the_wait_lengthens_the_streak() -> None:
    backoff = FailureBackoff()
    failed(backoff, WEB, 1)
    backoff.record(WEB, failed=True, now=NOW + timedelta(seconds=30))
    assert backoff.waiting(NOW + timedelta(seconds=30)) == {
        WEB: "failed 2 times in a row; next attempt after 22:01:30Z (backoff 1m0s)"
    }


@pytest.mark.parametrize(
    ("base", "factor", "cap"),
    [
        (timedelta(0), 2.0, timedelta(minutes=15)),
        (timedelta(minutes=20), 2.0, timedelta(minutes=15)),
        (timedelta(seconds=30), 0.5, timedelta(minutes=15)),
    ],
    ids=["zero base", "base above cap", "shrinking factor"],
)
def test_the_policy_refuses_waits_that_do_not_grow_sensibly(
    base: timedelta, factor: float, cap: timedelta
) -> None:
    with pytest.raises(ValueError, match="backoff"):
        BackoffPolicy(base=base, factor=factor, cap=cap)
