"""What bounds the work one client can give the HTTP server of `harmonia run`: the size of a
request, how long it may take to arrive, and how many API requests run at once.

The server (`server.py`) applies them; the Lease renewal shares nothing with it but the
process, so bounded work per request is what keeps a flood of requests from delaying it.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from reconciler.loop.errors import ApiError

MAX_REQUEST_BYTES = 16 * 1024
"""The request line and headers together, in bytes: room for the longest label selector
the API parses (`MAX_SELECTOR_LENGTH`, percent-encoded) and ordinary headers."""
REQUEST_TIMEOUT_SECONDS = 5.0
"""How long a connection may take to send its whole request, and to take each part of
the answer, before it is dropped: a slow client cannot hold a thread."""
RECEIVE_BYTES = 4096
MAX_CONNECTIONS = 32
"""Connections served at once; the next one waits in the listen queue until one ends, or
until one still sending its request after `EVICTION_SECONDS` is dropped for it."""
EVICTION_SECONDS = 1.0
"""How long a connection may take to send its request and still keep its slot when every
slot is taken and another connection waits: clients that connect and send nothing (and
connect again once dropped) would otherwise keep the kubelet's probes waiting longer than
they wait (5 s in deploy/), and the reconciler would be restarted."""
MAX_API_REQUESTS = 4
"""`/api/v1/releases` requests answered at once (each reads the cluster); more are refused
at once with 429 and `Retry-After`, never queued."""
RETRY_AFTER_SECONDS = 1

P = ParamSpec("P")
R = TypeVar("R")


class RequestTooLarge(Exception):
    """The request line and headers ran over `MAX_REQUEST_BYTES`."""


class RequestReader(io.BufferedIOBase):
    """A connection's request line and headers, read straight from its socket: at most
    `budget` bytes (then `RequestTooLarge`), all within `seconds` of the connection's
    start (then `TimeoutError`), however slowly the client trickles them in."""

    def __init__(self, connection: socket.socket, *, budget: int, seconds: float) -> None:
        super().__init__()
        self._connection = connection
        self._left = budget
        self._seconds = seconds
        self._deadline = time.monotonic() + seconds
        self._buffer = bytearray()

    def readline(self, size: int | None = -1) -> bytes:
        """One line, or `size` bytes of it, or what came before the client closed."""
        limit = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        while (end := self._buffer.find(b"\n", 0, limit)) < 0 and len(self._buffer) < limit:
            chunk = self._receive()
            if not chunk:
                break
            self._buffer += chunk
        cut = end + 1 if end >= 0 else min(len(self._buffer), limit)
        line = bytes(self._buffer[:cut])
        del self._buffer[:cut]
        self._left -= len(line)
        if self._left < 0:
            raise RequestTooLarge(f"the request line and headers exceed {MAX_REQUEST_BYTES} bytes")
        return line

    def readable(self) -> bool:
        return True

    def _receive(self) -> bytes:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"the request did not arrive within {self._seconds:g}s")
        self._connection.settimeout(remaining)
        return self._connection.recv(RECEIVE_BYTES)


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


class Arrivals:
    """The connections still sending their request, oldest first: when every slot is taken,
    the oldest of them that has been at it for `EVICTION_SECONDS` is dropped, so a new
    connection (a probe) waits about that long at most, not the whole request timeout."""

    def __init__(self) -> None:
        self._started: dict[socket.socket, float] = {}
        self._lock = threading.Lock()

    def arriving(self, connection: socket.socket) -> None:
        with self._lock:
            self._started[connection] = time.monotonic()

    def arrived(self, connection: socket.socket) -> None:
        """Its request is read (or it is closed): it keeps its slot until it is answered."""
        with self._lock:
            self._started.pop(connection, None)

    def drop_slowest(self) -> None:
        """Close the reading side of the oldest connection still arriving, if it is slow."""
        with self._lock:
            if not self._started:
                return
            oldest = min(self._started, key=self._started.__getitem__)
            if time.monotonic() - self._started[oldest] < EVICTION_SECONDS:
                return
            del self._started[oldest]
        with contextlib.suppress(OSError):
            oldest.shutdown(socket.SHUT_RDWR)  # its RequestReader reads the end and gives up
