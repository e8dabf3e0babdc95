"""The last few passes of each release, for its page and API detail (`recentPasses`).

The catalog records each pass's reports here as the loop hands them over; only a short
line per pass is kept (no change set, no diff), at most `KEPT_PASSES` per release, and
the releases a whole pass no longer reports are forgotten, so memory stays bounded.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from reconciler.reconcile import PassReport, ReleaseReport
from reconciler.types import JsonObject, ReleaseKey

KEPT_PASSES = 10


@dataclass(frozen=True)
class PassLine:
    """One pass over one release, as its page lists it."""

    time: datetime
    revision: str
    outcome: str
    seconds: float | None
    message: str

    @classmethod
    def of(cls, report: ReleaseReport, *, revision: str, time: datetime) -> PassLine:
        summary = report.changes.summary() if report.changes is not None else ""
        message = "; ".join(part for part in (summary, report.message) if part)
        return cls(time, revision, str(report.outcome), report.seconds, message)

    def to_json(self) -> JsonObject:
        return {
            "time": f"{self.time.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}",
            "revision": self.revision,
            "outcome": self.outcome,
            "seconds": round(self.seconds, 3) if self.seconds is not None else None,
            "message": self.message,
        }


class PassHistory:
    """Each release's last `KEPT_PASSES` passes, newest first; not thread-safe (the catalog
    holds its lock around it)."""

    def __init__(self) -> None:
        self._lines: dict[ReleaseKey, deque[PassLine]] = {}

    def record(self, report: PassReport, *, time: datetime, whole: bool) -> None:
        """Add a line per release of `report`; a `whole` pass (every release of the
        repository) also forgets the releases it does not report."""
        if whole:
            for key in self._lines.keys() - report.releases.keys():
                del self._lines[key]
        for key, release in report.releases.items():
            lines = self._lines.setdefault(key, deque(maxlen=KEPT_PASSES))
            lines.appendleft(PassLine.of(release, revision=report.revision, time=time))

    def of(self, key: ReleaseKey) -> Iterable[PassLine]:
        return tuple(self._lines.get(key, ()))
