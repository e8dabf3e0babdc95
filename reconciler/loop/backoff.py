"""Exponential backoff for what keeps failing for a while, forgotten when a new commit arrives.

Part of the loop around the pipeline (retries.py): after each pass the loop records the
result of every release that failed temporarily here, leaves out the releases still
inside their backoff, and runs a pass when the first of them is due. Pure: callers pass
the time, nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reconciler.health.model import format_duration
from reconciler.types import ReleaseKey


@dataclass(frozen=True)
class BackoffPolicy:
    """Wait `base` after the first failure, `factor` times longer after each further one,
    never longer than `cap`."""

    base: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    cap: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if not timedelta(0) < self.base <= self.cap:
            raise ValueError(
                f"backoff: need 0 < base <= cap, got base {format_duration(self.base)} "
                f"and cap {format_duration(self.cap)}"
            )
        if self.factor < 1:
            raise ValueError(f"backoff: the factor must be at least 1, got {self.factor}")

    def delay(self, failures: int) -> timedelta:
        """How long to wait after `failures` failures in a row (1 or more)."""
        try:
            grown = self.base * self.factor ** (failures - 1)
        except OverflowError:
            return self.cap
        return min(grown, self.cap)


@dataclass(frozen=True)
class FailureStreak:
    """A release's failures in a row and when it may be tried again."""

    failures: int
    delay: timedelta
    retry_at: datetime

    def describe(self) -> str:
        times = "once" if self.failures == 1 else f"{self.failures} times in a row"
        return (
            f"failed {times}; next attempt after {self.retry_at.astimezone(UTC):%H:%M:%S}Z "
            f"(backoff {format_duration(self.delay)})"
        )


def next_streak(
    previous: FailureStreak | None, policy: BackoffPolicy, now: datetime
) -> FailureStreak:
    """The streak after one more failure at `now`."""
    failures = previous.failures + 1 if previous else 1
    delay = policy.delay(failures)
    return FailureStreak(failures, delay, now + delay)


class FailureBackoff:
    """Failure streaks per release, between passes of the loop."""

    def __init__(self, policy: BackoffPolicy = BackoffPolicy()) -> None:
        self.policy = policy
        self._streaks: dict[ReleaseKey, FailureStreak] = {}

    def record(self, key: ReleaseKey, *, failed: bool, now: datetime) -> None:
        """A pass's result for `key`: a failure lengthens its streak, a success ends it."""
        if not failed:
            self._streaks.pop(key, None)
            return
        self._streaks[key] = next_streak(self._streaks.get(key), self.policy, now)

    def retry_at(self, key: ReleaseKey) -> datetime | None:
        """When `key` may be tried again; None when it is not failing."""
        streak = self._streaks.get(key)
        return streak.retry_at if streak is not None else None

    def next_due(self, now: datetime) -> datetime | None:
        """The first retry time after `now`: when a pass should run for the backoff. One
        already past was due in the pass that has just run."""
        return min((s.retry_at for s in self._streaks.values() if s.retry_at > now), default=None)

    def reset(self) -> None:
        """A new commit: every release gets tried again, streaks start over."""
        self._streaks.clear()

    def waiting(self, now: datetime) -> dict[ReleaseKey, str]:
        """The releases still inside their backoff at `now`, each with why and until when."""
        return {
            key: streak.describe() for key, streak in self._streaks.items() if now < streak.retry_at
        }
