"""A real HTTP server on loopback that plays a notification receiver: it records every
request (method, path, headers, body, arrival) and answers what the test scripted."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    """`time.monotonic()` when the request had arrived whole."""


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    """Seconds to wait before answering (a slow receiver)."""


Script = Callable[[int], Reply]
"""The reply to the n-th request (0 first)."""


class LoopbackReceiver:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    number = len(receiver.received)
                    receiver.received.append(
                        Received(
                            "POST", self.path, dict(self.headers.items()), body, time.monotonic()
                        )
                    )
                reply = receiver.script(number)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers:
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the client gave up (it timed out): nothing to answer

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def bodies(self) -> list[bytes]:
        with self._lock:
            return [request.body for request in self.received]

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def receiving(script: Script = lambda _n: Reply()) -> Iterator[LoopbackReceiver]:
    receiver = LoopbackReceiver(script)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
