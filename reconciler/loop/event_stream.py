"""`GET /api/v1/events`: the event bus as Server-Sent Events, for scripts and a web UI.

One stream per client, each a subscriber of the bus (`event_bus.py`) read on the server's
event loop; `server.py` serves the bytes. What bounds them: `MAX_STREAMS` at once (more get
429), a comment every `HEARTBEAT_SECONDS` (so idle proxies and clients see a live stream),
a bounded queue each (`SUBSCRIBER_BACKLOG`), and the connection's own deadline for a client
that takes nothing (`http_limits.py`). The server ends every stream when it stops.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from reconciler.loop.api import is_namespace_name, queried_namespace
from reconciler.loop.errors import ApiError
from reconciler.loop.event_bus import EventBus, ReleaseEvent, Subscription
from reconciler.loop.http_limits import RETRY_AFTER_SECONDS
from reconciler.types import ReleaseKey, split_release_key

EVENTS_PATH = "/api/v1/events"
MAX_STREAMS = 32
"""Streams open at once; each holds a connection of the server's `MAX_CONNECTIONS`."""
HEARTBEAT_SECONDS = 15.0
STREAM_QUERY_KEYS = ("namespace", "release")
_MAX_RELEASE_NAME = 253

OPENING = b"retry: 3000\n: release events of harmonia\n\n"
"""The first bytes of a stream: a client reconnects 3 s after losing it."""
HEARTBEAT = b": keep-alive\n\n"


def sse_message(event: ReleaseEvent) -> bytes:
    """One event as Server-Sent Events frame it; the JSON is one line (a newline in a
    reason is escaped by `json.dumps`), so no reason can end the frame or forge a field."""
    data = json.dumps(event.to_json(), separators=(",", ":"))
    return f"id: {event.id}\nevent: release\ndata: {data}\n\n".encode()


@dataclass(frozen=True)
class StreamFilter:
    namespace: str | None = None
    release: ReleaseKey | None = None

    def admits(self, event: ReleaseEvent) -> bool:
        if self.release is not None and event.release != self.release:
            return False
        return self.namespace is None or split_release_key(event.release)[0] == self.namespace


def parse_stream_query(query: Mapping[str, str]) -> StreamFilter:
    """`?namespace=` and `?release=namespace/name`; `ApiError(400)` for anything else."""
    namespace = queried_namespace(query, known=STREAM_QUERY_KEYS)
    release = query.get("release") or None
    if release is not None:
        release_namespace, slash, name = release.partition("/")
        valid_name = 0 < len(name) <= _MAX_RELEASE_NAME and "/" not in name
        if not (slash and is_namespace_name(release_namespace) and valid_name):
            raise ApiError(400, f"release: {release[:300]!r} is not namespace/name")
    return StreamFilter(namespace, ReleaseKey(release) if release else None)


class EventStreams:
    """The streams one server has open; `open` runs on its event loop, `end_all` anywhere."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._lock = threading.Lock()
        self._open: set[Subscription] = set()
        self._ended = False

    def open(self, query: Mapping[str, str], *, last_id: str | None) -> AsyncIterator[bytes]:
        """A new stream of the events `query` admits, those after `last_id` first (see
        `EventBus.subscribe`); `ApiError` 400 for a bad query, 429 at `MAX_STREAMS`, 503
        once the server stops."""
        chosen = parse_stream_query(query)
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()
        with self._lock:
            if self._ended:
                raise ApiError(503, "the server is stopping")
            if len(self._open) >= MAX_STREAMS:
                raise ApiError(
                    429,
                    f"{MAX_STREAMS} event streams are open already; "
                    f"try again in {RETRY_AFTER_SECONDS}s",
                )
            subscription = self._bus.subscribe(
                lambda: loop.call_soon_threadsafe(woken.set), last_id=last_id
            )
            self._open.add(subscription)
        return self._stream(subscription, woken, chosen)

    async def _stream(
        self, subscription: Subscription, woken: asyncio.Event, chosen: StreamFilter
    ) -> AsyncIterator[bytes]:
        try:
            yield OPENING
            while True:
                woken.clear()
                for event in subscription.take():
                    if chosen.admits(event):
                        yield sse_message(event)
                if subscription.ended or subscription.dropped:
                    return  # a dropped client reconnects with Last-Event-ID
                try:
                    await asyncio.wait_for(woken.wait(), timeout=HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield HEARTBEAT
        finally:
            with self._lock:
                self._open.discard(subscription)
            self._bus.unsubscribe(subscription)

    def end_all(self) -> None:
        """End every stream (their responses finish) and refuse new ones: the server stops."""
        with self._lock:
            self._ended = True
            ending = list(self._open)
        for subscription in ending:
            subscription.end()
