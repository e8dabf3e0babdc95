"""One pass against the cluster: the desired state applied in dependency order.

The second half of a pass, after `desired.compute_desired_state`: each release is
planned and applied (or, for a diff, only planned); a dependency that changed in
this pass, or was never Ready, gates its dependents until it is Ready; a failing
release affects only its dependents. Releases whose files left Git are removed
when pruning is on, behind guards that stop mass deletion.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import TypeVar

from reconciler.apply.claim import source_conflict
from reconciler.apply.hooks import HookFailed, run_hooks
from reconciler.apply.inventory import (
    INVENTORY_SELECTOR,
    InventoryFormatError,
    InventoryRecord,
    inventory_release,
    record_from_configmap,
)
from reconciler.apply.live import LiveIndex
from reconciler.apply.prune import remove_release
from reconciler.apply.release import (
    ApplyResult,
    apply_release,
    plan_release,
    read_inventory,
    write_inventory,
)
from reconciler.apply.removal_guard import (
    CONFIRM_FIELD,
    RemovalDecision,
    decide_removals,
    withheld_message,
)
from reconciler.apply.wait import Awaited, Waiter, with_completed_jobs
from reconciler.desired import DesiredState
from reconciler.diff.changeset import ChangeSet
from reconciler.health import ReleaseHealth, ReleaseState
from reconciler.kube.client import KubeClient
from reconciler.kube.errors import KubeError, NotFound
from reconciler.objects import ref_of
from reconciler.release_requests.model import Release
from reconciler.render.model import DependedRelease, RenderedRelease, RenderError
from reconciler.render.ownership import CLUSTER_SCOPED_REFUSAL, OWNER_ANNOTATION
from reconciler.render.pipeline import ExternalOutputs
from reconciler.render.secrets.redaction import (
    hidden_outputs,
    redacted,
    secret_output_names,
    withheld_secret_outputs,
)
from reconciler.render.values.outputs import (
    DUMMY_SERVICE_LABEL,
    DUMMY_SERVICE_RELEASE_LABEL,
    RELEASE_CONFIG_API_VERSIONS,
    RELEASE_CONFIG_KIND,
    is_dummy_service,
    published_release,
)
from reconciler.types import JsonObject, ReleaseKey, split_release_key

WALM_RELEASE_CONFIG = RELEASE_CONFIG_API_VERSIONS[0]

DEFAULT_MAX_REMOVED_SHARE = 0.5
"""A snapshot that drops more than this share of the releases removes none of them
until a person confirms the removals (removal_guard.py)."""


class Outcome(StrEnum):
    APPLIED = "Applied"
    UNCHANGED = "Unchanged"
    PLANNED = "Planned"
    """Dry run: what would change is in the change set."""
    FAILED = "Failed"
    BLOCKED = "Blocked"
    INVALID = "Invalid"
    REMOVED = "Removed"
    REMOVAL_WITHHELD = "RemovalWithheld"
    """Its file left Git, but a guard keeps it until a person confirms the removal."""
    DEFERRED = "Deferred"
    """Not attempted this pass: waiting out a backoff, or the reconciler is stopping."""


FAILING = frozenset({Outcome.FAILED, Outcome.BLOCKED, Outcome.INVALID})


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

    def describe(self) -> str:
        """`Applied (1.2s): 1 created; ...`: the outcome, what changed and why, as the log
        and the CLI say it after the release's name."""
        summary = self.changes.summary() if self.changes is not None else ""
        detail = "; ".join(part for part in (summary, self.message) if part)
        took = f" ({self.seconds:.1f}s)" if self.seconds is not None else ""
        return f"{self.outcome}{took}" + (f": {detail}" if detail else "")

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


_Outcome = TypeVar("_Outcome")


def external_outputs_from(client: KubeClient) -> ExternalOutputs:
    """Releases outside the repository, as the cluster knows them: from their inventory
    records (a release another Harmonia repository applied), else from the `ReleaseConfig`
    object WALM keeps for the releases it installed, else from the dummy Service of
    WALM's older charts (labelled `transwarp.meta: "true"` and `release: <name>`)."""

    def lookup(key: ReleaseKey) -> DependedRelease | None:
        namespace, name = split_release_key(key)
        try:
            record = read_inventory(client, key)
            if record is not None:
                # A secret output is recorded as `***`: absent, rather than that text.
                return DependedRelease(key, withheld_secret_outputs(record.outputs))
            walm = client.get(
                {
                    "apiVersion": WALM_RELEASE_CONFIG,
                    "kind": RELEASE_CONFIG_KIND,
                    "metadata": {"name": name, "namespace": namespace},
                }
            )
            if walm is not None:
                return published_release(walm, key)
            selector = f"{DUMMY_SERVICE_LABEL}=true,{DUMMY_SERVICE_RELEASE_LABEL}={name}"
            services = client.list("v1", "Service", namespace=namespace, label_selector=selector)
            dummies = [service for service in services if is_dummy_service(service)]
            # Two dummy Services for one release: which one is meant is not known.
            return published_release(dummies[0], key) if len(dummies) == 1 else None
        except (KubeError, InventoryFormatError, RenderError):
            return None

    return lookup


def _dependency_outputs(
    rendered: RenderedRelease, secrets: frozenset[str]
) -> dict[str, JsonObject]:
    """What the record keeps of the dependencies: the outputs the render used, whether
    rendered in this pass or read from the cluster (a release of another repository),
    those some Secret of the pass holds as `***`."""
    used: dict[str, JsonObject] = {}
    for alias, found in rendered.dependencies.items():
        hidden = secret_output_names(found.outputs, secrets)
        outputs: JsonObject = dict(hidden_outputs(found.outputs, hidden))
        used[alias] = {"release": str(found.key), "outputs": outputs}
    return used


def reconcile(
    client: KubeClient,
    state: DesiredState,
    options: PassOptions,
    *,
    stopping: Callable[[], bool] = lambda: False,
) -> PassReport:
    """Apply (or with `dry_run`, plan) every release of `state`: one report for each, from
    which the log, the Events, the status files and the CLI all say what happened.

    Once `stopping()` is true, the releases being written finish and the rest are
    Deferred; nothing is removed.
    """
    reports: dict[ReleaseKey, ReleaseReport] = {}
    for key, first_error in _invalid_releases(state).items():
        reports[key] = ReleaseReport(
            key, Outcome.INVALID, f"{first_error}; it keeps running as it was"
        )
    for key, reason in state.render.blocked.items():
        reports[key] = ReleaseReport(key, Outcome.BLOCKED, reason)
    for key, problem in state.render.failed.items():
        reports[key] = ReleaseReport(key, Outcome.FAILED, problem.message)
    changed: set[ReleaseKey] = set()
    live = LiveIndex(client)
    for key, message in _contested(state, live).items():
        reports.setdefault(key, ReleaseReport(key, Outcome.FAILED, message))
    records = _inventory_records(client)
    removals = _mark_removals(client, state, options, records)

    def one(key: ReleaseKey) -> _Step:
        started = time.monotonic()
        if stopping():
            outcome: ReleaseReport | _Written = ReleaseReport(
                key, Outcome.DEFERRED, "the reconciler is stopping"
            )
        elif key in options.deferred:
            outcome = ReleaseReport(key, Outcome.DEFERRED, options.deferred[key])
        else:
            dependencies = state.loaded.releases[key].dependencies.values()
            gate = _gate(dependencies, reports=reports, changed=changed)
            outcome = (
                ReleaseReport(key, Outcome.BLOCKED, gate)
                if gate is not None
                else _refused_alone(
                    key,
                    partial(
                        _reconcile_release,
                        client,
                        state,
                        key,
                        options,
                        live=live,
                        previous=records.get(key),
                    ),
                )
            )
        return _Step(outcome, started, time.monotonic())

    def finish(step: _Step, health: ReleaseHealth | None) -> ReleaseReport:
        if isinstance(step.outcome, ReleaseReport):
            report, ended = step.outcome, step.ended
        else:
            written = step.outcome
            report = _refused_alone(written.key, partial(_finish, client, state, written, health))
            ended = time.monotonic()
        # The API server's and the hooks' words may quote what a Secret holds.
        message = redacted(report.message, state.render.secrets)
        return dataclasses.replace(report, message=message, seconds=ended - step.started)

    # A release starts once each dependency of this pass has its report, and is waited
    # for on its own: a slow or failing release holds back its dependents, nobody else.
    # Gates read finished reports only.
    order = _StartOrder(
        state,
        [
            key
            for level in state.graph.levels
            for key in level
            if key not in reports and key in state.render.rendered
        ],
    )

    def reported(report: ReleaseReport) -> None:
        reports[report.release] = report
        if report.outcome is Outcome.APPLIED:
            changed.add(report.release)
        order.reported(report.release)

    with ThreadPoolExecutor(max_workers=options.parallelism) as pool:
        rendered = (obj for release in state.render.rendered.values() for obj in release.objects)
        live.load(rendered, mapper=pool.map)
        waiter = Waiter(live)
        waiting: dict[ReleaseKey, _Step] = {}
        running: set[futures.Future[_Step | ReleaseReport]] = set()
        while order or running or waiter:
            running |= {pool.submit(one, key) for key in order.startable()}
            due = waiter.due_in(time.monotonic())
            done: set[futures.Future[_Step | ReleaseReport]] = set()
            if running:
                done, running = futures.wait(running, due, futures.FIRST_COMPLETED)
            elif due:
                time.sleep(due)
            for future in done:
                result = future.result()
                if isinstance(result, ReleaseReport):
                    reported(result)
                elif isinstance(result.outcome, ReleaseReport):
                    reported(finish(result, None))
                elif result.outcome.awaited is not None:
                    waiting[result.outcome.key] = result
                    waiter.add(result.outcome.key, result.outcome.awaited)
                else:
                    running.add(pool.submit(finish, result, None))
            for key, health in waiter.poll(time.monotonic()).items():
                running.add(pool.submit(finish, waiting.pop(key), health))
    if stopping():
        return PassReport(options.revision, reports, notes=("stopped before removals",))
    withheld, removed = _removed_releases(client, state, options, records, removals)
    reports.update(removed)
    return PassReport(options.revision, reports, prune_withheld=withheld)


def _refused_alone(key: ReleaseKey, step: Callable[[], _Outcome]) -> _Outcome | ReleaseReport:
    """`step()`, or the release Failed with the API server's answer when the server said
    no to something of it: that is this release's failure, not the pass's. Only a cluster
    that does not answer (`ClusterUnreachable`, temporary) stops the pass."""
    try:
        return step()
    except KubeError as error:
        if error.temporary:
            raise
        return ReleaseReport(key, Outcome.FAILED, str(error))


def _contested(state: DesiredState, live: LiveIndex) -> dict[ReleaseKey, str]:
    """Releases that render an object another release also renders, with why they stop.

    One object belongs to one release: the release that owns it in the cluster keeps
    it, else the first by name; the others fail, so the two never take turns.
    """
    claims: dict[tuple[str, str, str, str], list[ReleaseKey]] = {}
    for key in sorted(state.render.rendered):
        for obj in state.render.rendered[key].objects:
            claims.setdefault(ref_of(obj).identity, []).append(key)
    losers: dict[ReleaseKey, str] = {}
    for identity, keys in claims.items():
        if len(keys) < 2:
            continue
        _group, kind, namespace, name = identity
        obj = next(
            o for o in state.render.rendered[keys[0]].objects if ref_of(o).identity == identity
        )
        current = live.get(ref_of(obj))
        owner = ((current or {}).get("metadata") or {}).get("annotations", {}).get(OWNER_ANNOTATION)  # type: ignore[union-attr]
        winner = owner if owner in keys else keys[0]
        subject = "/".join(part for part in (kind, namespace, name) if part)
        for key in keys:
            if key != winner:
                losers[key] = f"{subject} belongs to release {winner}, which renders it too"
    return losers


def _invalid_releases(state: DesiredState) -> dict[ReleaseKey, str]:
    """Releases whose file is invalid or whose namespace the policy refuses, each with
    where its first problem is (all of them are in the diagnostics)."""
    keys = set(state.loaded.invalid_releases) | {
        key
        for key, release in state.loaded.releases.items()
        if not state.policy.allows_namespace(release.namespace)
    }
    first: dict[ReleaseKey, str] = {}
    for item in state.diagnostics:
        if item.is_error and item.release in keys:
            first.setdefault(item.release, f"{item.file}:{item.line}: {item.message}")
    return {key: first.get(key, "its file is invalid") for key in sorted(keys)}


def _cluster_scoped_refusals(
    client: KubeClient, rendered: RenderedRelease, *, allowed: bool
) -> list[str]:
    """Objects the cluster serves as cluster-scoped while the policy forbids those.

    Rendering refuses the kinds it knows; a custom kind is known here, from discovery.
    A kind the cluster does not serve is left to the apply, which names it.
    """
    if allowed:
        return []
    refusals = []
    for obj in (*rendered.objects, *(hook.object for hook in rendered.hooks)):
        ref = ref_of(obj)
        try:
            namespaced = client.resource_type(ref.api_version, ref.kind).namespaced
        except NotFound:
            continue
        if not namespaced:
            refusals.append(f"{ref.kind}/{ref.name}: {CLUSTER_SCOPED_REFUSAL}")
    return refusals


@dataclass(frozen=True)
class _Written:
    """A release whose writes are done this pass; its readiness is not known yet."""

    key: ReleaseKey
    result: ApplyResult
    previous: InventoryRecord | None
    awaited: Awaited | None
    """What to wait for; None when the pass does not wait."""


@dataclass(frozen=True)
class _Step:
    outcome: ReleaseReport | _Written
    started: float
    ended: float


RecordRead = InventoryRecord | InventoryFormatError
"""A release's inventory record as found, or why it cannot be read."""


def _inventory_records(client: KubeClient) -> dict[ReleaseKey, RecordRead]:
    """Every inventory record in the cluster by its release, in one list request and read
    once: a pass takes each release's record from here, not with a GET apiece."""
    records: dict[ReleaseKey, RecordRead] = {}
    for configmap in client.list("v1", "ConfigMap", label_selector=INVENTORY_SELECTOR):
        key = inventory_release(configmap)
        if key is None:
            continue
        try:
            records[key] = record_from_configmap(configmap)
        except InventoryFormatError as error:
            records[key] = error
    return records


def _reconcile_release(
    client: KubeClient,
    state: DesiredState,
    key: ReleaseKey,
    options: PassOptions,
    *,
    live: LiveIndex,
    previous: RecordRead | None,
) -> ReleaseReport | _Written:
    release = state.loaded.releases[key]
    rendered = state.render.rendered[key]
    refused = _cluster_scoped_refusals(client, rendered, allowed=state.policy.allow_cluster_scoped)
    if refused:
        return ReleaseReport(key, Outcome.FAILED, "; ".join(refused))
    if isinstance(previous, InventoryFormatError):
        return ReleaseReport(key, Outcome.FAILED, str(previous))
    if previous is not None and (conflict := source_conflict(previous, source=options.source)):
        return ReleaseReport(key, Outcome.FAILED, conflict)
    if options.dry_run or _heal_withheld(release, rendered, previous, options):
        plan = plan_release(
            client, rendered, release, previous=previous, live=live, prune=options.prune
        )
        outcome = Outcome.FAILED if plan.refused else Outcome.PLANNED
        changes = plan.change_set(dry_run=True)
        message = "; ".join(plan.refused)
        if not options.dry_run and changes.has_changes:
            message = message or f"selfHeal is off: drift left in place ({changes.summary()})"
        elif not options.dry_run:
            outcome = Outcome.UNCHANGED
        return ReleaseReport(key, outcome, message, changes)
    result = apply_release(
        client,
        rendered,
        release,
        previous=previous,
        live=live,
        revision=options.revision,
        source=options.source,
        dependency_outputs=_dependency_outputs(rendered, state.render.secrets),
        prune=options.prune,
        defer_record=options.wait,
    )
    if result.error is not None:
        failed = ReleaseReport(key, Outcome.FAILED, result.error, result.changes)
        _record_apply_failure(client, failed, source=options.source, secrets=state.render.secrets)
        return failed
    awaited = None
    if options.wait and result.inventory is not None:
        awaited = Awaited(
            result.inventory,
            timeout=timedelta(seconds=release.timeout_sec),
            paused=release.paused,
            changed_at=time.monotonic(),
        )
    return _Written(key, result, previous, awaited)


def _finish(
    client: KubeClient, state: DesiredState, written: _Written, health: ReleaseHealth | None
) -> ReleaseReport:
    """The release's report once its readiness is known: post hooks run when it is Ready,
    and the record is written, noting since when it is (one write for both)."""
    key, result = written.key, written.result
    release = state.loaded.releases[key]
    messages = [*result.hook_messages, *(f"drift corrected: {item}" for item in result.drift)]
    if result.prune is not None and result.prune.withheld:
        messages.append(result.prune.withheld)
    ready: bool | None = None
    if health is not None and result.inventory is not None:
        ready = health.state in (ReleaseState.READY, ReleaseState.PAUSED)
        messages.append(health.message)
        if ready and result.post_hooks is not None:
            try:
                messages += run_hooks(
                    client,
                    state.render.rendered[key].hooks,
                    event=result.post_hooks,
                    timeout=release.timeout_sec,
                )
            except HookFailed as error:
                report = ReleaseReport(
                    key, Outcome.FAILED, str(error), result.changes, ready, drift=result.drift
                )
                _record_outcome(client, result, report, health, secrets=state.render.secrets)
                return report
    changed = result.changes.has_changes or written.previous is None
    outcome = Outcome.APPLIED if changed else Outcome.UNCHANGED
    if ready is False:
        outcome = Outcome.FAILED
    message = "; ".join(m for m in messages if m)
    report = ReleaseReport(key, outcome, message, result.changes, ready, drift=result.drift)
    _record_outcome(client, result, report, health, secrets=state.render.secrets)
    return report


def _last_result(report: ReleaseReport, secrets: frozenset[str]) -> str:
    """The record's `result`: "Applied", or "Failed: <why>" as the report says it (a
    ConfigMap: what a Secret of the pass holds is cut out)."""
    if report.outcome is not Outcome.FAILED:
        return "Applied"
    return f"Failed: {redacted(report.message, secrets)}"


def _record_outcome(
    client: KubeClient,
    result: ApplyResult,
    report: ReleaseReport,
    health: ReleaseHealth | None,
    *,
    secrets: frozenset[str],
) -> None:
    """Write the release's record when the apply left it pending, it has just become
    Ready (`readySince` set now), a Job of it completed, or its last result changed; a
    record already saying so is left alone, so a release failing the same way pass after
    pass writes nothing."""
    record = result.inventory
    if record is None:
        return
    if health is not None:
        record = with_completed_jobs(record, health)
    if report.ready and report.outcome is not Outcome.FAILED and not record.ready_since:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        record = dataclasses.replace(record, ready_since=stamp)
    last_result = _last_result(report, secrets)
    if record.result != last_result:
        record = dataclasses.replace(record, result=last_result)
    if result.record_pending or record is not result.inventory:
        write_inventory(client, record)


def _record_apply_failure(
    client: KubeClient, report: ReleaseReport, *, source: str, secrets: frozenset[str]
) -> None:
    """Note a failed apply in the release's record as the writes left it (read again: it
    may name objects created before the failure); another source's record is not ours."""
    record = read_inventory(client, report.release)
    last_result = _last_result(report, secrets)
    if record is None or record.source != source or record.result == last_result:
        return
    write_inventory(client, dataclasses.replace(record, result=last_result))


def _heal_withheld(
    release: Release,
    rendered: RenderedRelease,
    previous: InventoryRecord | None,
    options: PassOptions,
) -> bool:
    """Whether a release with `selfHeal: false` is only checked this pass: it was already
    applied from this revision with these inputs, so any difference is a hand edit."""
    return (
        not release.self_heal
        and previous is not None
        and previous.revision == options.revision
        and previous.input_hash == rendered.input_hash
    )


class _StartOrder:
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


def _gate(
    dependencies: Iterable[ReleaseKey],
    *,
    reports: Mapping[ReleaseKey, ReleaseReport],
    changed: set[ReleaseKey],
) -> str | None:
    """Why a release must wait for a dependency of this pass, or None."""
    for target in dependencies:
        report = reports.get(target)
        if report is None:
            continue  # external, or not in this pass: its outputs were found when rendering
        if report.outcome in FAILING or report.outcome is Outcome.DEFERRED:
            return f"dependency {target} is {report.outcome}: {report.message}"
        if report.ready is False:
            return f"dependency {target} is not Ready: {report.message}"
        if target in changed and report.ready is None and report.outcome is not Outcome.PLANNED:
            return f"dependency {target} changed and its readiness was not checked"
    return None


def _gone_records(
    state: DesiredState, options: PassOptions, found: Mapping[ReleaseKey, RecordRead]
) -> tuple[list[InventoryRecord], list[InventoryRecord]]:
    """This source's readable records, and those of them whose files left Git."""
    records = [
        record
        for record in found.values()
        if isinstance(record, InventoryRecord) and record.source == options.source
    ]
    present = set(state.loaded.releases) | set(state.loaded.invalid_releases)
    return records, [record for record in records if record.release not in present]


def _mark_removals(
    client: KubeClient,
    state: DesiredState,
    options: PassOptions,
    found: Mapping[ReleaseKey, RecordRead],
) -> RemovalDecision:
    """Which releases whose files left Git go, decided from the records found before the
    pass writes anything, and the withheld ones marked at once: a pass that then stops
    (the cluster, a signal) or does not prune has marked them, so the releases this
    commit adds, recorded meanwhile, never make the same loss look small later. Marked
    even while the snapshot cannot be read (removal_guard.py)."""
    records, gone = _gone_records(state, options, found)
    config = state.loaded.config
    decision = decide_removals(
        [record for record in gone if record.prune],
        owned=len(records),
        confirmed=config.confirm_removal if config is not None else frozenset(),
        max_share=options.max_removed_share,
        revision=options.revision,
    )
    if not options.dry_run:
        for record in decision.new_marks:
            write_inventory(client, record)
    return decision


def _removed_releases(
    client: KubeClient,
    state: DesiredState,
    options: PassOptions,
    found: Mapping[ReleaseKey, RecordRead],
    decision: RemovalDecision,
) -> tuple[str | None, dict[ReleaseKey, ReleaseReport]]:
    """Releases this repository applied whose files are gone: removed, behind the guards
    (`decision`, made and marked by `_mark_removals` before the pass wrote anything).

    `found` is the records as the pass found them: a release gone from the files was not
    touched since. An unreadable record is left alone (its release fails if it is present).
    """
    _records, gone = _gone_records(state, options, found)
    if not gone:
        return None, {}
    reports: dict[ReleaseKey, ReleaseReport] = {}

    def report(entry: ReleaseReport, started: float | None = None) -> None:
        seconds = None if started is None else time.monotonic() - started
        reports[entry.release] = dataclasses.replace(entry, seconds=seconds)

    config = state.loaded.config
    confirmed = config.confirm_removal if config is not None else frozenset()
    held = _unknown_snapshot(state)
    if held is not None:
        for record in gone:
            message = f"no readable release file names it; its removal is withheld: {held}"
            report(ReleaseReport(record.release, Outcome.REMOVAL_WITHHELD, message))
        return held, reports
    for record in gone:
        if not (options.prune and record.prune):
            message = "its file left Git; pruning is off, objects kept"
            report(ReleaseReport(record.release, Outcome.UNCHANGED, message))
    if not options.prune:
        return None, reports
    for record in decision.withheld:
        started = time.monotonic()
        message = withheld_message(record)
        report(ReleaseReport(record.release, Outcome.REMOVAL_WITHHELD, message), started)
    for record in decision.remove:
        started = time.monotonic()
        why = "its file left Git"
        if record.release in confirmed:
            why += f"; removal confirmed by {CONFIRM_FIELD} in harmonia.yaml"
        if options.dry_run:
            message = f"{why}; it would be removed"
            report(ReleaseReport(record.release, Outcome.PLANNED, message), started)
            continue
        removal = partial(_removal_report, client, record, why=why)
        report(_refused_alone(record.release, removal), started)
    return decision.summary, reports


def _removal_report(client: KubeClient, record: InventoryRecord, *, why: str) -> ReleaseReport:
    result = remove_release(client, record)
    changes = ChangeSet(record.release, result.changes)
    return ReleaseReport(record.release, Outcome.REMOVED, why, changes)


def _unknown_snapshot(state: DesiredState) -> str | None:
    """Why the snapshot cannot tell which releases left it, or None."""
    if state.loaded.config is None:
        return "harmonia.yaml did not load: releases whose files are missing were not removed"
    unclaimed = state.loaded.unclaimed_files
    if unclaimed:
        return (
            f"{', '.join(unclaimed)}: cannot tell which release the file holds, so releases "
            "whose files are missing were not removed (fix the file first)"
        )
    return None
