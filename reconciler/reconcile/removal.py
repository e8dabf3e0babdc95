"""Releases whose files left Git: removed when pruning is on, behind the guards that stop
mass deletion (removal_guard.py). The decision is made, and withheld removals marked,
before the pass writes anything; the removals happen after every release is done."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from functools import partial

from reconciler.apply.inventory import InventoryRecord
from reconciler.apply.prune import remove_release
from reconciler.apply.records import RecordRead, write_inventory
from reconciler.apply.removal_guard import (
    CONFIRM_FIELD,
    RemovalDecision,
    decide_removals,
    withheld_message,
)
from reconciler.desired import DesiredState
from reconciler.diff.changeset import ChangeSet
from reconciler.kube.client import KubeClient
from reconciler.outcome import Outcome
from reconciler.reconcile.report import PassOptions, ReleaseReport, refused_alone
from reconciler.types import ReleaseKey


def _gone_records(
    state: DesiredState, options: PassOptions, found: Mapping[ReleaseKey, RecordRead]
) -> tuple[list[InventoryRecord], list[InventoryRecord]]:
    """This source's readable records (of this replica's shard), and those of them whose
    files left Git."""
    records = [
        record
        for record in found.values()
        if isinstance(record, InventoryRecord)
        and record.source == options.source
        and (state.owns is None or state.owns(record.release))
    ]
    present = set(state.loaded.releases) | set(state.loaded.invalid_releases)
    return records, [record for record in records if record.release not in present]


def mark_removals(
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


def removed_releases(
    client: KubeClient,
    state: DesiredState,
    options: PassOptions,
    found: Mapping[ReleaseKey, RecordRead],
    decision: RemovalDecision,
) -> tuple[str | None, dict[ReleaseKey, ReleaseReport]]:
    """Releases this repository applied whose files are gone: removed, behind the guards
    (`decision`, made and marked by `mark_removals` before the pass wrote anything).

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
        report(refused_alone(record.release, removal), started)
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
