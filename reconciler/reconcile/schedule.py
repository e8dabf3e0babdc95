"""When each release of a pass may start: once every dependency of the pass has its
report, and only if that report lets it (the gate). A slow or failing release holds
back its dependents, nobody else."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reconciler.desired import DesiredState
from reconciler.outcome import FAILING, Failure, Outcome
from reconciler.reconcile.report import ReleaseReport
from reconciler.types import ReleaseKey


class StartOrder:
    """The releases a pass has still to start, each free to start once every dependency
    of this pass has its report (the others were reported before the pass began, or are
    not in it)."""

    def __init__(self, state: DesiredState, keys: Iterable[ReleaseKey]) -> None:
        in_pass = set(keys)
        self._waiting_on = {
            key: {t for t in state.loaded.releases[key].dependencies.values() if t in in_pass}
            for key in in_pass
        }
        self._dependents: dict[ReleaseKey, list[ReleaseKey]] = {}
        for key, targets in self._waiting_on.items():
            for target in targets:
                self._dependents.setdefault(target, []).append(key)
        self._free = sorted(key for key, targets in self._waiting_on.items() if not targets)
        self._left = len(in_pass)

    def __bool__(self) -> bool:
        """Whether some release has not been started yet."""
        return self._left > 0

    def startable(self) -> list[ReleaseKey]:
        """The releases free to start now, taken: each is returned once."""
        free, self._free = self._free, []
        self._left -= len(free)
        return free

    def reported(self, key: ReleaseKey) -> None:
        for dependent in self._dependents.get(key, ()):
            self._waiting_on[dependent].discard(key)
            if not self._waiting_on[dependent]:
                self._free.append(dependent)


def gate(
    key: ReleaseKey,
    dependencies: Iterable[ReleaseKey],
    *,
    reports: Mapping[ReleaseKey, ReleaseReport],
    changed: set[ReleaseKey],
) -> ReleaseReport | None:
    """The release Blocked, with why it must wait for a dependency of this pass, or None.

    Its failure is the dependency's (a dependency left for later, or not Ready yet, is a
    temporary matter): it is tried again whenever its dependency is.
    """
    for target in dependencies:
        report = reports.get(target)
        if report is None:
            continue  # external, or not in this pass: its outputs were found when rendering
        if report.outcome in FAILING or report.outcome is Outcome.DEFERRED:
            reason = f"dependency {target} is {report.outcome}: {report.message}"
            return _blocked(key, reason, report.failure or Failure.TEMPORARY)
        if report.ready is False:
            reason = f"dependency {target} is not Ready: {report.message}"
            return _blocked(key, reason, Failure.TEMPORARY)
        if target in changed and report.ready is None and report.outcome is not Outcome.PLANNED:
            reason = f"dependency {target} changed and its readiness was not checked"
            return _blocked(key, reason, Failure.TEMPORARY)
    return None


def _blocked(key: ReleaseKey, reason: str, failure: Failure) -> ReleaseReport:
    return ReleaseReport(key, Outcome.BLOCKED, reason, failure=failure)
