"""One pass against the cluster: the desired state applied in dependency order.

The second half of a pass, after `desired.compute_desired_state`: each release is
planned and applied (or, for a dry run, only planned) on its own thread as soon as its
dependencies have their reports (schedule.py), and waited for with the others; a
failing release affects only its dependents. Releases whose files left Git are removed
at the end (removal.py).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from reconciler.apply.inventory import InventoryRecord
from reconciler.apply.live_index import LiveIndex
from reconciler.apply.records import inventory_records
from reconciler.apply.wait import Waiter
from reconciler.desired import DesiredState
from reconciler.health import ReleaseHealth
from reconciler.health.view import health_view
from reconciler.kube.client import KubeClient
from reconciler.kube.watch import Watches
from reconciler.outcome import Failure, Outcome
from reconciler.reconcile.refusals import contested, refused_before_writing
from reconciler.reconcile.release_flow import Written, finish_release, start_release
from reconciler.reconcile.removal import mark_removals, removed_releases
from reconciler.reconcile.report import (
    PassOptions,
    PassReport,
    ReleaseReport,
    failed,
    refused_alone,
)
from reconciler.reconcile.schedule import StartOrder, gate
from reconciler.render.secrets.redaction import redacted
from reconciler.types import ReleaseKey


@dataclass(frozen=True)
class _Step:
    outcome: ReleaseReport | Written
    started: float
    ended: float


def reconcile(
    client: KubeClient,
    state: DesiredState,
    options: PassOptions,
    *,
    stopping: Callable[[], bool] = lambda: False,
    watched: Watches | None = None,
    awaiting_ready: Callable[[ReleaseKey], None] = lambda _key: None,
) -> PassReport:
    """Apply (or with `dry_run`, plan) every release of `state` in its scope: one report
    for each, from which the log, the Events, the status files and the CLI all say what
    happened. The whole repository is the scope that also removes the releases whose
    files left Git; a pass over chosen releases (`DesiredState.scope`) only marks the
    removals it would withhold.

    Once `stopping()` is true, the releases being written finish and the rest are
    Deferred; nothing is removed. `watched`: the reflectors of a long-running reconciler,
    read instead of listing what they keep current. `awaiting_ready(key)`: said when a
    release's writes changed something and its wait for Ready begins (called from this
    thread; it must not block).
    """
    reports = {
        key: options.held.get(key, report) if key in state.render.failed else report
        for key, report in refused_before_writing(state).items()
        if state.in_scope(key)
    }
    changed: set[ReleaseKey] = set()
    # Without a long-running reconciler's reflectors, the wait for Ready starts watches
    # of its own (only for what it waits for: none in a pass that changes nothing).
    # They keep only what health reads (`health_view`), so only the rounds read them.
    followed = (
        Watches(client, keep=health_view) if watched is None and not options.dry_run else None
    )
    live = LiveIndex(client, watched=watched, children=followed)
    for key, message in contested(state, live).items():
        reports.setdefault(key, failed(key, message, Failure.PERMANENT))
    records = inventory_records(client, watched=watched)
    removals = mark_removals(client, state, options, records)

    def one(key: ReleaseKey) -> _Step:
        started = time.monotonic()
        if stopping():
            outcome: ReleaseReport | Written = ReleaseReport(
                key, Outcome.DEFERRED, "the reconciler is stopping"
            )
        elif key in options.deferred:
            outcome = ReleaseReport(key, Outcome.DEFERRED, options.deferred[key])
        elif key in options.held:
            outcome = options.held[key]
        else:
            dependencies = state.loaded.releases[key].dependencies.values()
            blocked = gate(key, dependencies, reports=reports, changed=changed)
            outcome = (
                blocked
                if blocked is not None
                else refused_alone(
                    key,
                    partial(
                        start_release,
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
            report = refused_alone(
                written.key, partial(finish_release, client, state, written, health)
            )
            ended = time.monotonic()
        # The API server's and the hooks' words may quote what a Secret holds; a diff, a
        # value decrypted into an object that is no Secret (a warning of its render).
        secrets = state.render.secrets
        message = redacted(report.message, secrets)
        changes = report.changes
        rendered = state.render.rendered.get(report.release)
        return dataclasses.replace(
            report,
            message=message,
            changes=changes.with_diffs(partial(redacted, secrets=secrets))
            if changes is not None and secrets
            else changes,
            seconds=ended - step.started,
            warnings=rendered.warnings if rendered is not None else (),
        )

    # A release starts once each dependency of this pass has its report, and is waited
    # for on its own: a slow or failing release holds back its dependents, nobody else.
    # Gates read finished reports only.
    order = StartOrder(
        {
            key: state.loaded.releases[key].dependencies.values()
            for level in state.graph.levels
            for key in level
            if key not in reports and key in state.render.rendered
        },
        changed=[
            key
            for key, rendered in state.render.rendered.items()
            if not (
                isinstance(record := records.get(key), InventoryRecord)
                and record.input_hash == rendered.input_hash
            )
        ],
    )

    def reported(report: ReleaseReport) -> None:
        reports[report.release] = report
        if report.outcome is Outcome.APPLIED:
            changed.add(report.release)
        order.reported(report.release)

    try:
        with ThreadPoolExecutor(max_workers=options.parallelism) as pool:
            rendered = (
                obj for release in state.render.rendered.values() for obj in release.objects
            )
            live.load(rendered, mapper=pool.map)
            waiter = Waiter(live, follow=followed, watched=watched is not None)
            waiting: dict[ReleaseKey, _Step] = {}
            running: set[futures.Future[_Step | ReleaseReport]] = set()
            while order or running or waiter:
                room = options.parallelism - len(running)
                running |= {pool.submit(one, key) for key in order.startable(room)}
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
                        if result.outcome.changes.has_changes:
                            awaiting_ready(result.outcome.key)
                    else:
                        running.add(pool.submit(finish, result, None))
                for key, health in waiter.poll(time.monotonic()).items():
                    running.add(pool.submit(finish, waiting.pop(key), health))
    finally:
        if followed is not None:
            followed.stop()
    if stopping():
        return PassReport(options.revision, reports, notes=("stopped before removals",))
    if state.scope is not None:
        return PassReport(options.revision, reports, notes=("a pass over chosen releases",))
    withheld, removed = removed_releases(client, state, options, records, removals)
    reports.update(removed)
    return PassReport(options.revision, reports, prune_withheld=withheld)
