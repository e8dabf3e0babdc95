"""The passes the cluster and Git have asked for, coalesced.

A rollout makes hundreds of watch events and a merge can bring a burst of pushes: each
asks for a pass (of some releases, or of the whole repository after a fetch), and this
queue turns a burst into one pass, started once the burst has been quiet for `quiet`
seconds or `longest` after its first request, whichever comes first. Pure apart from
its lock: the caller passes the time in.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from reconciler.types import ReleaseKey

QUIET_SECONDS = 0.5
LONGEST_SECONDS = 2.0


@dataclass(frozen=True)
class PassRequest:
    """One pass owed: of the whole repository (`full`, after a fetch when `fetch`), or of
    `releases` with what they depend on; `reasons` say why, for the log."""

    releases: frozenset[ReleaseKey] = frozenset()
    full: bool = False
    fetch: bool = False
    reasons: tuple[str, ...] = ()
    syncs: tuple[tuple[ReleaseKey, str], ...] = ()
    """Sync requests this pass answers: (release, the time it was requested at)."""

    def merged(self, other: PassRequest) -> PassRequest:
        full = self.full or other.full
        return PassRequest(
            frozenset() if full else self.releases | other.releases,
            full=full,
            fetch=self.fetch or other.fetch,
            reasons=tuple(dict.fromkeys((*self.reasons, *other.reasons))),
            syncs=tuple(dict.fromkeys((*self.syncs, *other.syncs))),
        )


class PassQueue:
    def __init__(self, *, quiet: float = QUIET_SECONDS, longest: float = LONGEST_SECONDS) -> None:
        self._quiet = quiet
        self._longest = longest
        self._pending: PassRequest | None = None
        self._first = 0.0
        self._last = 0.0
        self._changed = threading.Condition()

    def add(self, request: PassRequest, *, now: float) -> None:
        with self._changed:
            if self._pending is None:
                self._pending, self._first = request, now
            else:
                self._pending = self._pending.merged(request)
            self._last = now
            self._changed.notify_all()

    def due_in(self, now: float) -> float | None:
        """Seconds until the pending pass is due (0 when it is), None when none is owed."""
        with self._changed:
            if self._pending is None:
                return None
            due = min(self._last + self._quiet, self._first + self._longest)
            return max(due - now, 0.0)

    def pending(self) -> PassRequest | None:
        """The pass owed, due or not, left pending (what the reconciler page shows)."""
        with self._changed:
            return self._pending

    def take(self, now: float) -> PassRequest | None:
        """The pass owed, when it is due; it is no longer pending."""
        with self._changed:
            if self._pending is None or self.due_in(now):
                return None
            taken, self._pending = self._pending, None
            return taken

    def wait(self, timeout: float) -> None:
        """Sleep until a request is added or `timeout` passes."""
        with self._changed:
            self._changed.wait(timeout)
