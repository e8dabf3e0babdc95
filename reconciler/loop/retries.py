"""The error contract, obeyed by `harmonia run`: what the loop does next about each failure.

A release that failed *temporarily* (the cluster, a chart server or Git did not answer,
it was not Ready within its timeout) is retried with backoff (backoff.py), and a pass
runs when its retry is due, not only at the next interval tick. A release that failed
*permanently* (a render error, a refusal, a failed hook) is not attempted again until
what it would be rendered with changes: a new commit (which forgets everything), or new
outputs of a dependency; until then each pass reports it as it last failed, "waiting
for a change". A pass that fails as a whole for a while (Git or the cluster did not
answer) is retried with the same backoff. Memory only: a restart retries everything.

Pure: callers pass the time; nothing here reads a clock or the cluster.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from reconciler.loop.backoff import BackoffPolicy, FailureBackoff, FailureStreak, next_streak
from reconciler.outcome import Failure, Outcome
from reconciler.reconcile.report import NextAttempt, PassReport, ReleaseReport
from reconciler.render.model import DependedRelease
from reconciler.render.pipeline import ReleaseProblem
from reconciler.types import ReleaseKey

_SUCCEEDED = frozenset({Outcome.APPLIED, Outcome.UNCHANGED, Outcome.PLANNED})


def inputs_digest(depended: Mapping[str, DependedRelease]) -> str:
    """What a release is rendered with beyond its commit: each dependency's release,
    outputs and chart, by alias. Equal digests at one commit render the same."""
    plain = {
        alias: [str(found.key), found.outputs, found.chart_name, found.chart_version]
        for alias, found in depended.items()
    }
    text = json.dumps(plain, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class _Held:
    """A permanent failure and the inputs it failed with."""

    inputs: str
    report: ReleaseReport
    at_render: bool
    """It failed to render: it is not rendered again (else it is rendered, for its
    dependents' sake, but not applied)."""


class Retries:
    """The failures of one `harmonia run`, from pass to pass."""

    def __init__(self, policy: BackoffPolicy) -> None:
        self.policy = policy
        self._backoff = FailureBackoff(policy)
        self._held: dict[ReleaseKey, _Held] = {}
        self._inputs: dict[ReleaseKey, str] = {}
        self._holding: set[ReleaseKey] = set()
        self._pass: FailureStreak | None = None

    def new_revision(self) -> None:
        """A new commit: every release gets tried again, streaks start over."""
        self._backoff.reset()
        self._held.clear()

    def begin_pass(self) -> None:
        self._inputs.clear()
        self._holding.clear()

    def hold(
        self, key: ReleaseKey, depended: Mapping[str, DependedRelease]
    ) -> ReleaseProblem | None:
        """The render's `hold`: notes what `key` renders with this pass; a permanent
        failure whose inputs are the same is held (not rendered again if it failed to
        render), one whose inputs changed is forgotten and tried again."""
        inputs = self._inputs[key] = inputs_digest(depended)
        held = self._held.get(key)
        if held is None:
            return None
        if held.inputs != inputs:
            del self._held[key]
            return None
        self._holding.add(key)
        return ReleaseProblem(held.report.message) if held.at_render else None

    def deferred(self, now: datetime) -> dict[ReleaseKey, str]:
        """The releases still inside their backoff at `now`, each with why and until when."""
        return self._backoff.waiting(now)

    def held(self) -> dict[ReleaseKey, ReleaseReport]:
        """The releases this pass does not attempt, each as it last failed."""
        return {key: self._held[key].report for key in self._holding}

    def after_pass(
        self, report: PassReport, *, render_failed: frozenset[ReleaseKey], now: datetime
    ) -> PassReport:
        """Records each release's result and returns the report with what the loop does
        next about each failure (`next_attempt`)."""
        releases: dict[ReleaseKey, ReleaseReport] = {}
        for key, entry in report.releases.items():
            releases[key] = self._record(entry, render_failed=key in render_failed, now=now)
        return dataclasses.replace(report, releases=releases)

    def _record(self, entry: ReleaseReport, *, render_failed: bool, now: datetime) -> ReleaseReport:
        key = entry.release
        if entry.outcome in _SUCCEEDED:
            self._backoff.record(key, failed=False, now=now)
            self._held.pop(key, None)
            return entry
        if entry.outcome is Outcome.DEFERRED:
            retry_at = self._backoff.retry_at(key)
            if retry_at is None:
                return entry  # the reconciler is stopping
            return dataclasses.replace(entry, next_attempt=NextAttempt(retry_at))
        if entry.outcome not in (Outcome.FAILED, Outcome.INVALID):
            return entry  # Blocked follows its dependency; the rest are done with
        if entry.failure is not Failure.PERMANENT:  # unflagged: retrying is the safe side
            self._backoff.record(key, failed=True, now=now)
            self._held.pop(key, None)
            return dataclasses.replace(entry, next_attempt=NextAttempt(self._backoff.retry_at(key)))
        self._backoff.record(key, failed=False, now=now)
        if key not in self._holding and key in self._inputs:
            self._held[key] = _Held(self._inputs[key], entry, at_render=render_failed)
        return dataclasses.replace(entry, next_attempt=NextAttempt(None))

    def pass_failed(self, now: datetime) -> datetime:
        """The pass failed as a whole for a while (Git or the cluster did not answer):
        when to try it again."""
        self._pass = next_streak(self._pass, self.policy, now)
        return self._pass.retry_at

    def pass_done(self) -> None:
        """The pass ran, or failed in a way a retry does not help: no pass-level backoff."""
        self._pass = None

    def next_due(self, now: datetime) -> datetime | None:
        """When a pass should run for a retry, if before anything else asks: the first
        backoff to end after `now`, the pass's own included."""
        due = [
            at
            for at in (self._backoff.next_due(now), self._pass.retry_at if self._pass else None)
            if at is not None and at > now
        ]
        return min(due, default=None)
