"""The last few passes of each release, and its last change, for its page and API detail
(`recentPasses`, `lastChange`).

The catalog records each pass's reports here as the loop hands them over: a short line per
pass (no change set, no diff), at most `KEPT_PASSES` per release, and the report of the
last pass that changed something, whose change set holds the masked diffs (a periodic pass
that finds nothing to do would otherwise hide them). The releases a whole pass no longer
reports are forgotten, so memory stays bounded.
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


@dataclass(frozen=True)
class LastChange:
    """The last pass that created, configured or deleted objects of a release."""

    line: PassLine
    report: ReleaseReport

    def to_json(self) -> JsonObject:
        changes = self.report.changes.to_json() if self.report.changes is not None else None
        return {**self.line.to_json(), "message": self.report.message, "changes": changes}


class PassHistory:
    """Each release's last `KEPT_PASSES` passes, newest first, and its last change; not
    thread-safe (the catalog holds its lock around it)."""

    def __init__(self) -> None:
        self._lines: dict[ReleaseKey, deque[PassLine]] = {}
        self._changes: dict[ReleaseKey, LastChange] = {}

    def record(self, report: PassReport, *, time: datetime, whole: bool) -> None:
        """Add a line per release of `report`; a `whole` pass (every release of the
        repository) also forgets the releases it does not report."""
        if whole:
            for key in self._lines.keys() - report.releases.keys():
                del self._lines[key]
            for key in self._changes.keys() - report.releases.keys():
                del self._changes[key]
        for key, release in report.releases.items():
            line = PassLine.of(release, revision=report.revision, time=time)
            self._lines.setdefault(key, deque(maxlen=KEPT_PASSES)).appendleft(line)
            if release.changes is not None and release.changes.has_changes:
                self._changes[key] = LastChange(line, release)

    def of(self, key: ReleaseKey) -> Iterable[PassLine]:
        return tuple(self._lines.get(key, ()))

    def last_change(self, key: ReleaseKey) -> LastChange | None:
        return self._changes.get(key)
