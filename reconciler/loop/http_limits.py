"""What bounds the work one client can give the HTTP server of `harmonia run`: the size of a
request's head and a webhook's body, how long a request may take to arrive and its answer
to be taken, the connections open at once, the requests answered at once, and the API
requests among them.

The server (`server.py`) applies them. uvicorn bounds nothing of this by itself beyond
h11's buffer, so `BoundedH11Protocol` adds the deadlines and the connection cap to its
HTTP/1.1 protocol. The Lease renewal shares nothing with the server but the process, so
bounded work per request is what keeps a flood of requests from delaying it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, ParamSpec, TypeVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from reconciler.loop.errors import ApiError

MAX_REQUEST_BYTES = 16 * 1024
"""The request line and headers together, in bytes: room for the longest label selector
the API parses (`MAX_SELECTOR_LENGTH`, percent-encoded) and ordinary headers."""
H11_BUFFER_BYTES = 1024 * 1024
"""h11's own bound on an unfinished request head, far above `MAX_REQUEST_BYTES` plus one
read from the socket, so that the clear 414/431 of this module answers first and h11's
plain 400 only if that check were ever bypassed."""
REQUEST_TIMEOUT_SECONDS = 5.0
"""How long a connection may take to send its whole request (from its start, or from the
previous answer on a kept-alive connection), and how long it may leave the answer untaken
while more waits to be sent, before it is dropped."""
MAX_CONNECTIONS = 256
"""Connections open at once. One more drops the oldest connection still sending its
request (a slow or idle client, never a request being answered), so that clients that
connect and send nothing cannot keep the kubelet's probes out; with none to drop, the new
connection is closed."""
ANSWERING_THREADS = 32
"""Requests answered at once, each in a worker thread of its own (a provider may block on
the cluster); more wait for a thread. `/healthz` needs none."""
MAX_API_REQUESTS = 4
"""`/api/v1/releases` requests answered at once (each reads the cluster); more are refused
at once with 429 and `Retry-After`, never queued."""
RETRY_AFTER_SECONDS = 1
MAX_HOOK_BODY_BYTES = 1024 * 1024
"""A push webhook's body: a push of a few commits is a few KiB; one of many commits with
long messages stays well below this. Beyond it: 413, nothing read further."""
MAX_HOOK_DRAIN_BYTES = 8 * MAX_HOOK_BODY_BYTES
"""How much of a body over the limit is read (and dropped) so that its sender gets the 413;
beyond it, or declared beyond it, the answer is sent at once and the connection closed."""
MAX_HOOK_BODIES = 8
"""Webhook bodies read at once (each up to `MAX_HOOK_BODY_BYTES` in memory); more wait."""

P = ParamSpec("P")
R = TypeVar("R")


def oversized_head(request_line_bytes: int, head_bytes: int) -> tuple[HTTPStatus, str] | None:
    """The refusal of a request whose line and headers run over `MAX_REQUEST_BYTES`: 414
    when its request line alone does, 431 otherwise; None if it fits."""
    if head_bytes <= MAX_REQUEST_BYTES:
        return None
    message = f"the request line and headers exceed {MAX_REQUEST_BYTES} bytes"
    if request_line_bytes > MAX_REQUEST_BYTES:
        return HTTPStatus.REQUEST_URI_TOO_LONG, message
    return HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, message


def head_bytes(target: int, headers: Iterable[tuple[bytes, bytes]]) -> tuple[int, int]:
    """(request line, request line and headers) in bytes, about as sent: `target` is the
    length of the path and query; a method, the version and line ends are counted as 16."""
    line = target + 16
    return line, line + sum(len(name) + len(value) + 4 for name, value in headers)


class ConcurrencyLimit:
    """At most `slots` calls at once through `limited`; one more is refused, not queued."""

    def __init__(self, slots: int, *, what: str) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self._count = slots
        self._what = what

    def limited(self, call: Callable[P, R]) -> Callable[P, R]:
        """`call`, raising `ApiError(429)` while all slots are taken."""

        def within_limit(*args: P.args, **kwargs: P.kwargs) -> R:
            if not self._slots.acquire(blocking=False):
                raise ApiError(
                    429,
                    f"{self._count} {self._what} are being answered already; "
                    f"try again in {RETRY_AFTER_SECONDS}s",
                )
            try:
                return call(*args, **kwargs)
            finally:
                self._slots.release()

        return within_limit


class BoundedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 connection with the bounds it lacks: a deadline for each request
    to arrive whole (uvicorn times out only an idle kept-alive connection, not one that
    trickles its request in), a refusal of a request head over `MAX_REQUEST_BYTES` while it
    still arrives, a deadline for the client to take the answer, and `MAX_CONNECTIONS`.

    Runs on the server's event loop only, so it needs no lock.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting_since: float | None = None
        """When this connection began sending the request it has not finished sending."""
        self._arrival: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._stalled: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        if len(self.connections) > MAX_CONNECTIONS and not self._make_room():
            self.transport.close()
            return
        self._track_arrival()

    def data_received(self, data: bytes) -> None:
        arriving = self.conn.their_state is h11.IDLE
        if arriving:
            self._head_bytes += len(data)
        super().data_received(data)
        self._track_arrival()
        still_arriving = self.waiting_since is not None and not self.transport.is_closing()
        if arriving and still_arriving and self._head_bytes > MAX_REQUEST_BYTES:
            self._refuse_oversized_head()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._track_arrival()

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._arrival, self._stalled):
            if timer is not None:
                timer.cancel()
        self.waiting_since = None
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        self._stalled = self.loop.call_later(REQUEST_TIMEOUT_SECONDS, self.transport.abort)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._stalled is not None:
            self._stalled.cancel()
            self._stalled = None

    def _track_arrival(self) -> None:
        """Start the arrival deadline when a request is awaited; stop it once it is in."""
        waiting = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
        if waiting and self._arrival is None:
            self.waiting_since = self.loop.time()
            self._arrival = self.loop.call_later(REQUEST_TIMEOUT_SECONDS, self.transport.close)
        elif not waiting and self._arrival is not None:
            self._arrival.cancel()
            self._arrival = None
            self.waiting_since = None
            self._head_bytes = 0

    def _refuse_oversized_head(self) -> None:
        """Answer 414 or 431 to a head over the limit that has not ended yet."""
        unfinished = self.conn.trailing_data[0]
        line_end = unfinished.find(b"\n")
        line_bytes = line_end + 1 if line_end >= 0 else len(unfinished)
        refusal = oversized_head(line_bytes, max(len(unfinished), self._head_bytes))
        if refusal is None:
            return
        status, message = refusal
        body = error_body(message)
        head = (
            f"HTTP/1.1 {status.value} {status.phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        # h11 cannot answer a request it has not parsed: the answer is written as bytes.
        self.transport.write(head.encode() + body)
        self.transport.close()

    def _make_room(self) -> bool:
        """Drop the connection that has waited longest for its request; False if none."""
        waiting = [
            connection
            for connection in self.connections
            if isinstance(connection, BoundedH11Protocol)
            and connection is not self
            and connection.waiting_since is not None
        ]
        if not waiting:
            return False
        oldest = min(waiting, key=lambda connection: connection.waiting_since or 0.0)
        oldest.waiting_since = None
        oldest.transport.close()
        return True


def error_body(message: str) -> bytes:
    """The server's JSON error body, `{"error": message}`, as every error answer has it."""
    return (json.dumps({"error": message}, indent=2) + "\n").encode()
