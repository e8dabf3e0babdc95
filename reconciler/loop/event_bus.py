"""The in-memory bus of release state changes that `GET /api/v1/events` streams.

The loop publishes what it says of a release (a pass's outcome in `cycle.py`, a readiness
change in `reactor.py`) in the contract's one event vocabulary; each subscriber (a stream)
has a bounded queue of its own, so a slow one is dropped and the publisher never waits. The
last events are kept, with ids, so a client reconnecting with `Last-Event-ID` gets what it
missed. Thread-safe; no I/O (but a log line when a reason cannot be masked).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from reconciler.health import ReleaseState
from reconciler.loop.events import Notice, release_notices
from reconciler.outcome import Outcome
from reconciler.reconcile import ReleaseReport
from reconciler.types import JsonObject, ReleaseKey

log = logging.getLogger(__name__)

REPLAY_EVENTS = 100
"""Events kept for clients that reconnect with `Last-Event-ID`."""
REASON_LIMIT = 4096
"""Characters of an event's reason: a render error can be long, the events are kept."""
SUBSCRIBER_BACKLOG = 256
"""Events a subscriber may leave unread; one more drops it (it reconnects and replays)."""

Redact = Callable[[ReleaseKey, str], str]
"""A release and a message to the message with that release's Secret values masked."""


def pass_notices(report: ReleaseReport, *, revision: str) -> list[Notice]:
    """What the stream says of a release after a pass: what its Kubernetes Events say,
    then Ready when the pass applied it and left it Ready, so that a script waiting for
    its commit needs no second look (the Events say Applied alone: they stay as they are).
    Unchanged, Planned and Deferred are no news."""
    notices = release_notices(report, revision=revision)
    if report.outcome is Outcome.APPLIED and report.ready:
        message = f"revision {revision}: Ready after the apply"
        notices.append(Notice("Normal", str(ReleaseState.READY), message))
    return notices


@dataclass(frozen=True)
class ReleaseEvent:
    """One release state change as the stream sends it."""

    id: str
    """`<bus>-<sequence>`: a bus of a restarted reconciler never takes an id for its own."""
    release: ReleaseKey
    state: str
    """A word of the contract's vocabulary: Applied, Ready, Progressing, Degraded, Failed,
    Blocked, Invalid, Removed, RemovalWithheld, DriftCorrected, Paused, Resumed or
    SecretWarning (the reason of the Kubernetes Event said with it)."""
    reason: str
    revision: str | None
    time: datetime

    def to_json(self) -> JsonObject:
        return {
            "id": self.id,
            "release": self.release,
            "state": self.state,
            "reason": self.reason,
            "revision": self.revision,
            "time": self.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


class Subscription:
    """One subscriber's unread events; `wake` is called (from the publishing thread) when
    there is something to take or the subscription ended."""

    def __init__(
        self, bus: EventBus, backlog: Iterable[ReleaseEvent], wake: Callable[[], object]
    ) -> None:
        self._bus = bus
        self._pending: deque[ReleaseEvent] = deque(backlog)
        self._wake = wake
        self.dropped = False
        """It left `SUBSCRIBER_BACKLOG` events unread and gets no more."""
        self.ended = False
        """Closed by its reader or by `end_all` of the server that opened it."""

    def take(self) -> list[ReleaseEvent]:
        """The events not taken yet, oldest first."""
        with self._bus.lock:
            taken = list(self._pending)
            self._pending.clear()
        return taken

    def end(self) -> None:
        """No more events; wakes the reader so that it sees `ended`."""
        self._bus.unsubscribe(self)
        self.ended = True
        self.wake()

    def wake(self) -> None:
        # A RuntimeError: the reader's event loop is closed, it reads nothing more.
        with contextlib.suppress(RuntimeError):
            self._wake()

    def offer(self, event: ReleaseEvent) -> bool:
        """Queue `event` (with the bus's lock held); False if the subscriber fell behind."""
        if len(self._pending) >= SUBSCRIBER_BACKLOG:
            self.dropped = True
            return False
        self._pending.append(event)
        return True


class EventBus:
    """Fans release events out to subscribers; keeps the last `REPLAY_EVENTS`."""

    def __init__(self, *, redact: Redact = lambda _release, text: text) -> None:
        """`redact`: applied to every reason before it is kept or sent."""
        self.lock = threading.Lock()
        self._redact = redact
        self._prefix = secrets.token_hex(4)
        self._sequence = 0
        self._recent: deque[ReleaseEvent] = deque(maxlen=REPLAY_EVENTS)
        self._subscribers: list[Subscription] = []
        self._listeners: list[Callable[[ReleaseEvent], object]] = []

    def listen(self, listener: Callable[[ReleaseEvent], object]) -> None:
        """Call `listener` with every event from now on, in the order of their ids, from
        the publishing thread: it must return at once (the notifications' dispatcher
        only queues)."""
        with self.lock:
            self._listeners.append(listener)

    def publish(
        self,
        release: ReleaseKey,
        notices: Iterable[Notice],
        *,
        revision: str | None,
        now: datetime | None = None,
    ) -> None:
        """Send `notices` about `release` (those of its Kubernetes Events: the reason is the
        state, the message the reason) to every subscriber; never blocks on one, never
        raises for one (a subscriber that fell behind is dropped and woken to see it)."""
        when = now or datetime.now(UTC)
        woken: list[Subscription] = []
        for notice in notices:
            reason = self._redacted(release, notice.message)[:REASON_LIMIT]
            with self.lock:
                self._sequence += 1
                event = ReleaseEvent(
                    f"{self._prefix}-{self._sequence}",
                    release,
                    notice.reason,
                    reason,
                    revision,
                    when,
                )
                self._recent.append(event)
                for listener in self._listeners:
                    self._tell(listener, event)
                kept = [sub for sub in self._subscribers if sub.offer(event)]
                woken += self._subscribers
                self._subscribers = kept
        for subscriber in dict.fromkeys(woken):
            subscriber.wake()

    @staticmethod
    def _tell(listener: Callable[[ReleaseEvent], object], event: ReleaseEvent) -> None:
        """A listener's bug is logged: a pass never fails for its events."""
        try:
            listener(event)
        except Exception:
            log.exception("release %s: an event listener failed", event.release)

    def _redacted(self, release: ReleaseKey, text: str) -> str:
        """`redact`'s answer; when it fails (a bug), a reason that says so: the stream
        never carries a reason unmasked, and a pass never fails for its events."""
        try:
            return self._redact(release, text)
        except Exception:
            log.exception("release %s: an event's reason could not be masked", release)
            return "the reason could not be masked; see the reconciler's log"

    def subscribe(self, wake: Callable[[], object], *, last_id: str | None = None) -> Subscription:
        """A new subscriber. With `last_id` (a reconnecting client's `Last-Event-ID`), the
        kept events after it come first; all of them when the id is not one of them (of
        another bus, too old, or malformed): better twice than missed."""
        with self.lock:
            recent = list(self._recent)
            ids = [event.id for event in recent]
            if last_id is None:
                backlog: list[ReleaseEvent] = []
            elif last_id in ids:
                backlog = recent[ids.index(last_id) + 1 :]
            else:
                backlog = recent
            subscription = Subscription(self, backlog, wake)
            self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self.lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)

    @property
    def subscribers(self) -> int:
        with self.lock:
            return len(self._subscribers)
