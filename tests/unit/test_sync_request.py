"""The sync request on a record: the patch that asks, and which requests are pending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from reconciler.apply.sync_request import (
    HANDLED_AT,
    REQUESTED_AT,
    handled_patch,
    pending_request,
    request_patch,
)
from reconciler.types import JsonObject


def record(**annotations: str) -> JsonObject:
    return {"metadata": {"annotations": dict(annotations)}}


def test_the_request_is_the_time_in_utc_with_microseconds() -> None:
    local = datetime(2026, 12, 6, 19, 0, 1, 5, tzinfo=timezone(timedelta(hours=2)))
    patch = request_patch(local)
    assert patch == {"metadata": {"annotations": {REQUESTED_AT: "2026-12-06T17:00:01.000005Z"}}}


def test_a_request_is_pending_until_the_same_value_is_handled() -> None:
    stamp = "2026-12-06T17:00:01.000005Z"
    assert pending_request(record(**{REQUESTED_AT: stamp})) == stamp
    handled: dict[str, str] = handled_patch(stamp)["metadata"]["annotations"]  # type: ignore[index, assignment]
    assert pending_request(record(**{REQUESTED_AT: stamp}, **handled)) is None
    later = "2026-12-06T17:05:00.000000Z"
    assert pending_request(record(**{REQUESTED_AT: later, HANDLED_AT: stamp})) == later


def test_no_annotation_or_one_that_is_not_a_time_is_no_request() -> None:
    assert pending_request(record()) is None
    assert pending_request({"metadata": {}}) is None
    assert pending_request(record(**{REQUESTED_AT: "now please"})) is None
    assert pending_request(record(**{REQUESTED_AT: datetime.now(UTC).isoformat()})) is not None
