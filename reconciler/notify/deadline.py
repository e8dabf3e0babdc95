"""A whole-request deadline for urllib: its `timeout` bounds each read of the socket, so
a receiver answering one byte every few seconds would hold the sending thread for days.

`bounded(seconds)` gives an opener whose connections are watched by a timer: when the time
is up it shuts their sockets down, the read under way ends, and `expired` says why.
Redirects are not followed (an answer, not a hop: the token would go where it points).
"""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import Any


class Watchdog:
    """Shuts down the sockets it watches once `seconds` have passed since it started."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            self._shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _WatchedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, watchdog: Watchdog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watchdog = watchdog

    def connect(self) -> None:
        super().connect()
        if self.sock is not None:
            self._watchdog.watch(self.sock)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, http.client.HTTPSConnection):
    """Watched after the TLS handshake: the socket shut down is the TLS one in use."""


class _WatchedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watchdog: Watchdog) -> None:
        super().__init__()
        self._watchdog = watchdog

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(partial(_WatchedHTTPConnection, watchdog=self._watchdog), req)


class _WatchedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watchdog: Watchdog) -> None:
        super().__init__()
        self._watchdog = watchdog

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(partial(_WatchedHTTPSConnection, watchdog=self._watchdog), req)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None  # urllib then raises the 3xx as an HTTPError


@contextmanager
def bounded(seconds: float) -> Iterator[tuple[urllib.request.OpenerDirector, Watchdog]]:
    """An opener for one request and its watchdog, which shuts the request's sockets down
    `seconds` after entering (a read under way then ends with an error)."""
    watchdog = Watchdog(seconds)
    opener = urllib.request.build_opener(
        _NoRedirects, _WatchedHTTPHandler(watchdog), _WatchedHTTPSHandler(watchdog)
    )
    watchdog.start()
    try:
        yield opener, watchdog
    finally:
        watchdog.cancel()
