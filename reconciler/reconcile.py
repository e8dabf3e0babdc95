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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial

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
from reconciler.apply.removal_guard import CONFIRM_FIELD, decide_removals, withheld_message
from reconciler.apply.wait import Awaited, wait_until_settled
from reconciler.desired import DesiredState
from reconciler.diff.changeset import ChangeSet
from reconciler.health import ReleaseHealth, ReleaseState
from reconciler.kube.client import KubeClient
from reconciler.kube.errors import KubeError, NotFound
from reconciler.objects import ref_of
from reconciler.render.model import DependedRelease, RenderedRelease, RenderError
from reconciler.render.outputs import (
    DUMMY_SERVICE_LABEL,
    DUMMY_SERVICE_RELEASE_LABEL,
    RELEASE_CONFIG_API_VERSIONS,
    RELEASE_CONFIG_KIND,
    is_dummy_service,
    published_release,
)
from reconciler.render.ownership import CLUSTER_SCOPED_REFUSAL, OWNER_ANNOTATION
from reconciler.render.pipeline import ExternalOutputs
from reconciler.render.secret_values import (
    public_outputs,
    redacted,
    withheld_secret_outputs,
)
from reconciler.spec.model import Release
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

    def to_json(self) -> JsonObject:
        body: JsonObject = {
            "release": self.release,
            "outcome": str(self.outcome),
            "message": self.message,
        }
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
    """Releases of one dependency level applied at the same time (the work is waiting on
    the API server, so more than the cores)."""
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


Progress = Callable[["ReleaseReport", float], None]
"""Called with each release's report and the seconds it took, as the pass goes."""


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


def _dependency_outputs(state: DesiredState, key: ReleaseKey) -> dict[str, JsonObject]:
    release = state.loaded.releases[key]
    used: dict[str, JsonObject] = {}
    for alias, target in release.dependencies.items():
        rendered = state.render.rendered.get(target)
        outputs = public_outputs(rendered) if rendered is not None else {}
        used[alias] = {"release": str(target), "outputs": outputs}  # type: ignore[dict-item]
    return used


def reconcile(
    client: KubeClient,
    state: DesiredState,
    options: PassOptions,
    *,
    progress: Progress = lambda _report, _seconds: None,
    stopping: Callable[[], bool] = lambda: False,
) -> PassReport:
    """Apply (or with `dry_run`, plan) every release of `state`; `progress` hears each one.

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
                else _reconcile_release(
                    client, state, key, options, live=live, previous=records.get(key)
                )
            )
        return _Step(outcome, started, time.monotonic())

    def finish(
        step: _Step, healths: Mapping[ReleaseKey, ReleaseHealth]
    ) -> tuple[ReleaseReport, float]:
        if isinstance(step.outcome, ReleaseReport):
            return step.outcome, step.ended - step.started
        report = _finish(client, state, step.outcome, healths.get(step.outcome.key))
        return report, time.monotonic() - step.started

    # A level's releases do not depend on each other: they are written side by side,
    # then waited for together, and the next level starts when the whole level is done
    # (gates read finished reports only).
    with ThreadPoolExecutor(max_workers=options.parallelism) as pool:
        rendered = (obj for release in state.render.rendered.values() for obj in release.objects)
        live.load(rendered, mapper=pool.map)
        for level in state.graph.levels:
            pending = [k for k in level if k not in reports and k in state.render.rendered]
            steps = list(pool.map(one, pending))
            awaited = {
                step.outcome.key: step.outcome.awaited
                for step in steps
                if isinstance(step.outcome, _Written) and step.outcome.awaited is not None
            }
            # The first round reads the pass's own index (the writes are in it), with the
            # pods, ReplicaSets and Jobs as they are now; later rounds list afresh.
            live.forget_children()
            healths = wait_until_settled(live, awaited) if awaited else {}
            for finished, seconds in pool.map(partial(finish, healths=healths), steps):
                # The API server's and the hooks' words may quote what a Secret holds.
                report = dataclasses.replace(
                    finished, message=redacted(finished.message, state.render.secrets)
                )
                reports[report.release] = report
                if report.outcome is Outcome.APPLIED:
                    changed.add(report.release)
                progress(report, seconds)
    if stopping():
        return PassReport(options.revision, reports, notes=("stopped before removals",))
    withheld, removed = _removed_releases(client, state, options, records, progress=progress)
    reports.update(removed)
    return PassReport(options.revision, reports, prune_withheld=withheld)


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
        dependency_outputs=_dependency_outputs(state, key),
        prune=options.prune,
        defer_record=options.wait,
    )
    if result.error is not None:
        return ReleaseReport(key, Outcome.FAILED, result.error, result.changes)
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
                _record_readiness(client, result, ready=False)
                return ReleaseReport(key, Outcome.FAILED, str(error), result.changes, ready)
    _record_readiness(client, result, ready=bool(ready))
    changed = result.changes.has_changes or written.previous is None
    outcome = Outcome.APPLIED if changed else Outcome.UNCHANGED
    if ready is False:
        outcome = Outcome.FAILED
    return ReleaseReport(key, outcome, "; ".join(m for m in messages if m), result.changes, ready)


def _record_readiness(client: KubeClient, result: ApplyResult, *, ready: bool) -> None:
    """Write the release's record when the apply left it pending or it has just become
    Ready (`readySince` set now); a record already saying so is left alone."""
    record = result.inventory
    if record is None:
        return
    if ready and not record.ready_since:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        record = dataclasses.replace(record, ready_since=stamp)
    if result.record_pending or record is not result.inventory:
        write_inventory(client, record)


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


def _removed_releases(
    client: KubeClient,
    state: DesiredState,
    options: PassOptions,
    found: Mapping[ReleaseKey, RecordRead],
    *,
    progress: Progress,
) -> tuple[str | None, dict[ReleaseKey, ReleaseReport]]:
    """Releases this repository applied whose files are gone: removed, behind the guards.

    `found` is the records as the pass found them: a release gone from the files was not
    touched since. An unreadable record is left alone (its release fails if it is present).
    A withheld removal is marked in its record (removal_guard.py) and stays withheld; so
    is one the share would withhold while the snapshot cannot be read or pruning is off.
    """
    records = [
        record
        for record in found.values()
        if isinstance(record, InventoryRecord) and record.source == options.source
    ]
    present = set(state.loaded.releases) | set(state.loaded.invalid_releases)
    gone = [record for record in records if record.release not in present]
    if not gone:
        return None, {}
    reports: dict[ReleaseKey, ReleaseReport] = {}

    def report(entry: ReleaseReport, started: float | None = None) -> None:
        reports[entry.release] = entry
        progress(entry, 0.0 if started is None else time.monotonic() - started)

    config = state.loaded.config
    confirmed = config.confirm_removal if config is not None else frozenset()
    # Decided and marked even while the snapshot cannot be read or pruning is off: the
    # releases this commit adds, recorded meanwhile, would make the loss look small later.
    decision = decide_removals(
        [record for record in gone if record.prune],
        owned=len(records),
        confirmed=confirmed,
        max_share=options.max_removed_share,
        revision=options.revision,
    )
    if not options.dry_run:
        for record in decision.new_marks:
            write_inventory(client, record)
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
        result = remove_release(client, record)
        changes = ChangeSet(record.release, result.changes)
        report(ReleaseReport(record.release, Outcome.REMOVED, why, changes), started)
    return decision.summary, reports


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
