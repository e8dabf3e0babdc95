"""The one sender of notifications: state changes offered by the loop, sent by a thread
of its own, so that a receiver that is down, slow or refusing never slows a pass.

`offer` only queues (bounded; a full inbox drops and counts). The thread runs every sink
in the order the changes came, drops what was sent already (by `Delivery.key`), queues
each receiver's requests behind its token bucket, and retries timeouts, connection
failures, 5xx and 429 with backoff a bounded number of times. The log says a failing
receiver once per failure streak, by name and HTTP status or error class, and says when
it works again; `harmonia_notifications_total{receiver, result}` counts the rest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter

from reconciler.notify.config import RateLimit
from reconciler.notify.model import Delivery, Sink, StateChange
from reconciler.notify.pacing import RetryPolicy, SentKeys, TokenBucket
from reconciler.notify.sending import Answer, send

log = logging.getLogger(__name__)

INBOX = 1000
"""State changes waiting for the thread; it takes them all between two requests, so only
a flood during one slow request fills it."""
BACKLOG = 500
"""Requests waiting for one receiver (its rate limit, its retries)."""
REMEMBERED = 10_000
"""Delivery keys kept to deduplicate (those sent, and those refused with a 4xx)."""
ANY_RECEIVER = "*"
"""The `receiver` label of state changes dropped before any sink saw them."""
RESULTS = ("sent", "failed", "dropped", "deduplicated")


@dataclass
class _Queued:
    delivery: Delivery
    failed_attempts: int = 0
    not_before: float = 0.0


@dataclass
class _Lane:
    """One receiver's queue, bucket and failure streak."""

    bucket: TokenBucket
    queue: deque[_Queued] = field(default_factory=deque)
    failing: bool = False
    resting_until: float = 0.0

    def ready_at(self, now: float) -> float | None:
        if not self.queue:
            return None
        head = self.queue[0]
        return max(head.not_before, self.resting_until, self.bucket.ready_at(now))


class Dispatcher:
    def __init__(
        self,
        sinks: Sequence[Sink],
        *,
        rate_limit: RateLimit | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 5.0,
        registry: CollectorRegistry | None = None,
        receivers: Sequence[str] = (),
        inbox: int = INBOX,
        backlog: int = BACKLOG,
        remembered: int = REMEMBERED,
        on_done: Callable[[str, str], None] | None = None,
    ) -> None:
        """`timeout`: seconds one request may take; `registry`: where the counter is
        registered (the loop's metrics), else a registry of its own; `receivers`: the
        names whose series exist from the start, so that rates work from the first sample;
        `on_done`: told (receiver, result) of each delivery settled, never its URL."""
        self._sinks = tuple(sinks)
        self._on_done = on_done
        self._rate_limit = rate_limit or RateLimit()
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self._inbox_limit = inbox
        self._backlog = backlog
        self._wake = threading.Condition()
        self._inbox: deque[StateChange] = deque()
        self._closing = False
        self._deadline = float("inf")
        self._lanes: dict[str, _Lane] = {}
        self._queued_keys: set[str] = set()
        self._sent = SentKeys(remembered)
        self._thread = threading.Thread(target=self._run, name="notifications", daemon=True)
        self.counts = Counter(
            "harmonia_notifications",
            "Notifications by receiver and result: sent, failed (every attempt or a 4xx), "
            "dropped (a full queue) or deduplicated (sent already).",
            ["receiver", "result"],
            registry=registry if registry is not None else CollectorRegistry(),
        )
        self.counts.labels(receiver=ANY_RECEIVER, result="dropped")
        for name in receivers:
            for result in RESULTS:
                self.counts.labels(receiver=name, result=result)

    def start(self) -> None:
        self._thread.start()

    def offer(self, change: StateChange) -> bool:
        """Queue `change` for the sinks; never waits for a request. False when dropped (the
        inbox is full, or the dispatcher is closing)."""
        with self._wake:
            accepted = not self._closing and len(self._inbox) < self._inbox_limit
            if accepted:
                self._inbox.append(change)
                self._wake.notify()
        if not accepted:
            self.counts.labels(receiver=ANY_RECEIVER, result="dropped").inc()
        return accepted

    def close(self, *, timeout: float) -> bool:
        """Take no more changes, send what is queued for at most `timeout` seconds (what
        is left then is dropped and counted), and stop the thread; False if it is still
        running (a request under way outlives its own timeout: a bug)."""
        with self._wake:
            self._closing = True
            self._deadline = time.monotonic() + timeout
            self._wake.notify()
        if self._thread.is_alive():
            # The last request under way may take its own timeout past the deadline.
            self._thread.join(timeout + self._timeout + 1)
        return not self._thread.is_alive()

    # -- the thread ------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._wake:
                changes = list(self._inbox)
                self._inbox.clear()
                closing, deadline = self._closing, self._deadline
            for change in changes:
                self._route(change)
            now = time.monotonic()
            if now >= deadline:
                self._abandon()
                return
            due = [
                (at, name)
                for name, lane in self._lanes.items()
                if (at := lane.ready_at(now)) is not None
            ]
            ready = [name for at, name in due if at <= now]
            if ready:
                self._attempt(ready[0], now)
                # Round robin: the receiver just served goes last, a busy one starves none.
                self._lanes[ready[0]] = self._lanes.pop(ready[0])
                continue
            if closing and not due:
                return
            until = min([at for at, _name in due] + [deadline])
            with self._wake:
                if not self._inbox and self._closing == closing:
                    self._wake.wait(None if until == float("inf") else max(until - now, 0.0))

    def _route(self, change: StateChange) -> None:
        for sink in self._sinks:
            try:
                deliveries = sink(change)
            except Exception:
                log.exception("release %s: a notification sink failed (a bug)", change.release)
                continue
            for delivery in deliveries:
                self._enqueue(delivery)

    def _enqueue(self, delivery: Delivery) -> None:
        name, key = delivery.receiver, delivery.key
        if key in self._sent or key in self._queued_keys:
            self.counts.labels(receiver=name, result="deduplicated").inc()
            return
        lane = self._lanes.get(name)
        if lane is None:
            lane = self._lanes[name] = _Lane(TokenBucket(self._rate_limit, now=time.monotonic()))
        if len(lane.queue) >= self._backlog:
            self.counts.labels(receiver=name, result="dropped").inc()
            return
        lane.queue.append(_Queued(delivery))
        self._queued_keys.add(key)

    def _attempt(self, name: str, now: float) -> None:
        lane = self._lanes[name]
        queued = lane.queue[0]
        lane.bucket.take(now)
        answer = send(queued.delivery, timeout=self._timeout)
        after = time.monotonic()
        if answer.ok:
            self._done(lane, queued, result="sent")
            if lane.failing:
                lane.failing = False
                log.info("notification receiver %s works again", name)
            return
        queued.failed_attempts += 1
        self._say_failing(name, lane, answer)
        if answer.retryable and queued.failed_attempts < self._retry.attempts:
            queued.not_before = after + self._retry.delay(
                queued.failed_attempts, answer.retry_after
            )
            return
        self._done(lane, queued, result="failed", settled=not answer.retryable)
        if answer.retryable:
            lane.resting_until = after + self._retry.rest

    def _done(self, lane: _Lane, queued: _Queued, *, result: str, settled: bool = True) -> None:
        """`settled`: its key is remembered (sent, or refused with a 4xx: the same request
        again would be refused again); a delivery that only timed out or met 5xx is not, so
        the same news said at a later pass is tried again."""
        lane.queue.popleft()
        key = queued.delivery.key
        self._queued_keys.discard(key)
        if settled:
            self._sent.add(key)
        self.counts.labels(receiver=queued.delivery.receiver, result=result).inc()
        if self._on_done is not None:
            self._on_done(queued.delivery.receiver, result)

    def _say_failing(self, name: str, lane: _Lane, answer: Answer) -> None:
        """Once per streak at WARNING (by name and status: the URL may be a secret)."""
        if answer.retryable:
            next_step = f"retried with backoff, {self._retry.attempts} attempts at most"
        else:
            next_step = "not retried: check the receiver's URL, credentials and what it accepts"
        level = logging.DEBUG if lane.failing else logging.WARNING
        lane.failing = True
        log.log(level, "notification receiver %s failing: %s; %s", name, answer.problem, next_step)

    def _abandon(self) -> None:
        """At the deadline of `close`: what is still queued is dropped, and counted."""
        for name, lane in self._lanes.items():
            if lane.queue:
                self.counts.labels(receiver=name, result="dropped").inc(len(lane.queue))
                lane.queue.clear()
        self._queued_keys.clear()
