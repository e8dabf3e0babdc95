"""The event bus behind `GET /api/v1/events` and the frames the stream sends: fan-out,
bounded queues, replay by `Last-Event-ID`, masking, filters."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest

from reconciler.health import ReleaseState
from reconciler.loop.errors import ApiError
from reconciler.loop.event_bus import (
    REPLAY_EVENTS,
    SUBSCRIBER_BACKLOG,
    EventBus,
    ReleaseEvent,
    pass_notices,
)
from reconciler.loop.event_stream import StreamFilter, parse_stream_query, sse_message
from reconciler.loop.events import Notice, health_notices
from reconciler.outcome import Outcome
from reconciler.reconcile import ReleaseReport
from reconciler.types import ReleaseKey

WEB = ReleaseKey("shop/web")
DB = ReleaseKey("data/db")
NOW = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)


def ready(message: str = "all resources are ready") -> Notice:
    return Notice("Normal", "Ready", message)


def states(events: list[ReleaseEvent]) -> list[tuple[str, str]]:
    return [(event.release, event.state) for event in events]


def test_every_subscriber_gets_every_event_in_order_and_is_woken() -> None:
    bus = EventBus()
    woken: list[str] = []
    first = bus.subscribe(lambda: woken.append("first"))
    second = bus.subscribe(lambda: woken.append("second"))
    bus.publish(WEB, [Notice("Normal", "Applied", "revision abc applied")], revision="abc")
    bus.publish(WEB, [ready()], revision="abc")
    expected = [(WEB, "Applied"), (WEB, "Ready")]
    assert states(first.take()) == expected
    assert states(second.take()) == expected
    assert first.take() == []
    assert woken.count("first") == 2 and woken.count("second") == 2


def test_an_event_carries_release_state_reason_revision_time_and_an_id() -> None:
    bus = EventBus()
    subscriber = bus.subscribe(lambda: None)
    bus.publish(WEB, [ready("3/3 ready")], revision="abc123", now=NOW)
    [event] = subscriber.take()
    body = event.to_json()
    assert body == {
        "id": event.id,
        "release": "shop/web",
        "state": "Ready",
        "reason": "3/3 ready",
        "revision": "abc123",
        "time": "2026-12-06T18:00:00Z",
    }


def test_a_subscriber_that_falls_behind_is_dropped_and_the_others_and_the_publisher_go_on() -> None:
    bus = EventBus()
    slow = bus.subscribe(lambda: None)
    keeping_up = bus.subscribe(lambda: None)
    for count in range(SUBSCRIBER_BACKLOG + 10):
        bus.publish(WEB, [ready(f"event {count}")], revision=None)
        keeping_up.take()
    assert slow.dropped and not keeping_up.dropped
    assert len(slow.take()) == SUBSCRIBER_BACKLOG
    assert bus.subscribers == 1
    bus.publish(WEB, [ready()], revision=None)
    assert slow.take() == [] and len(keeping_up.take()) == 1


def test_a_publisher_never_waits_for_a_subscriber_whose_wake_fails() -> None:
    def closed_loop() -> None:
        raise RuntimeError("Event loop is closed")

    bus = EventBus()
    bus.subscribe(closed_loop)
    listening = bus.subscribe(lambda: None)
    bus.publish(WEB, [ready()], revision=None)
    assert states(listening.take()) == [(WEB, "Ready")]


def test_a_reconnecting_client_gets_the_events_after_its_last_event_id() -> None:
    bus = EventBus()
    first = bus.subscribe(lambda: None)
    for state in ("Applied", "Progressing", "Ready"):
        bus.publish(WEB, [Notice("Normal", state, state)], revision="abc")
    seen = first.take()
    again = bus.subscribe(lambda: None, last_id=seen[0].id)
    assert [event.state for event in again.take()] == ["Progressing", "Ready"]
    caught_up = bus.subscribe(lambda: None, last_id=seen[-1].id)
    assert caught_up.take() == []


@pytest.mark.parametrize("last_id", ["nonsense", "00000000-1", "", "\n"])
def test_an_unknown_last_event_id_replays_every_kept_event(last_id: str) -> None:
    bus = EventBus()
    for count in range(REPLAY_EVENTS + 20):
        bus.publish(WEB, [ready(f"event {count}")], revision=None)
    replayed = bus.subscribe(lambda: None, last_id=last_id).take()
    assert len(replayed) == REPLAY_EVENTS
    assert replayed[-1].reason == f"event {REPLAY_EVENTS + 19}"


def test_a_new_client_without_last_event_id_gets_only_new_events() -> None:
    bus = EventBus()
    bus.publish(WEB, [ready()], revision=None)
    assert bus.subscribe(lambda: None).take() == []


def test_ids_of_two_buses_differ_so_a_restarted_reconciler_replays_everything() -> None:
    one, other = EventBus(), EventBus()
    for bus in (one, other):
        bus.publish(WEB, [ready()], revision=None)
    [from_one] = one.subscribe(lambda: None, last_id="x").take()
    [from_other] = other.subscribe(lambda: None, last_id="x").take()
    assert from_one.id != from_other.id


def test_reasons_are_masked_by_the_redaction_the_bus_is_given() -> None:
    secret = "hunter2-very-secret"

    def redact(release: ReleaseKey, text: str) -> str:
        return text.replace(secret, "***") if release == WEB else text

    bus = EventBus(redact=redact)
    subscriber = bus.subscribe(lambda: None)
    bus.publish(
        WEB, [Notice("Warning", "Degraded", f"env PASSWORD={secret} refused")], revision=None
    )
    [event] = subscriber.take()
    assert secret not in event.reason and secret not in sse_message(event).decode()
    assert secret not in str(bus.subscribe(lambda: None, last_id="?").take())


def test_an_ended_subscription_gets_nothing_more_and_its_reader_is_woken() -> None:
    bus = EventBus()
    woken = threading.Event()
    subscriber = bus.subscribe(woken.set)
    subscriber.end()
    bus.publish(WEB, [ready()], revision=None)
    assert subscriber.ended and woken.is_set() and subscriber.take() == []


def test_publishing_from_many_threads_loses_no_event_and_keeps_ids_unique() -> None:
    bus = EventBus()
    subscriber = bus.subscribe(lambda: None)

    def publish_some() -> None:
        for _ in range(50):
            bus.publish(WEB, [ready()], revision=None)

    threads = [threading.Thread(target=publish_some) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = subscriber.take()
    assert len(events) == 200 and len({event.id for event in events}) == 200


def test_a_frame_is_id_event_and_one_line_of_json_whatever_the_reason_holds() -> None:
    bus = EventBus()
    subscriber = bus.subscribe(lambda: None)
    forged = 'bad\n\nevent: release\ndata: {"state": "Ready"}\r\nid: 999'
    bus.publish(WEB, [Notice("Warning", "Failed", forged)], revision="abc", now=NOW)
    [event] = subscriber.take()
    frame = sse_message(event).decode()
    lines = frame.split("\n")
    assert lines[0] == f"id: {event.id}" and lines[1] == "event: release"
    assert lines[2].startswith("data: ") and lines[3:] == ["", ""]
    assert "\r" not in frame
    assert json.loads(lines[2].removeprefix("data: "))["reason"] == forged


def test_a_long_reason_is_cut_so_kept_events_stay_small() -> None:
    bus = EventBus()
    subscriber = bus.subscribe(lambda: None)
    bus.publish(WEB, [Notice("Warning", "Failed", "x" * 100_000)], revision=None)
    assert len(subscriber.take()[0].reason) <= 4096


def test_the_stream_filters_by_namespace_and_by_release() -> None:
    bus = EventBus()
    subscriber = bus.subscribe(lambda: None)
    bus.publish(WEB, [ready()], revision=None)
    bus.publish(DB, [ready()], revision=None)
    events = subscriber.take()
    assert [e.release for e in events if parse_stream_query({"namespace": "shop"}).admits(e)] == [
        WEB
    ]
    assert [e.release for e in events if parse_stream_query({"release": "data/db"}).admits(e)] == [
        DB
    ]
    assert [e.release for e in events if StreamFilter().admits(e)] == [WEB, DB]


@pytest.mark.parametrize(
    "query",
    [
        {"labelSelector": "a=b"},
        {"namespace": "Not_A_Namespace"},
        {"namespace": "x" * 10_000},
        {"release": "shop"},
        {"release": "shop/web/extra"},
        {"release": "/web"},
        {"release": "shop/" + "x" * 300},
    ],
)
def test_a_bad_stream_query_is_a_400_naming_the_parameter(query: dict[str, str]) -> None:
    with pytest.raises(ApiError) as raised:
        parse_stream_query(query)
    assert raised.value.status == 400
    assert next(iter(query)) in raised.value.message
    assert len(raised.value.message) < 500


@pytest.mark.parametrize(
    ("report", "said"),
    [
        (ReleaseReport(WEB, Outcome.APPLIED, "1 created", ready=True), ["Applied", "Ready"]),
        (ReleaseReport(WEB, Outcome.APPLIED, "1 created", ready=False), ["Applied"]),
        (
            ReleaseReport(WEB, Outcome.APPLIED, "", ready=True, drift=("ConfigMap/shop/web",)),
            ["Applied", "DriftCorrected", "Ready"],
        ),
        (ReleaseReport(WEB, Outcome.UNCHANGED, "", ready=True), []),
        (ReleaseReport(WEB, Outcome.PLANNED, ""), []),
        (ReleaseReport(WEB, Outcome.DEFERRED, "retrying in 40s"), []),
        (ReleaseReport(WEB, Outcome.FAILED, "not Ready in time"), ["Failed"]),
        (ReleaseReport(WEB, Outcome.BLOCKED, "shop/db is not Ready"), ["Blocked"]),
        (ReleaseReport(WEB, Outcome.INVALID, "line 3: bad"), ["Invalid"]),
        (ReleaseReport(WEB, Outcome.REMOVED, "its file left Git"), ["Removed"]),
        (ReleaseReport(WEB, Outcome.REMOVAL_WITHHELD, "confirm it"), ["RemovalWithheld"]),
    ],
)
def test_a_pass_outcome_is_said_in_the_event_vocabulary(
    report: ReleaseReport, said: list[str]
) -> None:
    notices = pass_notices(report, revision="abc123")
    assert [notice.reason for notice in notices] == said
    bus = EventBus()
    subscriber = bus.subscribe(lambda: None)
    bus.publish(WEB, notices, revision="abc123")
    assert [event.state for event in subscriber.take()] == said


@pytest.mark.parametrize("state", list(ReleaseState))
def test_a_readiness_change_is_said_as_its_health_state(state: ReleaseState) -> None:
    bus = EventBus()
    subscriber = bus.subscribe(lambda: None)
    before = ReleaseState.PROGRESSING if state is ReleaseState.READY else ReleaseState.READY
    bus.publish(WEB, health_notices(before, state, "why"), revision="abc123")
    assert [event.state for event in subscriber.take()] == [str(state)]


@pytest.mark.parametrize("state", [s for s in ReleaseState if s is not ReleaseState.PAUSED])
def test_a_paused_release_that_runs_again_is_said_resumed_then_its_state(
    state: ReleaseState,
) -> None:
    bus = EventBus()
    subscriber = bus.subscribe(lambda: None)
    bus.publish(WEB, health_notices(ReleaseState.PAUSED, state, "why"), revision="abc123")
    assert [event.state for event in subscriber.take()] == ["Resumed", str(state)]


def test_a_reason_that_cannot_be_masked_is_withheld_and_the_publisher_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(_release: ReleaseKey, _text: str) -> str:
        raise ValueError("bug")

    bus = EventBus(redact=broken)
    subscriber = bus.subscribe(lambda: None)
    bus.publish(WEB, [Notice("Warning", "Degraded", "token=hunter2")], revision=None)
    [event] = subscriber.take()
    assert event.state == "Degraded" and "hunter2" not in event.reason
    assert "shop/web: an event's reason could not be masked" in caplog.text
