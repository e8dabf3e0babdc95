"""What a pass says about each release and about itself; read by the log, the Events,
the status files, the metrics, the JSON API and the CLI."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from reconciler.diff.changeset import ChangeSet
from reconciler.health.model import format_duration
from reconciler.kube.errors import KubeError
from reconciler.outcome import FAILING, Failure, Outcome
from reconciler.types import JsonObject, ReleaseKey

DEFAULT_MAX_REMOVED_SHARE = 0.5
"""A snapshot that drops more than this share of the releases removes none of them
until a person confirms the removals (removal_guard.py)."""

WAITING_FOR_A_CHANGE = "waiting for a change"
RETRYING_WITH_BACKOFF = "retrying with backoff"

_Result = TypeVar("_Result")


@dataclass(frozen=True)
class NextAttempt:
    """What `harmonia run` does next about a failed release: try it again at `at` (a
    temporary failure, with backoff), or, when `at` is None (a permanent one), leave it
    alone until its inputs change."""

    at: datetime | None = None

    def describe(self, now: datetime | None = None) -> str:
        """`waiting for a change`, `retrying at 17:40:12Z`, or with `now`
        `retrying in 40s (at 17:40:12Z)`."""
        if self.at is None:
            return WAITING_FOR_A_CHANGE
        at = f"{self.at.astimezone(UTC):%H:%M:%S}Z"
        if now is None:
            return f"retrying at {at}"
        return f"retrying in {format_duration(max(self.at - now, timedelta(0)))} (at {at})"

    def summary(self) -> str:
        """The words that do not change while the failure lasts (the status files)."""
        return WAITING_FOR_A_CHANGE if self.at is None else RETRYING_WITH_BACKOFF


@dataclass(frozen=True)
class ReleaseReport:
    release: ReleaseKey
    outcome: Outcome
    message: str = ""
    changes: ChangeSet | None = None
    ready: bool | None = None
    """Whether the release was Ready when the pass left it; None when not checked."""
    drift: tuple[str, ...] = ()
    """Objects changed by hand that this pass put back (their references)."""
    seconds: float | None = None
    """How long the pass spent on it, from its start to its report (its wait included);
    None when it was decided before the pass began (invalid, blocked, not rendered)."""
    failure: Failure | None = None
    """For a Failed, Invalid or Blocked release: whether trying again may help (a
    Blocked release's is its dependency's); set where the failure is made."""
    next_attempt: NextAttempt | None = None
    """Set by `harmonia run` for a failure: when it tries again; None elsewhere."""
    warnings: tuple[str, ...] = ()
    """The warnings of the release's render (a decrypted value outside a Secret, a
    dependency's chart mismatch): logged by `run` and kept in its status file."""

    def describe(self) -> str:
        """`Applied (1.2s): 1 created; ...`: the outcome, what changed and why, as the log
        and the CLI say it after the release's name; a failure ends with whether it is
        temporary or permanent, and under `harmonia run` what happens next."""
        summary = self.changes.summary() if self.changes is not None else ""
        detail = "; ".join(part for part in (summary, self.message) if part)
        took = f" ({self.seconds:.1f}s)" if self.seconds is not None else ""
        text = f"{self.outcome}{took}" + (f": {detail}" if detail else "")
        if self.failure is not None and self.next_attempt is not None:
            text += f" [{self.failure}: {self.next_attempt.describe()}]"
        elif self.failure is not None:
            text += f" [{self.failure}]"
        return text

    def to_json(self) -> JsonObject:
        body: JsonObject = {
            "release": self.release,
            "outcome": str(self.outcome),
            "message": self.message,
        }
        if self.seconds is not None:
            body["seconds"] = round(self.seconds, 3)
        if self.changes is not None:
            body["changes"] = self.changes.to_json()
        if self.failure is not None:
            body["failure"] = str(self.failure)
        if self.warnings:
            body["warnings"] = list(self.warnings)
        if self.next_attempt is not None:
            body["nextAttempt"] = self.next_attempt.describe(datetime.now(UTC))
            if self.next_attempt.at is not None:
                body["retryAt"] = f"{self.next_attempt.at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
        return body


@dataclass(frozen=True)
class PassOptions:
    revision: str
    source: str
    """Identifies the repository: only its own releases are removed when their files go."""
    dry_run: bool = False
    prune: bool = True
    """The reconciler's default; a release's own `prune` field decides for it."""
    max_removed_share: float = DEFAULT_MAX_REMOVED_SHARE
    parallelism: int = 16
    """Releases written at the same time, of those whose dependencies are done (the work
    is waiting on the API server, so more than the cores; waiting for Ready takes none)."""
    wait: bool = True
    """Wait for each applied release to become Ready (within its timeoutSec) before its
    dependents; without it dependents of a changed release are Blocked this pass."""
    deferred: Mapping[ReleaseKey, str] = field(default_factory=dict)
    """Releases left alone this pass, with why (a failure backoff); their dependents wait."""
    held: Mapping[ReleaseKey, ReleaseReport] = field(default_factory=dict)
    """Releases not attempted this pass, each reported as it last failed: a permanent
    failure whose inputs have not changed since (the loop's); their dependents wait."""
    applied_by: str = ""
    """The shard replica applying (`harmonia run --shards`), noted in each record it
    writes; "" without sharding."""


@dataclass(frozen=True)
class PassReport:
    revision: str
    releases: Mapping[ReleaseKey, ReleaseReport]
    prune_withheld: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def failed(self) -> bool:
        return any(report.outcome in FAILING for report in self.releases.values())

    @property
    def has_changes(self) -> bool:
        return any(r.changes is not None and r.changes.has_changes for r in self.releases.values())

    def to_json(self) -> JsonObject:
        return {
            "revision": self.revision,
            "failed": self.failed,
            "pruneWithheld": self.prune_withheld,
            "releases": [self.releases[key].to_json() for key in sorted(self.releases)],
        }


def refused_alone(key: ReleaseKey, step: Callable[[], _Result]) -> _Result | ReleaseReport:
    """`step()`, or the release Failed with the API server's answer when the server said
    no to something of it: that is this release's failure, not the pass's. Only a cluster
    that does not answer (`ClusterUnreachable`, temporary) stops the pass."""
    try:
        return step()
    except KubeError as error:
        if error.temporary:
            raise
        return failed(key, str(error), Failure.PERMANENT)


def failed(
    key: ReleaseKey, message: str, failure: Failure, changes: ChangeSet | None = None
) -> ReleaseReport:
    """The release Failed, with whether trying again may help."""
    return ReleaseReport(key, Outcome.FAILED, message, changes, failure=failure)
