"""Which releases' health moved since it was last looked at: what `harmonia run`'s reactor
and `harmonia ui`'s read-only feed both turn into release events (`health_notices`).

Pure memory, no I/O: the caller reads the statuses (from the watches' reflectors) and
says what a move means (a log line, a Kubernetes Event, an event on the bus).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.health import ReleaseState
from reconciler.status.live import ReleaseStatus
from reconciler.types import ReleaseKey


@dataclass(frozen=True)
class HealthMove:
    """A release seen in another state than before (`before` None: seen for the first time)."""

    status: ReleaseStatus
    before: ReleaseState | None


class HealthMemory:
    """Each release's last state seen; thread-safe."""

    def __init__(self) -> None:
        self._states: dict[ReleaseKey, ReleaseState] = {}
        self._lock = threading.Lock()

    def moves(
        self, statuses: Iterable[ReleaseStatus], *, first_sight: bool = False
    ) -> list[HealthMove]:
        """The statuses whose state differs from the one last seen, which they replace; a
        release never seen before is a move only with `first_sight`."""
        moved: list[HealthMove] = []
        with self._lock:
            for status in statuses:
                state = status.health.state
                before = self._states.get(status.key)
                self._states[status.key] = state
                if before != state and (before is not None or first_sight):
                    moved.append(HealthMove(status, before))
        return moved
