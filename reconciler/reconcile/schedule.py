"""When each release of a pass may start: once every dependency of the pass has its
report, and only if that report lets it (the gate). A slow or failing release holds
back its dependents, nobody else. Releases whose inputs changed go first, with what
they wait on, so a push that changes one release of a thousand reaches it at once
instead of after the releases that only need checking. Among those, a release with
longer chains of dependents below it goes first: its wait for Ready then overlaps the
writes of the releases nobody waits for, instead of starting after them (a cold pass of
a thousand releases otherwise waited for a hub of fifty dependents only once every
release before it by name was written)."""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable, Mapping

from reconciler.outcome import FAILING, Failure, Outcome
from reconciler.reconcile.report import ReleaseReport
from reconciler.types import ReleaseKey


class StartOrder:
    """The releases a pass has still to start, each free to start once every dependency
    of this pass has its report (the others were reported before the pass began, or are
    not in it)."""

    def __init__(
        self,
        dependencies: Mapping[ReleaseKey, Iterable[ReleaseKey]],
        *,
        changed: Collection[ReleaseKey] = (),
    ) -> None:
        """`dependencies`: each release of the pass with what it depends on (those
        outside the pass are not waited for); `changed`: releases whose inputs changed."""
        in_pass = set(dependencies)
        self._waiting_on = {
            key: {target for target in targets if target in in_pass}
            for key, targets in dependencies.items()
        }
        self._dependents: dict[ReleaseKey, list[ReleaseKey]] = {}
        for key, targets in self._waiting_on.items():
            for target in targets:
                self._dependents.setdefault(target, []).append(key)
        self._first = _with_what_they_wait_on(
            {key for key in changed if key in in_pass}, self._waiting_on
        )
        self._height = _heights(self._waiting_on)
        self._free: list[tuple[bool, int, ReleaseKey]] = []
        for key, targets in self._waiting_on.items():
            if not targets:
                self._make_free(key)
        self._left = len(in_pass)

    def __bool__(self) -> bool:
        """Whether some release has not been started yet."""
        return self._left > 0

    def startable(self, room: int) -> list[ReleaseKey]:
        """Up to `room` releases free to start now, taken (each is returned once): those
        whose inputs changed and what they wait on first, then those with the longest
        chain of dependents below them, then by name. Taking no more
        than there are workers keeps a release freed later from queueing behind every
        release freed before it."""
        taken = [heapq.heappop(self._free)[2] for _ in range(min(room, len(self._free)))]
        self._left -= len(taken)
        return taken

    def reported(self, key: ReleaseKey) -> None:
        for dependent in self._dependents.get(key, ()):
            self._waiting_on[dependent].discard(key)
            if not self._waiting_on[dependent]:
                self._make_free(dependent)

    def _make_free(self, key: ReleaseKey) -> None:
        heapq.heappush(self._free, (key not in self._first, -self._height[key], key))


def _with_what_they_wait_on(
    keys: set[ReleaseKey], waiting_on: Mapping[ReleaseKey, set[ReleaseKey]]
) -> set[ReleaseKey]:
    """`keys` and every release of the pass they wait on, however far down."""
    found: set[ReleaseKey] = set()
    todo = list(keys)
    while todo:
        key = todo.pop()
        if key not in found:
            found.add(key)
            todo.extend(waiting_on[key])
    return found


def _heights(waiting_on: Mapping[ReleaseKey, set[ReleaseKey]]) -> dict[ReleaseKey, int]:
    """Each release's longest chain of dependents in the pass (0 when none waits on it),
    found from the releases nobody waits on down (no recursion: chains may be long)."""
    dependents_left = {key: 0 for key in waiting_on}
    for targets in waiting_on.values():
        for target in targets:
            dependents_left[target] += 1
    height = dict.fromkeys(waiting_on, 0)
    ready = [key for key, count in dependents_left.items() if count == 0]
    while ready:
        key = ready.pop()
        for target in waiting_on[key]:
            height[target] = max(height[target], height[key] + 1)
            dependents_left[target] -= 1
            if dependents_left[target] == 0:
                ready.append(target)
    return height


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
