"""Prometheus metrics of the loop: passes, releases by state, objects, errors, Git fetches.

The loop records into a `Metrics` value after each pass and fetch; the observability
server exposes it at `/metrics`. Each value owns its registry, so tests can make several.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from reconciler.diff.changeset import Action
from reconciler.health import ReleaseState
from reconciler.reconcile import Outcome, PassReport
from reconciler.types import ReleaseKey

PASS_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800)
"""Seconds: a pass with nothing to do takes under a second; a slow wait, up to 30 minutes."""

FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

RELEASE_STATES = (*(state.value for state in ReleaseState), Outcome.INVALID.value)
"""Every state `harmonia_releases` reports, so each series exists even when zero."""

ERROR_KINDS = frozenset(
    {"git", "cluster", "render", "invalid", "apply", "status_push", "lease", "crash"}
)

PASS_RESULTS = ("succeeded", "failed")
APPLIED_ACTIONS = (Action.CREATED, Action.CONFIGURED)


class Metrics:
    """The loop's Prometheus metrics, in a registry of their own.

    - `harmonia_pass_duration_seconds` (histogram): how long each pass took.
    - `harmonia_passes_total{result}` (counter): passes, `succeeded` or `failed`
      (a pass fails when any release is Failed, Blocked or Invalid).
    - `harmonia_releases{state}` (gauge): releases by state (Ready, Progressing,
      Degraded, Failed, Paused, Blocked, Invalid); every state is set each time.
    - `harmonia_objects_applied_total{action}` (counter): objects `created` or
      `configured` by apply.
    - `harmonia_objects_pruned_total` (counter): objects deleted, by prune or by
      removing a release whose file left Git.
    - `harmonia_errors_total{kind}` (counter): errors by kind: `git`, `cluster`,
      `render`, `invalid`, `apply`, `status_push`, `lease`, `crash`. A pass counts one
      per Failed release (`render` if it failed to render, else `apply`) and one
      `invalid` per Invalid release; the loop counts the rest (`crash`: a pass that
      ended in an unexpected exception, also counted as a `failed` pass).
    - `harmonia_git_fetch_duration_seconds` (histogram): how long each fetch took.
    - `harmonia_git_fetch_total{result}` (counter): fetches, `succeeded` or `failed`.
    - `harmonia_last_applied_revision_info{revision}` (gauge): 1 for the revision of
      the last pass; the previous revision's series is removed.
    - `harmonia_last_pass_timestamp_seconds` (gauge): Unix time the last pass ended.
    - `harmonia_leader` (gauge): 1 while this replica holds the leader lease, else 0.
    - `harmonia_kube_requests_total{client, verb}` (counter): requests sent to the API
      server by each client (`pass`: passes, the API, the leader label; `watch`: the
      reactor: its reflectors' lists and watches, readiness looks, sync answers and
      Events; `lease`: the Lease), by Kubernetes verb.

    Dry-run change sets are not counted: nothing was written.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self._requests = _RequestCounts()
        registry.register(self._requests)
        self._pass_duration = Histogram(
            "harmonia_pass_duration_seconds",
            "Seconds each reconcile pass took.",
            buckets=PASS_BUCKETS,
            registry=registry,
        )
        self._passes = Counter(
            "harmonia_passes", "Reconcile passes by result.", ["result"], registry=registry
        )
        self._releases = Gauge(
            "harmonia_releases", "Releases by state.", ["state"], registry=registry
        )
        self._objects_applied = Counter(
            "harmonia_objects_applied",
            "Objects created or configured by apply.",
            ["action"],
            registry=registry,
        )
        self._objects_pruned = Counter(
            "harmonia_objects_pruned", "Objects deleted by prune.", registry=registry
        )
        self._errors = Counter("harmonia_errors", "Errors by kind.", ["kind"], registry=registry)
        self._fetch_duration = Histogram(
            "harmonia_git_fetch_duration_seconds",
            "Seconds each Git fetch took.",
            buckets=FETCH_BUCKETS,
            registry=registry,
        )
        self._fetches = Counter(
            "harmonia_git_fetch", "Git fetches by result.", ["result"], registry=registry
        )
        self._revision_info = Gauge(
            "harmonia_last_applied_revision_info",
            "1 for the Git revision of the last pass.",
            ["revision"],
            registry=registry,
        )
        self._last_pass = Gauge(
            "harmonia_last_pass_timestamp_seconds",
            "Unix time the last pass ended.",
            registry=registry,
        )
        self._leader = Gauge(
            "harmonia_leader", "1 while this replica holds the leader lease.", registry=registry
        )
        self._revision: str | None = None
        self._create_series()

    def _create_series(self) -> None:
        """Every labelled series from the start, so rates work from the first sample."""
        for result in PASS_RESULTS:
            self._passes.labels(result=result)
            self._fetches.labels(result=result)
        for action in APPLIED_ACTIONS:
            self._objects_applied.labels(action=action.value)
        for kind in sorted(ERROR_KINDS):
            self._errors.labels(kind=kind)
        self.set_release_states({})

    def observe_pass(
        self,
        report: PassReport,
        seconds: float,
        *,
        render_failed: Collection[ReleaseKey] = frozenset(),
    ) -> None:
        """Record one finished pass: its duration, result, objects, errors and revision.

        `render_failed` names the releases that failed to render (the desired state's
        `render.failed`): the report alone does not tell them from failed applies.
        """
        self._pass_duration.observe(seconds)
        self._passes.labels(result="failed" if report.failed else "succeeded").inc()
        for release in report.releases.values():
            if release.outcome is Outcome.FAILED:
                kind = "render" if release.release in render_failed else "apply"
                self._errors.labels(kind=kind).inc()
            elif release.outcome is Outcome.INVALID:
                self._errors.labels(kind="invalid").inc()
            if release.changes is None or release.changes.dry_run:
                continue
            counts = release.changes.counts
            for action in APPLIED_ACTIONS:
                self._objects_applied.labels(action=action.value).inc(counts[action])
            self._objects_pruned.inc(counts[Action.DELETED])
        self._set_revision(report.revision)
        self._last_pass.set_to_current_time()

    def observe_unfinished(self, kind: str) -> None:
        """Record a pass that did not finish (a `crash`, or stopped by the `cluster`): a
        failed pass and an error of that kind (its duration is not known; the last pass
        timestamp stays)."""
        self._passes.labels(result="failed").inc()
        self.count_error(kind)

    def _set_revision(self, revision: str) -> None:
        self._revision_info.labels(revision=revision).set(1)
        if self._revision is not None and self._revision != revision:
            self._revision_info.remove(self._revision)
        self._revision = revision

    def set_release_states(self, states: Mapping[str, int]) -> None:
        """Releases by state; every known state is set, to 0 when absent from `states`."""
        for state in RELEASE_STATES:
            self._releases.labels(state=state).set(states.get(state, 0))
        for state, count in states.items():
            if state not in RELEASE_STATES:
                self._releases.labels(state=state).set(count)

    def observe_fetch(self, seconds: float, *, ok: bool) -> None:
        """Record one Git fetch (the `git` error of a failed one is the caller's to count)."""
        self._fetch_duration.observe(seconds)
        self._fetches.labels(result="succeeded" if ok else "failed").inc()

    def count_error(self, kind: str) -> None:
        if kind not in ERROR_KINDS:
            raise ValueError(f"error kind {kind!r} is not one of {', '.join(sorted(ERROR_KINDS))}")
        self._errors.labels(kind=kind).inc()

    def set_leader(self, is_leader: bool) -> None:
        self._leader.set(1 if is_leader else 0)

    def count_requests(self, client: str, by_verb: Callable[[], Mapping[str, int]]) -> None:
        """Export what one Kubernetes client has sent, by verb, read at each scrape:
        `harmonia_kube_requests_total{client, verb}`."""
        self._requests.clients[client] = by_verb

    def exposition(self) -> tuple[bytes, str]:
        """The Prometheus text format of every metric, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _RequestCounts(Collector):
    """The requests each Kubernetes client counted, as one Prometheus counter."""

    def __init__(self) -> None:
        self.clients: dict[str, Callable[[], Mapping[str, int]]] = {}

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "harmonia_kube_requests",
            "Requests sent to the Kubernetes API server, by client and verb.",
            labels=["client", "verb"],
        )
        for client, by_verb in sorted(self.clients.items()):
            for verb, count in sorted(by_verb().items()):
                family.add_metric([client, verb], count)
        yield family
