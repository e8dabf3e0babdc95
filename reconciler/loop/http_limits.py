"""What bounds the work one client can give the HTTP server of `harmonia run`: the size of a
request, how long it may take to arrive, and how many API requests run at once.

The server (`server.py`) applies them; the Lease renewal shares nothing with it but the
process, so bounded work per request is what keeps a flood of requests from delaying it.
"""

from __future__ import annotations

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
"""Connections served at once; the next one waits in the listen queue until one ends."""
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
