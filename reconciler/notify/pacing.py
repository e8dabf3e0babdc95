"""How fast and how often the dispatcher sends: a token bucket per receiver, the wait
before a retry, and the bounded memory of what was sent.

Pure: the caller passes the time in (monotonic seconds), so nothing here reads a clock.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from reconciler.notify.config import RateLimit


class TokenBucket:
    """`burst` requests at once, then `per_second` on average."""

    def __init__(self, limit: RateLimit, *, now: float) -> None:
        self._rate = limit.per_second
        self._burst = float(limit.burst)
        self._tokens = self._burst
        self._at = now

    def _refill(self, now: float) -> None:
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now

    def ready_at(self, now: float) -> float:
        """When the next request may go: `now` if a token is there."""
        self._refill(now)
        return now if self._tokens >= 1 else now + (1 - self._tokens) / self._rate

    def take(self, now: float) -> None:
        self._refill(now)
        self._tokens -= 1


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    """Attempts of one delivery, the first included."""
    base: float = 1.0
    """Seconds before the second attempt; doubled for each one after."""
    cap: float = 60.0
    """Longest wait before an attempt, also for a receiver's `Retry-After`."""
    rest: float = 30.0
    """After a delivery failed every attempt, seconds before the receiver's next one is
    tried: a receiver that is down is not hammered by the queue behind it."""

    def delay(self, failed_attempts: int, retry_after: float | None) -> float:
        """Seconds before the next attempt after `failed_attempts` (at least 1) failed."""
        backoff = self.base * 2.0 ** (failed_attempts - 1)
        wanted = max(backoff, retry_after) if retry_after is not None else backoff
        return min(wanted, self.cap)


class SentKeys:
    """The delivery keys sent, the oldest forgotten beyond `limit` (a forgotten failure
    said again is sent again: better twice than a memory that grows without end)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._keys: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self._limit:
            self._keys.popitem(last=False)
