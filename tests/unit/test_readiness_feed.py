"""The pure parts of `harmonia ui`'s live feed: which health moves are news, and what an
apply made elsewhere says through its inventory record."""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.apply.inventory import APPLYING, InventoryRecord
from reconciler.health import ReleaseHealth, ReleaseState
from reconciler.loop.health_moves import HealthMemory
from reconciler.loop.readiness_feed import record_notices
from reconciler.status.live import ReleaseStatus
from reconciler.types import ReleaseKey

KEY = ReleaseKey("shop/web")
RECORD = InventoryRecord(
    release=KEY, source="repo", revision="abc", input_hash="h", entries=(), result="Applied"
)


def status(state: ReleaseState, key: ReleaseKey = KEY) -> ReleaseStatus:
    record = dataclasses.replace(RECORD, release=key)
    return ReleaseStatus(record, ReleaseHealth(state, f"it is {state}", ()))


def test_a_health_move_is_news_and_the_same_state_again_is_not() -> None:
    memory = HealthMemory()
    assert memory.moves([status(ReleaseState.READY)]) == []
    (move,) = memory.moves([status(ReleaseState.DEGRADED)])
    assert (move.before, move.status.health.state) == (ReleaseState.READY, ReleaseState.DEGRADED)
    assert memory.moves([status(ReleaseState.DEGRADED)]) == []


def test_a_release_first_seen_is_news_only_when_asked() -> None:
    memory = HealthMemory()
    other = ReleaseKey("shop/db")
    assert memory.moves([status(ReleaseState.READY, other)]) == []
    (move,) = memory.moves([status(ReleaseState.FAILED)], first_sight=True)
    assert (move.status.key, move.before) == (KEY, None)


@pytest.mark.parametrize(
    ("before", "after", "said"),
    [
        (None, RECORD, []),
        (RECORD, RECORD, []),
        (RECORD, dataclasses.replace(RECORD, result=APPLYING), []),
        (
            RECORD,
            dataclasses.replace(RECORD, revision="def", result="Failed: ConfigMap/x refused"),
            [("Warning", "Failed", "ConfigMap/x refused")],
        ),
        (
            dataclasses.replace(RECORD, result="Failed: no"),
            dataclasses.replace(RECORD, revision="def"),
            [("Normal", "Applied", "revision def applied")],
        ),
    ],
)
def test_a_records_new_result_says_what_the_apply_came_to(
    before: InventoryRecord | None, after: InventoryRecord, said: list[tuple[str, str, str]]
) -> None:
    notices = record_notices(before, after)
    assert [(n.type, n.reason, n.message) for n in notices] == said
