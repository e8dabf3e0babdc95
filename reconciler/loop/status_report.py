"""The status branch of `harmonia run`: each pass's status files, committed and pushed.

A full pass (every interval, or after a push) commits at once. What the watches cause
between them (a pass of one release, a release becoming Ready) is coalesced: the
reports since the last commit are kept, and the files are committed at most once per
`status_interval`, so a rollout does not flood Git. Files are composed from the live
statuses (read from the reflectors when the reconciler watches) and those reports.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reconciler.desired import DesiredState
from reconciler.kube.client import KubeClient
from reconciler.kube.errors import KubeError
from reconciler.kube.watch import Watches
from reconciler.loop.metrics import Metrics
from reconciler.loop.settings import RunSettings
from reconciler.outcome import FAILING, Outcome
from reconciler.reconcile import ReleaseReport
from reconciler.source import SourceError
from reconciler.source.snapshot import Snapshot
from reconciler.source.status_branch import StatusBranch
from reconciler.status.files import SourceState, StatusEntry, status_files
from reconciler.status.live import ReleaseStatus, read_statuses
from reconciler.types import ReleaseKey

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Published:
    """What the files are composed from: the last pass's state and where it came from."""

    state: DesiredState
    source: SourceState
    snapshot: Snapshot


class StatusReporter:
    def __init__(
        self,
        settings: RunSettings,
        *,
        client: KubeClient,
        metrics: Metrics,
        cache_root: Path,
        source_id: str,
    ) -> None:
        self._settings = settings
        self._client = client
        self._metrics = metrics
        self._cache_root = cache_root
        self._source_id = source_id
        self.watched: Watches | None = None
        self._lock = threading.Lock()
        self._last: _Published | None = None
        self._unpublished: dict[ReleaseKey, ReleaseReport] = {}
        self._dirty = False
        self._committed_at = float("-inf")

    def publish(
        self,
        state: DesiredState,
        reports: Mapping[ReleaseKey, ReleaseReport],
        source: SourceState,
        snapshot: Snapshot,
        *,
        coalesce: bool = False,
    ) -> str | None:
        """Commit the status of `state` with these reports (of a pass, whole or scoped);
        with `coalesce`, only when the last commit is `status_interval` old, else kept for
        `flush`. The commit, or None when nothing was committed (yet)."""
        with self._lock:
            self._last = _Published(state, source, snapshot)
            self._unpublished.update(reports)
            self._dirty = True
            if coalesce and self.due_in(time.monotonic()):
                return None
            return self._commit()

    def readiness_changed(self) -> None:
        """Health changed without a pass: the files say so at the next `flush`."""
        with self._lock:
            self._dirty = self._last is not None

    def due_in(self, now: float) -> float | None:
        """Seconds until kept changes may be committed (0: now), None when none are kept."""
        if not self._dirty:
            return None
        return max(self._committed_at + self._settings.status_interval.total_seconds() - now, 0)

    def flush(self) -> str | None:
        """Commit what was kept, when it is due."""
        with self._lock:
            if self.due_in(time.monotonic()) != 0:
                return None
            return self._commit()

    def _commit(self) -> str | None:
        last = self._last
        if not self._settings.write_status or last is None or last.state.loaded.config is None:
            self._dirty = False
            return None
        reports = dict(self._unpublished)
        revision = last.source.revision
        try:
            entries = self._entries(last.state, reports)
        except KubeError as error:
            self._metrics.count_error("cluster")
            log.error("status not written: %s", error)
            return None
        dependencies = {
            key: tuple(release.dependencies.values())
            for key, release in last.state.loaded.releases.items()
        }
        branch = StatusBranch(
            self._settings.url,
            branch=last.state.loaded.config.status_branch,
            folder=last.snapshot.subfolder,
            environment=last.state.loaded.config.environment,
            credentials=self._settings.credentials,
            cache_root=self._cache_root,
            author_name=self._settings.status_author_name,
            author_email=self._settings.status_author_email,
        )

        owns = last.state.owns
        # Under sharding, the other replicas' releases: their files are theirs to write.
        kept = () if owns is None else [key for key in _present(last.state) if not owns(key)]

        def compose(current: Mapping[str, str]) -> Mapping[str, str]:
            return status_files(
                entries,
                dependencies=dependencies,
                previous=current,
                now=datetime.now(UTC),
                revision=revision,
                source=last.source,
                kept=kept,
            )

        self._committed_at = time.monotonic()
        try:
            written = branch.publish(compose, message=_status_message(reports, revision))
        except SourceError as error:
            self._metrics.count_error("status_push")
            log.error("status not pushed: %s", error)
            return None
        self._unpublished = {}
        self._dirty = False
        if written.commit is not None:
            log.info(
                "status committed to %s as %s",
                last.state.loaded.config.status_branch,
                written.commit[:12],
                extra={"revision": revision},
            )
        return written.commit

    def _entries(
        self, state: DesiredState, reports: Mapping[ReleaseKey, ReleaseReport]
    ) -> list[StatusEntry]:
        # Only this repository's releases: their health is the costly read, and another
        # installation's records may sit in namespaces this one may not read.
        statuses, problems = read_statuses(
            self._client, source=self._source_id, watched=self.watched
        )
        for problem in problems:
            log.warning("%s", problem)
        live = {status.key: status for status in statuses}
        self._metrics.set_release_states(_count_states(live.values(), reports.values()))
        keys: set[ReleaseKey] = {
            *(key for key in _present(state) if state.owns is None or state.owns(key)),
            *(key for key, entry in reports.items() if entry.outcome is not Outcome.REMOVED),
        }
        return [StatusEntry(key, live.get(key), reports.get(key)) for key in sorted(keys)]


def _present(state: DesiredState) -> set[ReleaseKey]:
    """The releases whose files are in the snapshot, valid or not."""
    return {*state.loaded.releases, *state.loaded.invalid_releases}


def _count_states(
    statuses: Iterable[ReleaseStatus], reports: Iterable[ReleaseReport]
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in statuses:
        state = str(status.health.state)
        counts[state] = counts.get(state, 0) + 1
    invalid = sum(entry.outcome is Outcome.INVALID for entry in reports)
    if invalid:
        counts[str(Outcome.INVALID)] = invalid
    return counts


def _status_message(reports: Mapping[ReleaseKey, ReleaseReport], revision: str) -> str:
    failing = sum(entry.outcome in FAILING for entry in reports.values())
    return f"status: {len(reports)} releases at {revision[:12]}" + (
        f", {failing} not applied" if failing else ""
    )
