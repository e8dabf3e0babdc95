"""One reconcile cycle of `harmonia run`: fetch, desired state, pass, status commit, reports.

The scheduler, the lease and the signals live in `service.py`; this module is the
work of one tick, remembering only what must carry from pass to pass (the last
content revision, the failures: retries.py). Every failure ends up in the result and
the metrics, never as an exception out of `run_pass`; `next_due` says when a retry
wants the next pass.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from reconciler.apply.external_outputs import external_outputs_from
from reconciler.desired import DesiredState, Owns, Tools, compute_desired_state
from reconciler.health import ReleaseState
from reconciler.health.model import format_duration
from reconciler.kube.client import KubeClient
from reconciler.kube.connection import capabilities
from reconciler.kube.errors import ClusterUnreachable, KubeError
from reconciler.kube.watch import Watches
from reconciler.loop.backoff import BackoffPolicy
from reconciler.loop.catalog import ReleaseCatalog, RevisionLinks
from reconciler.loop.event_bus import EventBus, pass_notices
from reconciler.loop.events import Notice, emit_events
from reconciler.loop.loop_journal import LoopJournal, pass_record
from reconciler.loop.metrics import Metrics
from reconciler.loop.pass_queue import PassRequest
from reconciler.loop.retries import Retries
from reconciler.loop.settings import RunSettings
from reconciler.loop.shard_set import ShardSet, ShardView
from reconciler.loop.status_report import StatusReporter
from reconciler.notify.forge.web import commit_links
from reconciler.policy import Policy
from reconciler.reconcile import (
    FAILING,
    Outcome,
    PassOptions,
    PassReport,
    ReleaseReport,
    reconcile,
)
from reconciler.reconcile.report import WAITING_FOR_A_CHANGE
from reconciler.release_requests import EnvironmentChoiceError, environment_source
from reconciler.release_requests.model import RepositoryConfig
from reconciler.render.environment import VersionChoice, choose_versions
from reconciler.render.model import RenderError
from reconciler.source import GitSource, Snapshot, SourceError
from reconciler.status.files import SourceState
from reconciler.types import ReleaseKey, split_release_key

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_UNREACHABLE = 0, 1, 3


@dataclass(frozen=True)
class CycleResult:
    """What one cycle did, for the exit code of `--once`, the logs and the tests."""

    revision: str | None = None
    report: PassReport | None = None
    problem: str | None = None
    """Why the cycle stopped early or went wrong (a Git, cluster or repository error)."""
    unreachable: bool = False
    """The Git remote or the cluster could not be reached (exit code 3)."""
    status_commit: str | None = None
    crashed: bool = False
    """The pass ended in an unexpected exception (a bug): logged with its traceback."""
    stopped: bool = False
    """The API server refused what no single release stands for (listing the inventory
    records): the pass stopped, and will again until the reconciler's rights change."""
    temporary: bool = False
    """The pass failed, or ran on a stale commit, because Git or the cluster did not
    answer: the loop tries it again with backoff."""

    @property
    def exit_code(self) -> int:
        if self.unreachable:
            return EXIT_UNREACHABLE
        if self.problem is not None or self.report is None or self.report.failed:
            return EXIT_FAILED
        return EXIT_OK


class Cycle:
    """The pass-to-pass memory of one `harmonia run` and the work of each tick."""

    def __init__(
        self,
        settings: RunSettings,
        *,
        client: KubeClient,
        policy: Policy,
        tools: Tools,
        metrics: Metrics,
        instance: str,
        cache_root: Path,
        retrying: bool = True,
        shards: ShardSet | None = None,
    ) -> None:
        """`retrying`: more passes follow in this process, which retry failures (not with
        `--once`, whose next run tries everything: nothing is said of a next attempt).
        `shards`: the shard set this replica is in (`--shards`): each pass takes only the
        releases the set's live holders assign it."""
        self._settings = settings
        self._client = client
        self._policy = policy
        self._tools = tools
        self._metrics = metrics
        self._instance = instance
        self._cache_root = cache_root
        self._source = GitSource(
            settings.url,
            ref=settings.ref,
            subfolder=settings.subfolder,
            credentials=settings.credentials,
            cache_root=cache_root / "git",
            timeout=settings.git_timeout.total_seconds(),
        )
        self._retries = Retries(BackoffPolicy(base=settings.backoff_base, cap=settings.backoff_max))
        self._retrying = retrying
        self.shards = shards
        self.shard_view: ShardView | None = None
        """The shard set as the last pass saw it (None: no sharding, or no pass yet)."""
        self._revision: str | None = None
        commits = commit_links(settings.url, settings.forge)
        self.catalog = ReleaseCatalog(
            client,
            source=None if settings.api_scope == "all" else self.source_id,
            links=RevisionLinks(self.source_id, commits) if commits is not None else None,
        )
        """What the JSON API serves, updated after each pass."""
        self.events = EventBus(redact=self.catalog.masked)
        """What `GET /api/v1/events` streams: what the passes and the reactor say."""
        self.status = StatusReporter(
            settings,
            client=client,
            metrics=metrics,
            cache_root=cache_root,
            source_id=self.source_id,
        )
        self.watched: Watches | None = None
        """The reflectors of the reactor (reactor.py), read instead of listing."""
        self.state: DesiredState | None = None
        """The last pass's desired state (what the reactor classifies changes against)."""
        self._snapshot: Snapshot | None = None
        self._passing = threading.Lock()
        self.journal = LoopJournal()
        """The passes, errors and deliveries the reconciler page shows."""
        self.release_labels: dict[ReleaseKey, Mapping[str, str]] = {}
        """Each release's releaseLabels as last loaded, kept after its file left Git (the
        receivers' filters see them on its Removed event too)."""

    @property
    def source_id(self) -> str:
        subfolder = self._settings.subfolder.strip("/")
        return self._settings.source_id or environment_source(
            f"{self._source.url}//{subfolder}" if subfolder else self._source.url,
            self._settings.environment,
        )

    def watch(self, watched: Watches) -> None:
        self.watched = watched
        self.status.watched = watched
        self.catalog.watched = watched

    def run_pass(
        self,
        *,
        stopping: Callable[[], bool] = lambda: False,
        request: PassRequest | None = None,
        why: str = "the interval",
    ) -> CycleResult:
        """One pass, one at a time: of the whole repository after a fetch (a tick, or
        `request` full), or of `request`'s releases on the last commit fetched. A bug in
        it is a crashed pass in the result and the metrics (the next tick tries again),
        never an exception. `why` (a tick's; a request says its own) goes to `journal`."""
        if request is not None and request.reasons:
            why = "; ".join(request.reasons)
        with self._passing:
            started = datetime.now(UTC)
            self.journal.pass_started(started, why)
            result = self._guarded_pass(stopping, request)
            self.journal.pass_finished(
                pass_record(
                    result.report,
                    started=started,
                    finished=datetime.now(UTC),
                    why=why,
                    revision=result.revision,
                    problem=result.problem,
                    masked=self.catalog.masked,
                )
            )
            return result

    def _guarded_pass(
        self, stopping: Callable[[], bool], request: PassRequest | None
    ) -> CycleResult:
        try:
            result = self._run_pass(stopping=stopping, request=request)
        except Exception as error:
            log.exception("pass crashed")
            self._metrics.observe_unfinished("crash")
            result = CycleResult(problem=f"pass crashed: {error}", crashed=True)
        if not result.temporary or not self._retrying:
            self._retries.pass_done()
            return result
        now = datetime.now(UTC)
        retry_at = self._retries.pass_failed(now)
        log.warning(
            "pass to be tried again in %s (at %s): %s",
            format_duration(retry_at - now),
            f"{retry_at:%H:%M:%S}Z",
            result.problem,
        )
        return result

    def next_due(self, now: datetime) -> datetime | None:
        """When a retry wants a pass (a temporary failure's backoff ends), or None."""
        return self._retries.next_due(now)

    def _run_pass(
        self, *, stopping: Callable[[], bool], request: PassRequest | None
    ) -> CycleResult:
        started = time.monotonic()
        scoped = request is not None and not request.full and self._snapshot is not None
        only = request.releases if request is not None and scoped else None
        snapshot = self._snapshot if scoped else self._fetch()
        if isinstance(snapshot, CycleResult):
            return snapshot
        assert snapshot is not None
        self._snapshot = snapshot
        revision = self._content_revision(snapshot)
        owns = self._shard_owns(revision)
        if isinstance(owns, CycleResult):
            return owns
        self._retries.begin_pass()
        try:
            state = self._desired(snapshot.root, only=only, owns=owns)
        except ClusterUnreachable as error:
            self._metrics.count_error("cluster")
            log.error("%s", error)
            return CycleResult(revision, problem=str(error), unreachable=True, temporary=True)
        except (RenderError, EnvironmentChoiceError) as error:
            self._metrics.count_error("render")
            log.error("revision %s: %s", revision[:12], error)
            return CycleResult(revision, problem=str(error))
        self.release_labels.update(
            (key, release.release_labels) for key, release in state.loaded.releases.items()
        )
        for item in state.diagnostics:
            if item.is_error:
                log.error("%s", item.render(), extra={"revision": revision})
        options = PassOptions(
            revision,
            self.source_id,
            prune=self._settings.prune,
            parallelism=self._settings.parallelism,
            deferred=self._retries.deferred(datetime.now(UTC)),
            held=self._retries.held(),
            applied_by=self._instance if self.shards is not None else "",
        )
        why = (
            f" for {', '.join(sorted(only))} ({'; '.join(request.reasons)})"
            if only and request
            else ""
        )
        log.info("pass started at revision %s%s", revision[:12], why, extra={"revision": revision})
        for key in sorted(options.held):
            log.info(
                "release %s not attempted: it failed for good at this revision with these "
                "dependency outputs; %s (a new commit or new dependency outputs)",
                key,
                WAITING_FOR_A_CHANGE,
                extra={"release": key, "revision": revision},
            )
        try:
            report = reconcile(
                self._client,
                state,
                options,
                stopping=stopping,
                watched=self.watched,
                awaiting_ready=partial(self._awaiting_ready, revision=revision),
            )
        except KubeError as error:
            # What no single release stands for (the inventory records cannot be listed):
            # unreachable when temporary, else a refusal that stops this pass only.
            self._metrics.observe_unfinished("cluster")
            log.error("pass at revision %s stopped: %s", revision[:12], error)
            return CycleResult(
                revision,
                problem=str(error),
                unreachable=error.temporary,
                stopped=not error.temporary,
                temporary=error.temporary,
            )
        if self._retrying:
            report = self._retries.after_pass(
                report, render_failed=frozenset(state.render.failed), now=datetime.now(UTC)
            )
        for key in sorted(report.releases):
            self._say_outcome(report.releases[key], revision)
        if report.prune_withheld:
            log.warning("prune withheld: %s", report.prune_withheld)
        seconds = time.monotonic() - started
        self._metrics.observe_pass(report, seconds, render_failed=state.render.failed.keys())
        source = SourceState(revision, stale=snapshot.stale, error=snapshot.error)
        if only is None:
            self.state = state
            self.catalog.update(state, report, source=source)
        else:
            self.catalog.update_releases(report)
        status_commit = self.status.publish(
            state, report.releases, source, snapshot, coalesce=only is not None
        )
        log.info(
            "pass finished at revision %s in %.1fs: %d releases, %d not applied",
            revision[:12],
            seconds,
            len(report.releases),
            sum(entry.outcome in FAILING for entry in report.releases.values()),
            extra={"revision": revision},
        )
        problem = "the repository has errors" if state.has_errors else None
        if snapshot.stale:
            # The pass ran on the last good commit (self-heal goes on); the caller still
            # hears that the remote failed: exit code 3 for `--once`.
            return CycleResult(
                revision,
                report,
                problem=snapshot.error,
                unreachable=snapshot.unreachable,
                status_commit=status_commit,
                temporary=snapshot.unreachable,
            )
        return CycleResult(revision, report, problem=problem, status_commit=status_commit)

    # -- the steps -------------------------------------------------------------

    def _awaiting_ready(self, release: ReleaseKey, *, revision: str) -> None:
        """A release's writes are done and the pass waits for it: the stream says
        Progressing (a commit status reads "pending" from it) before Applied and Ready."""
        message = f"revision {revision[:12]}: applied, waiting for Ready"
        notice = Notice("Normal", str(ReleaseState.PROGRESSING), message)
        self.events.publish(release, [notice], revision=revision)

    def _fetch(self) -> Snapshot | CycleResult:
        started = time.monotonic()
        try:
            snapshot = self._source.fetch()
        except SourceError as error:
            self._metrics.observe_fetch(time.monotonic() - started, ok=False)
            self._metrics.count_error("git")
            log.error("%s", error)
            return CycleResult(
                problem=str(error), unreachable=error.unreachable, temporary=error.temporary
            )
        self._metrics.observe_fetch(time.monotonic() - started, ok=not snapshot.stale)
        if snapshot.stale:
            self._metrics.count_error("git")
        return snapshot

    def _content_revision(self, snapshot: Snapshot) -> str:
        """The revision the pass records; a new one resets every release's backoff."""
        if snapshot.revision != self._revision:
            if self._revision is not None:
                log.info("new revision %s", snapshot.revision[:12])
            self._revision = snapshot.revision
            self._retries.new_revision()
        return snapshot.revision

    def _shard_owns(self, revision: str) -> Owns | CycleResult | None:
        """Under sharding, which releases this pass takes, from the shard set listed now;
        a set that cannot be read, or without this replica live in it, is a pass not run
        (tried again with backoff): applying without knowing the set could apply twice."""
        if self.shards is None:
            return None
        try:
            view = self.shards.view(datetime.now(UTC))
        except KubeError as error:
            self._metrics.count_error("cluster")
            problem = f"shard set {self.shards.name}: cannot be listed: {error.message}"
            log.error("%s", problem)
            return CycleResult(
                revision, problem=problem, unreachable=error.temporary, temporary=True
            )
        if view.identity not in view.holders:
            problem = f"shard set {self.shards.name}: {view.identity} holds no live Lease in it"
            log.error("%s", problem)
            return CycleResult(revision, problem=problem, temporary=True)
        if self.shard_view is None or view.holders != self.shard_view.holders:
            log.info(
                "shard set %s: %d live (%s)",
                self.shards.name,
                len(view.holders),
                ", ".join(sorted(view.holders)),
            )
        self.shard_view = view
        return view.owns

    def _desired(
        self, root: Path, *, only: frozenset[ReleaseKey] | None, owns: Owns | None = None
    ) -> DesiredState:
        def versions_for(repository: RepositoryConfig | None) -> VersionChoice:
            return choose_versions(repository, cluster=capabilities(self._client.api))

        return compute_desired_state(
            root,
            policy=self._policy,
            versions_for=versions_for,
            tools=self._tools,
            environment=self._settings.environment,
            external_outputs=external_outputs_from(self._client),
            hold=self._retries.hold,
            only=only,
            owns=owns,
        )

    def _say_outcome(self, entry: ReleaseReport, revision: str) -> None:
        """Say what the pass decided for one release, once: a log line and its Events."""
        warned = entry.outcome in FAILING or entry.outcome is Outcome.REMOVAL_WITHHELD
        level = logging.WARNING if warned else logging.INFO
        log.log(
            level,
            "release %s %s",
            entry.release,
            entry.describe(),
            extra={
                "release": entry.release,
                "outcome": str(entry.outcome),
                "revision": revision,
                **({"seconds": round(entry.seconds, 3)} if entry.seconds is not None else {}),
            },
        )
        for warning in entry.warnings:
            log.warning(
                "release %s: %s",
                entry.release,
                warning,
                extra={"release": entry.release, "revision": revision},
            )
        self.events.publish(
            entry.release, pass_notices(entry, revision=revision), revision=revision
        )
        namespace, _name = split_release_key(entry.release)
        if self._policy.allows_namespace(namespace):
            # Not in a namespace the reconciler may not write to: the log line says it.
            emit_events(self._client, entry, revision=revision, instance=self._instance)
