"""One release's whole way through a pass: checks, plan, pre-hooks, the record before the
writes, the writes, the prune, then (once its readiness is known) the post-hooks and the
final record, written once.

`start_release` does everything up to the wait and hands back `Written`; the pass waits
for many releases at once (apply/wait.py) and calls `finish_release` with each one's
health. A dry run, or a release that heals no drift, stops at the plan.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from datetime import timedelta

from reconciler.apply.claim import source_conflict
from reconciler.apply.hooks import HookFailed, run_hooks
from reconciler.apply.inventory import InventoryFormatError, InventoryRecord, last_result
from reconciler.apply.live_index import LiveIndex
from reconciler.apply.plan import STALE_KEPT, ReleasePlan, plan_release
from reconciler.apply.prune import prune_stale
from reconciler.apply.records import (
    AppliedRelease,
    RecordRead,
    applied_record,
    read_inventory,
    record_before_writes,
    settled_record,
    write_inventory,
)
from reconciler.apply.wait import Awaited
from reconciler.apply.write import ensure_namespace, write_plan
from reconciler.desired import DesiredState
from reconciler.diff.changeset import Action, ChangeSet, ObjectChange
from reconciler.health import ReleaseHealth, ReleaseState
from reconciler.kube.client import KubeClient
from reconciler.outcome import Failure, Outcome
from reconciler.reconcile.refusals import cluster_scoped_refusals
from reconciler.reconcile.report import PassOptions, ReleaseReport, failed
from reconciler.release_requests.model import Release
from reconciler.render.model import RenderedRelease
from reconciler.render.secrets.redaction import hidden_outputs, redacted, secret_output_names
from reconciler.types import JsonObject, ReleaseKey


@dataclass(frozen=True)
class Written:
    """A release whose writes are done this pass; its readiness is not known yet."""

    applied: AppliedRelease
    record: InventoryRecord
    """Its record as the apply left it, written once its readiness is known."""
    changes: ChangeSet
    hook_messages: tuple[str, ...]
    post_hooks: str | None
    """The hook event to run once the release is Ready (post-install / post-upgrade)."""
    awaited: Awaited | None
    """What to wait for; None when the pass does not wait."""

    @property
    def key(self) -> ReleaseKey:
        return self.applied.release.key


def start_release(
    client: KubeClient,
    state: DesiredState,
    key: ReleaseKey,
    options: PassOptions,
    *,
    live: LiveIndex,
    previous: RecordRead | None,
) -> ReleaseReport | Written:
    """Check, plan and write one release: its report when it stops before the wait (a
    refusal, a dry run, a failed write), else what the pass waits for."""
    release = state.loaded.releases[key]
    rendered = state.render.rendered[key]
    refused = cluster_scoped_refusals(client, rendered, allowed=state.policy.allow_cluster_scoped)
    if refused:
        return failed(key, "; ".join(refused), Failure.PERMANENT)
    if isinstance(previous, InventoryFormatError):
        return failed(key, str(previous), Failure.PERMANENT)
    if previous is not None and (conflict := source_conflict(previous, source=options.source)):
        # Another source owns it: that changes outside this repository (its owner lets
        # go), so the loop keeps looking, with backoff.
        return failed(key, conflict, Failure.TEMPORARY)
    plan = plan_release(
        client, rendered, release, previous=previous, live=live, prune=options.prune
    )
    if options.dry_run or _heal_withheld(release, rendered, previous, options):
        return _checked_only(plan, options)
    if plan.refused:
        return _failed(
            client, state, options, key, "; ".join(plan.refused), plan.change_set(dry_run=True)
        )
    return _write_release(client, state, plan, release, options, live=live, previous=previous)


def _write_release(
    client: KubeClient,
    state: DesiredState,
    plan: ReleasePlan,
    release: Release,
    options: PassOptions,
    *,
    live: LiveIndex,
    previous: InventoryRecord | None,
) -> ReleaseReport | Written:
    key = release.key
    rendered = state.render.rendered[key]
    if previous is None:
        # A release with a record has its namespace: the record lives there.
        ensure_namespace(client, release.namespace, live)
    changing = previous is None or plan.change_set(dry_run=False).has_changes
    phase = "install" if previous is None else "upgrade"
    hook_messages: list[str] = []
    if changing and rendered.hooks:
        try:
            hook_messages = run_hooks(
                client, rendered.hooks, event=f"pre-{phase}", timeout=release.timeout_sec
            )
        except HookFailed as error:
            return _failed(client, state, options, key, str(error), plan.change_set(dry_run=True))
    record_before_writes(
        client, plan, release, previous=previous, source=options.source, revision=options.revision
    )
    written = write_plan(client, plan, release, previous=previous, live=live)
    if written.error is not None:
        return _failed(client, state, options, key, written.error, ChangeSet(key, written.changes))
    pruned = None
    if plan.prune and plan.stale:
        pruned = prune_stale(client, plan.stale, release=key, rendered_nothing=not rendered.objects)
        stale_changes: tuple[ObjectChange, ...] = pruned.changes
    else:
        stale_changes = tuple(ObjectChange(ref, Action.SKIPPED, STALE_KEPT) for ref in plan.stale)
    applied = AppliedRelease(
        rendered,
        release,
        plan,
        written,
        pruned,
        previous,
        source=options.source,
        revision=options.revision,
        dependency_outputs=_dependency_outputs(rendered, state.render.secrets),
        applied_by=options.applied_by,
    )
    record = applied_record(applied, live)
    awaited = None
    if options.wait:
        awaited = Awaited(
            record,
            timeout=timedelta(seconds=release.timeout_sec),
            paused=release.paused,
            changed_at=time.monotonic(),
        )
    return Written(
        applied,
        record,
        ChangeSet(key, (*written.changes, *stale_changes)),
        tuple(hook_messages),
        post_hooks=f"post-{phase}" if changing and rendered.hooks else None,
        awaited=awaited,
    )


def finish_release(
    client: KubeClient, state: DesiredState, written: Written, health: ReleaseHealth | None
) -> ReleaseReport:
    """The release's report once its readiness is known: post hooks run when it is Ready,
    and the record is written, noting since when it is (one write for both)."""
    key, applied = written.key, written.applied
    drift = applied.written.drift
    messages = [*written.hook_messages, *(f"drift corrected: {item}" for item in drift)]
    if applied.pruned is not None and applied.pruned.withheld:
        messages.append(applied.pruned.withheld)
    ready: bool | None = None
    # What the writes and the prune did, not what the plan expected: a prune that kept an
    # object (gone already, or guarded) changed nothing.
    changed = written.changes.has_changes or applied.previous is None
    outcome = Outcome.APPLIED if changed else Outcome.UNCHANGED
    failure = None
    if health is not None:
        ready = health.state in (ReleaseState.READY, ReleaseState.PAUSED)
        messages.append(health.message)
        if not ready:
            # Not Ready within its timeout: a node, an image, a dependency outside may
            # come; the loop looks again with backoff.
            outcome, failure = Outcome.FAILED, Failure.TEMPORARY
        elif written.post_hooks is not None:
            try:
                messages += run_hooks(
                    client,
                    applied.rendered.hooks,
                    event=written.post_hooks,
                    timeout=applied.release.timeout_sec,
                )
            except HookFailed as error:
                outcome, failure, messages = Outcome.FAILED, Failure.PERMANENT, [str(error)]
    message = "; ".join(m for m in messages if m)
    report = ReleaseReport(
        key, outcome, message, written.changes, ready, drift=drift, failure=failure
    )
    record = settled_record(
        applied.previous,
        written.record,
        health=health,
        ready=bool(ready) and outcome is not Outcome.FAILED,
        result=_last_result(report, state.render.secrets),
    )
    if record is not None:
        write_inventory(client, record)
    return report


def _checked_only(plan: ReleasePlan, options: PassOptions) -> ReleaseReport:
    """A dry run's report, or that of a release whose drift is left in place."""
    changes = plan.change_set(dry_run=True)
    message = "; ".join(plan.refused)
    outcome = Outcome.FAILED if plan.refused else Outcome.PLANNED
    if not options.dry_run and changes.has_changes:
        message = message or f"selfHeal is off: drift left in place ({changes.summary()})"
    elif not options.dry_run:
        outcome = Outcome.UNCHANGED
    failure = Failure.PERMANENT if outcome is Outcome.FAILED else None
    return ReleaseReport(plan.release, outcome, message, changes, failure=failure)


def _failed(
    client: KubeClient,
    state: DesiredState,
    options: PassOptions,
    key: ReleaseKey,
    message: str,
    changes: ChangeSet,
) -> ReleaseReport:
    """The release Failed before its writes were done, for good (a refusal of the plan or
    of the API server, a failed pre-hook: a temporary error stops the pass instead): the
    failure is noted in its record as the writes left it (read again: it may name
    objects created before the failure); another source's record is not this pass's to
    touch."""
    report = failed(key, message, Failure.PERMANENT, changes)
    record = read_inventory(client, key)
    last_result = _last_result(report, state.render.secrets)
    if record is not None and record.source == options.source and record.result != last_result:
        write_inventory(client, dataclasses.replace(record, result=last_result))
    return report


def _last_result(report: ReleaseReport, secrets: frozenset[str]) -> str:
    """The record's `result`: Applied, or Failed with why as the report says it (a
    ConfigMap: what a Secret of the pass holds is cut out)."""
    if report.outcome is not Outcome.FAILED:
        return last_result(Outcome.APPLIED)
    return last_result(Outcome.FAILED, redacted(report.message, secrets))


def _heal_withheld(
    release: Release,
    rendered: RenderedRelease,
    previous: InventoryRecord | None,
    options: PassOptions,
) -> bool:
    """Whether a release with `selfHeal: false` is only checked this pass: its last apply
    succeeded and an apply now would record it as it is (the same rendered inputs,
    settings and source, no withheld removal), so any difference is a hand edit, left in
    place until a commit changes the release. A failed or unfinished apply is tried
    again. Not the revision: the record keeps the one that last changed the release,
    whatever commit the pass is at."""
    if release.self_heal or previous is None:
        return False
    recorded = (previous.input_hash, previous.source, previous.removal_withheld)
    settings = (previous.prune, previous.delete_pvcs, previous.paused, previous.timeout_sec)
    return (
        previous.result == last_result(Outcome.APPLIED)
        and recorded == (rendered.input_hash, options.source, "")
        and settings == (release.prune, release.delete_pvcs, release.paused, release.timeout_sec)
    )


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
