"""The notifications' dispatcher against real HTTP receivers on loopback: deduplicated,
rate-limited, retried with backoff on timeouts, refusals of connection, 5xx and 429, never
on another 4xx; a failing receiver said once per streak, by name; `offer` never waits."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry

from reconciler.loop.event_bus import EventBus, ReleaseEvent
from reconciler.loop.events import Notice
from reconciler.loop.metrics import Metrics
from reconciler.notify.alerts import AlertSink, Receiver
from reconciler.notify.config import AlertFilter, RateLimit
from reconciler.notify.dispatch import Dispatcher
from reconciler.notify.model import StateChange
from reconciler.notify.pacing import RetryPolicy
from reconciler.types import ReleaseKey
from tests.recording_server import Answer, Recorded, Reply, in_turn, recording_server
from tests.waiting import wait_for

NOW = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
QUICK = RetryPolicy(attempts=3, base=0.05, cap=2.0, rest=0.0)
LOGGER = "reconciler.notify.dispatch"


def failed(release: str = "shop/web", reason: str = "apply failed") -> StateChange:
    return StateChange(ReleaseKey(release), "Failed", reason, "abc123", NOW, {})


@contextmanager
def dispatching(
    url: str,
    *,
    name: str = "ops",
    retry: RetryPolicy = QUICK,
    rate_limit: RateLimit | None = None,
    timeout: float = 5.0,
    start: bool = True,
    inbox: int = 1000,
) -> Iterator[Dispatcher]:
    sink = AlertSink([Receiver(name, "webhook", url, AlertFilter())])
    dispatcher = Dispatcher(
        [sink],
        retry=retry,
        rate_limit=rate_limit or RateLimit(per_second=100, burst=100),
        timeout=timeout,
        registry=CollectorRegistry(),
        receivers=[name],
        inbox=inbox,
    )
    if start:
        dispatcher.start()
    try:
        yield dispatcher
    finally:
        dispatcher.close(timeout=10)


def count(dispatcher: Dispatcher, result: str, receiver: str = "ops") -> float:
    wanted = {"receiver": receiver, "result": result}
    return sum(
        sample.value
        for family in dispatcher.counts.collect()
        for sample in family.samples
        if sample.name == "harmonia_notifications_total" and sample.labels == wanted
    )


def settled(dispatcher: Dispatcher, total: int, receiver: str = "ops") -> None:
    """Wait until `total` deliveries were sent or failed for good."""
    wait_for(
        lambda: count(dispatcher, "sent", receiver) + count(dispatcher, "failed", receiver),
        until=lambda done: done >= total,
        what=f"{total} deliveries settled",
        timeout=60,
    )


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING
    ]


def hanging(answer: threading.Event) -> Answer:
    """A receiver that answers only once `answer` is set (or after 30 s)."""

    def reply(_request: Recorded) -> Reply:
        answer.wait(30)
        return Reply()

    return reply


def slowly(_request: Recorded) -> Reply:
    """A receiver that answers after 3 s (later than the dispatcher waits)."""
    time.sleep(3)
    return Reply()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_counts_are_exported_with_the_loops_metrics_from_the_start() -> None:
    metrics = Metrics()
    Dispatcher([], registry=metrics.registry, receivers=["ops"])
    text = metrics.exposition()[0].decode()
    for result in ("sent", "failed", "dropped", "deduplicated"):
        assert f'harmonia_notifications_total{{receiver="ops",result="{result}"}} 0.0' in text
    assert 'harmonia_notifications_total{receiver="*",result="dropped"} 0.0' in text


def test_the_same_failure_said_pass_after_pass_is_sent_once() -> None:
    with recording_server() as receiver, dispatching(receiver.hook_url) as dispatcher:
        for _pass in range(3):
            assert dispatcher.offer(failed())
        settled(dispatcher, 1)
        dispatcher.close(timeout=10)
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert (request.method, request.path) == ("POST", "/hook")
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body)["kind"] == "Failed"
    assert (count(dispatcher, "sent"), count(dispatcher, "deduplicated")) == (1, 2)


def test_a_receiver_that_is_down_is_tried_a_bounded_number_of_times_and_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    url = f"http://127.0.0.1:{closed_port()}/services/s3cr3t-path"
    with dispatching(url, name="pager") as dispatcher:
        dispatcher.offer(failed("shop/web"))
        dispatcher.offer(failed("shop/api"))
        settled(dispatcher, 2, receiver="pager")
    assert count(dispatcher, "failed", receiver="pager") == 2
    assert warnings(caplog) == [
        "notification receiver pager failing: ConnectionRefusedError; "
        "retried with backoff, 3 attempts at most"
    ]
    assert "s3cr3t" not in caplog.text and "127.0.0.1" not in caplog.text


def test_a_slow_receiver_times_out_each_attempt_and_the_attempts_are_bounded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    retry = RetryPolicy(attempts=2, base=0.05, cap=1.0, rest=0.0)
    with recording_server(slowly) as receiver:
        with dispatching(receiver.hook_url, retry=retry, timeout=0.5) as dispatcher:
            dispatcher.offer(failed())
            settled(dispatcher, 1)
        assert len(receiver.requests) == 2, "one attempt and one retry, no more"
    assert count(dispatcher, "failed") == 1
    assert warnings(caplog) == [
        "notification receiver ops failing: timed out; retried with backoff, 2 attempts at most"
    ]


@pytest.mark.parametrize("status", [401, 403, 422])
def test_a_refusal_is_not_retried_and_said_once_per_streak(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        recording_server(lambda _request: Reply(status)) as receiver,
        dispatching(receiver.hook_url) as dispatcher,
    ):
        dispatcher.offer(failed("shop/web"))
        dispatcher.offer(failed("shop/api"))
        settled(dispatcher, 2)
    assert len(receiver.requests) == 2, "each alert tried once"
    assert count(dispatcher, "failed") == 2
    assert warnings(caplog) == [
        f"notification receiver ops failing: HTTP {status}; not retried: check the "
        "receiver's URL, credentials and what it accepts"
    ]


def test_a_refused_alert_is_not_sent_again_when_the_next_pass_says_the_same_failure() -> None:
    """A 4xx says the request itself is wrong (URL, credentials, body): the same request at
    every pass would hammer a receiver that already said no."""
    with (
        recording_server(lambda _request: Reply(404)) as receiver,
        dispatching(receiver.hook_url) as dispatcher,
    ):
        dispatcher.offer(failed())
        settled(dispatcher, 1)
        dispatcher.offer(failed())  # the next pass
        assert dispatcher.close(timeout=10)
    assert len(receiver.requests) == 1
    assert (count(dispatcher, "failed"), count(dispatcher, "deduplicated")) == (1, 1)


def test_a_server_error_is_retried_and_delivered_and_the_recovery_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    script = (Reply(500), Reply(200))
    with (
        recording_server(in_turn(lambda n: script[min(n, 1)])) as receiver,
        dispatching(receiver.hook_url) as dispatcher,
    ):
        dispatcher.offer(failed())
        settled(dispatcher, 1)
    first, retried = receiver.requests
    assert first.body == retried.body
    assert (count(dispatcher, "sent"), count(dispatcher, "failed")) == (1, 0)
    said = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert said == [
        "notification receiver ops failing: HTTP 500; retried with backoff, 3 attempts at most",
        "notification receiver ops works again",
    ]


def test_a_429_waits_what_retry_after_asks() -> None:
    script = (Reply(429, headers={"Retry-After": "1"}), Reply(200))
    with (
        recording_server(in_turn(lambda n: script[min(n, 1)])) as receiver,
        dispatching(receiver.hook_url) as dispatcher,
    ):
        dispatcher.offer(failed())
        settled(dispatcher, 1)
    first, second = receiver.requests
    assert second.at - first.at >= 0.9, "Retry-After: 1 was not honoured"
    assert count(dispatcher, "sent") == 1


def test_a_flood_of_200_state_changes_is_sent_within_the_rate_limit_deduplicated() -> None:
    """100 releases fail, and the next pass says each failure again: 100 alerts, each
    once, no faster than the bucket allows (5 at once, then 40 a second)."""
    flood = [failed(f"ns-{number}/app") for number in range(100)] * 2
    limit = RateLimit(per_second=40, burst=5)
    with (
        recording_server() as receiver,
        dispatching(receiver.hook_url, rate_limit=limit) as dispatcher,
    ):
        assert all(dispatcher.offer(change) for change in flood)
        settled(dispatcher, 100)
    assert len(receiver.requests) == 100
    assert len({json.loads(r.body)["release"] for r in receiver.requests}) == 100
    assert (count(dispatcher, "sent"), count(dispatcher, "deduplicated")) == (100, 100)
    start = receiver.requests[0].at
    for number, request in enumerate(receiver.requests):
        # The bucket is full at the first request: request n needs n - burst + 1 new tokens.
        earliest = max(number - limit.burst + 1, 0) / limit.per_second
        assert request.at - start >= earliest - 0.05, f"request {number} came too early"


def test_offer_returns_at_once_while_a_request_hangs_and_drops_beyond_the_inbox() -> None:
    answer = threading.Event()
    with (
        recording_server(hanging(answer)) as receiver,
        dispatching(receiver.hook_url, inbox=50) as dispatcher,
    ):
        dispatcher.offer(failed("shop/first"))
        wait_for(lambda: len(receiver.requests), until=lambda n: n == 1, what="the first request")
        accepted = [dispatcher.offer(failed(f"shop/r{number}")) for number in range(60)]
        assert len(receiver.requests) == 1, "offer waited for a request"
        answer.set()
    assert accepted == [True] * 50 + [False] * 10
    assert count(dispatcher, "dropped", receiver="*") == 10


def test_closing_gives_up_at_its_deadline_on_a_hanging_receiver_and_counts_the_rest() -> None:
    answer = threading.Event()
    with recording_server(hanging(answer)) as receiver:
        with dispatching(receiver.hook_url, timeout=1.0, start=False) as dispatcher:
            for name in ("a", "b", "c"):
                dispatcher.offer(failed(f"shop/{name}"))
            dispatcher.start()
            wait_for(lambda: len(receiver.requests), until=bool, what="the first request")
            assert dispatcher.close(timeout=0.5), "the thread outlived the deadline"
        answer.set()
    assert count(dispatcher, "dropped") == 3
    assert count(dispatcher, "sent") == 0


def test_closing_sends_what_is_queued_before_the_thread_ends() -> None:
    with recording_server() as receiver, dispatching(receiver.hook_url, start=False) as dispatcher:
        for name in ("a", "b", "c"):
            dispatcher.offer(failed(f"shop/{name}"))
        dispatcher.start()
        dispatcher.close(timeout=10)
        assert len(receiver.requests) == 3
        assert not dispatcher.offer(failed("shop/late")), "a closed dispatcher takes nothing"


def test_the_event_bus_hands_its_listener_every_event_masked_and_in_order() -> None:
    bus = EventBus(redact=lambda _release, text: text.replace("hunter2", "***"))
    heard: list[ReleaseEvent] = []
    bus.listen(heard.append)
    web = ReleaseKey("shop/web")
    bus.publish(web, [Notice("Warning", "Failed", "password hunter2 refused")], revision="r1")
    bus.publish(
        web,
        [Notice("Normal", "Applied", "applied"), Notice("Normal", "Ready", "ok")],
        revision="r2",
    )
    assert [(event.state, event.reason) for event in heard] == [
        ("Failed", "password *** refused"),
        ("Applied", "applied"),
        ("Ready", "ok"),
    ]


def test_a_receiver_with_a_long_queue_does_not_hold_up_another() -> None:
    with recording_server() as busy, recording_server() as quiet:
        sink = AlertSink(
            [
                Receiver("busy", "webhook", busy.hook_url, AlertFilter()),
                Receiver("quiet", "webhook", quiet.hook_url, AlertFilter(namespaces=("b",))),
            ]
        )
        dispatcher = Dispatcher([sink], rate_limit=RateLimit(per_second=100, burst=100))
        for number in range(20):
            dispatcher.offer(failed(f"a-{number}/app"))
        dispatcher.offer(failed("b/app"))
        dispatcher.start()
        assert dispatcher.close(timeout=30)
    assert (len(busy.requests), len(quiet.requests)) == (21, 1)
    assert quiet.requests[0].at < busy.requests[2].at, "quiet waited for busy's queue"


def test_a_listener_that_fails_is_logged_and_the_bus_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    heard: list[str] = []

    def broken(_event: ReleaseEvent) -> None:
        raise RuntimeError("a bug")

    bus.listen(broken)
    bus.listen(lambda event: heard.append(event.state))
    subscription = bus.subscribe(lambda: None)
    bus.publish(ReleaseKey("shop/web"), [Notice("Warning", "Failed", "no")], revision="r1")
    assert heard == ["Failed"]
    assert [event.state for event in subscription.take()] == ["Failed"]
    assert "release shop/web: an event listener failed" in caplog.text


def test_a_receiver_whose_url_cannot_be_parsed_fails_alone_and_the_thread_goes_on() -> None:
    """urllib raises ValueError for `http://[::1` (no OSError): it must not end the one
    thread every receiver shares."""
    with recording_server() as good:
        sink = AlertSink(
            [
                Receiver("broken", "webhook", "http://[::1/hook", AlertFilter()),
                Receiver("good", "webhook", good.hook_url, AlertFilter()),
            ]
        )
        dispatcher = Dispatcher([sink], rate_limit=RateLimit(per_second=100, burst=100))
        dispatcher.start()
        dispatcher.offer(failed("a/app"))
        dispatcher.offer(failed("b/app"))
        assert dispatcher.close(timeout=30)
        assert count(dispatcher, "failed", "broken") == 2
    assert len(good.requests) == 2


def test_each_settled_delivery_is_told_by_receiver_and_result_never_its_url() -> None:
    told: list[tuple[str, ...]] = []
    with recording_server() as receiver:
        sink = AlertSink([Receiver("ops", "webhook", receiver.hook_url, AlertFilter())])
        dispatcher = Dispatcher(
            [sink],
            retry=QUICK,
            rate_limit=RateLimit(per_second=100, burst=100),
            registry=CollectorRegistry(),
            on_done=lambda *said: told.append(said),
        )
        dispatcher.start()
        dispatcher.offer(failed())
        settled(dispatcher, 1)
        dispatcher.close(timeout=10)
    assert told == [("ops", "sent")]
