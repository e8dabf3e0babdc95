"""A real HTTP server on loopback that plays what a test talks to over HTTP (a forge's
REST API, a notification receiver): it records every request (method, path, headers,
body, arrival) and answers what the test's `answer` says.

The tests then check each recorded request against the documented shape: one server for
every such test, so a fix to how it serves reaches them all.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Recorded:
    method: str
    target: str
    """Path and query as sent."""
    headers: dict[str, str]
    """Header names in lower case."""
    body: bytes
    at: float
    """`time.monotonic()` when the request had arrived whole."""

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None
    """Sent as JSON; None: an empty body."""
    headers: dict[str, str] = field(default_factory=dict)


Answer = Callable[[Recorded], Reply]
"""The reply to a request, computed from it; it may wait first (a slow or hanging peer)."""


def in_turn(script: Callable[[int], Reply]) -> Answer:
    """An answer by request number (0 first, in the order answered): for a peer whose
    replies a test scripts in sequence, such as a failure and then a success."""
    numbers = itertools.count()
    lock = threading.Lock()

    def answer(_request: Recorded) -> Reply:
        with lock:
            number = next(numbers)
        return script(number)

    return answer


class RecordingServer:
    """Serves on `url` until closed; `requests` holds what it received, in order."""

    def __init__(self, answer: Answer) -> None:
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                with server._lock:  # arrival times in the order of `requests`
                    recorded = Recorded(self.command, self.path, headers, body, time.monotonic())
                    server.requests.append(recorded)
                reply = answer(recorded)
                payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (it timed out): nothing to answer

            do_GET = do_POST = do_PATCH = do_PUT = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self.hook_url = f"{self.url}/hook"
        """A webhook's address: a path under `url`, as a real receiver's has."""
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def bodies(self) -> list[bytes]:
        """The bodies received so far, read while requests may still arrive."""
        with self._lock:
            return [request.body for request in self.requests]

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()


@contextmanager
def recording_server(answer: Answer = lambda _request: Reply()) -> Iterator[RecordingServer]:
    server = RecordingServer(answer)
    try:
        yield server
    finally:
        server.close()
