"""What bounds the work one client can give the HTTP server of `harmonia run`: the size of a
request, how long it may take to arrive, and how many API requests run at once.

The server (`server.py`) applies them; the Lease renewal shares nothing with it but the
process, so bounded work per request is what keeps a flood of requests from delaying it.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from reconciler.loop.errors import ApiError

MAX_REQUEST_BYTES = 16 * 1024
"""The request line and headers together, in bytes: room for the longest label selector
the API parses (`MAX_SELECTOR_LENGTH`, percent-encoded) and ordinary headers."""
REQUEST_TIMEOUT_SECONDS = 5.0
"""How long a connection may take to send its request (and to take each part of the
answer) before it is dropped, so a slow client cannot hold a thread."""
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


class BoundedReader(io.BufferedIOBase):
    """A connection's input that refuses to read more than `budget` bytes of request: the
    server reads the request line and headers through it, and reads no body."""

    def __init__(self, stream: io.BufferedIOBase, budget: int) -> None:
        super().__init__()
        self._stream = stream
        self._left = budget

    def readline(self, size: int | None = -1) -> bytes:
        """One line, as `stream.readline`; `RequestTooLarge` once the budget is spent."""
        wanted = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        line = self._stream.readline(wanted)
        self._left -= len(line)
        if self._left < 0:
            raise RequestTooLarge(f"the request line and headers exceed {MAX_REQUEST_BYTES} bytes")
        return line

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._stream.close()
        super().close()


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
