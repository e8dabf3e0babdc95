"""The final record of an apply (`records.settled_record`): its `revision` is the commit at
which the release last changed, so a pass at a new commit rewrites only the records of
the releases it changed (issue 26: one release changed among thousands)."""

from __future__ import annotations

import dataclasses

from reconciler.apply.inventory import InventoryEntry, InventoryRecord
from reconciler.apply.records import settled_record
from reconciler.objects import ObjectRef
from reconciler.types import ReleaseKey

SETTINGS = ObjectRef("v1", "ConfigMap", "shop", "settings")
PREVIOUS = InventoryRecord(
    release=ReleaseKey("shop/web"),
    source="repo",
    revision="rev-1",
    input_hash="h1",
    entries=(InventoryEntry(SETTINGS, "d1", "100"),),
    result="Applied",
    time="2026-12-01T10:00:00+00:00",
    ready_since="2026-12-01T10:00:05+00:00",
)
UNCHANGED_AT_REV_2 = dataclasses.replace(
    PREVIOUS, revision="rev-2", time="2026-12-07T06:00:00+00:00"
)


def test_a_new_commit_that_leaves_the_release_as_it_was_writes_no_record() -> None:
    settled = settled_record(
        PREVIOUS, UNCHANGED_AT_REV_2, health=None, ready=True, result="Applied"
    )

    assert settled is None


def test_a_release_changed_at_the_new_commit_is_recorded_with_that_commit() -> None:
    changed = dataclasses.replace(
        UNCHANGED_AT_REV_2,
        input_hash="h2",
        entries=(InventoryEntry(SETTINGS, "d2", "140"),),
        ready_since="",
    )

    settled = settled_record(PREVIOUS, changed, health=None, ready=False, result="Applied")

    assert settled is not None
    assert (settled.revision, settled.input_hash, settled.time) == (
        "rev-2",
        "h2",
        "2026-12-07T06:00:00+00:00",
    )


def test_a_new_result_alone_keeps_the_revision_and_time_of_the_last_change() -> None:
    failed = dataclasses.replace(PREVIOUS, result="Failed: not Ready within its timeout")

    settled = settled_record(failed, UNCHANGED_AT_REV_2, health=None, ready=True, result="Applied")

    assert settled == dataclasses.replace(failed, result="Applied")
    assert settled is not None and settled.revision == "rev-1"


def test_a_first_apply_is_recorded_with_the_commit_of_the_pass() -> None:
    settled = settled_record(None, UNCHANGED_AT_REV_2, health=None, ready=False, result="Applied")

    assert settled is not None and settled.revision == "rev-2"
