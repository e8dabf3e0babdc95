"""The reconciler's HTTP endpoint: Prometheus metrics, liveness, readiness, read-only JSON API.

`harmonia run` starts one next to the loop. The server only answers from the callables
it is given (`Endpoints`); what a release looks like is decided by the API's providers.
The work one client can cause is bounded (`http_limits.py`): the request's size and pace,
the connections served at once, and the API requests answered at once.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from reconciler.loop.errors import ApiError
from reconciler.loop.http_limits import (
    MAX_API_REQUESTS,
    MAX_CONNECTIONS,
    MAX_REQUEST_BYTES,
    REQUEST_TIMEOUT_SECONDS,
    RETRY_AFTER_SECONDS,
    Arrivals,
    ConcurrencyLimit,
    RequestReader,
    RequestTooLarge,
)
from reconciler.loop.metrics import Metrics
from reconciler.types import JsonObject

log = logging.getLogger(__name__)

RELEASES_PATH = "/api/v1/releases"

ROUTES: JsonObject = {
    "routes": [
        "GET /metrics",
        "GET /healthz",
        "GET /readyz",
        "GET /api/v1",
        f"GET {RELEASES_PATH}?namespace=<namespace>&labelSelector=<selector>",
        f"GET {RELEASES_PATH}/<namespace>/<name>",
    ]
}

STOP_POLL_SECONDS = 0.1
"""How often the serving thread checks for `stop()`: the longest `stop()` waits."""
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"


@dataclass(frozen=True)
class Endpoints:
    """What the server answers from; each provider may raise `ApiError`."""

    metrics: Metrics
    readiness: Callable[[], tuple[bool, str]]
    """(ready, reason): the reason is the body (`ok`, `standing by: ...`, or why not)."""
    releases: Callable[[Mapping[str, str]], JsonObject]
    """Query parameters to the body of `GET /api/v1/releases`."""
    release: Callable[[str, str], JsonObject]
    """(namespace, name) to the body of `GET /api/v1/releases/<namespace>/<name>`."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str


def text_response(status: int, text: str) -> Response:
    return Response(status, f"{text}\n".encode(), TEXT)


def json_response(status: int, body: JsonObject) -> Response:
    return Response(status, (json.dumps(body, indent=2) + "\n").encode(), JSON)


def error_response(status: int, message: str) -> Response:
    return json_response(status, {"error": message})


def parse_address(address: str) -> tuple[str, int]:
    """`host:port` or `:port` (every interface) to a (host, port) to bind."""
    host, colon, port = address.rpartition(":")
    if not colon or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"listen address {address!r}: expected host:port or :port")
    return host, int(port)


def route(endpoints: Endpoints, target: str) -> Response:
    """The response to `GET target`; provider errors become JSON error bodies."""
    url = urlsplit(target)
    path = url.path.rstrip("/") or "/"
    try:
        return _answer(endpoints, path, dict(parse_qsl(url.query)))
    except ApiError as error:
        return error_response(error.status, error.message)
    except Exception:
        log.exception("GET %s failed", path)
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR, "internal error; see the reconciler's log"
        )


def _answer(endpoints: Endpoints, path: str, query: Mapping[str, str]) -> Response:
    if path == "/metrics":
        body, content_type = endpoints.metrics.exposition()
        return Response(HTTPStatus.OK, body, content_type)
    if path == "/healthz":
        return text_response(HTTPStatus.OK, "ok")
    if path == "/readyz":
        ready, reason = endpoints.readiness()
        if ready:
            return text_response(HTTPStatus.OK, reason or "ok")
        return text_response(HTTPStatus.SERVICE_UNAVAILABLE, reason or "not ready")
    if path in ("/api", "/api/v1"):
        return json_response(HTTPStatus.OK, ROUTES)
    if path == RELEASES_PATH:
        return json_response(HTTPStatus.OK, endpoints.releases(query))
    if path.startswith(f"{RELEASES_PATH}/"):
        parts = [unquote(part) for part in path.removeprefix(f"{RELEASES_PATH}/").split("/")]
        if len(parts) == 2 and all(parts):
            return json_response(HTTPStatus.OK, endpoints.release(parts[0], parts[1]))
    return error_response(HTTPStatus.NOT_FOUND, f"no such route: GET {path}")


def _limit_api(endpoints: Endpoints, limit: ConcurrencyLimit) -> Endpoints:
    """`endpoints` whose API providers answer at most `limit`'s count at once; metrics and
    probes stay unlimited: they are cheap, and the kubelet must always get its answer."""
    return replace(
        endpoints,
        releases=limit.limited(endpoints.releases),
        release=limit.limited(endpoints.release),
    )


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], endpoints: Endpoints) -> None:
        super().__init__(address, _Handler)
        self.endpoints = _limit_api(
            endpoints, ConcurrencyLimit(MAX_API_REQUESTS, what="API requests")
        )
        self.closing = threading.Event()
        self._connections = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self.arrivals = Arrivals()

    def process_request(self, request: Any, client_address: Any) -> None:
        # Waits for a free slot rather than refusing: a slot frees when a request is
        # answered, or when a slow one is dropped for this one.
        while not self._connections.acquire(timeout=STOP_POLL_SECONDS):
            if self.closing.is_set():
                self.shutdown_request(request)
                return
            self.arrivals.drop_slowest()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._connections.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._connections.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr; a dropped connection is not news.
        log.debug("request from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    timeout = REQUEST_TIMEOUT_SECONDS

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the request is read by RequestReader, which bounds it
        self.rfile = RequestReader(
            self.connection, budget=MAX_REQUEST_BYTES, seconds=REQUEST_TIMEOUT_SECONDS
        )
        self.server.arrivals.arriving(self.connection)

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        self.server.arrivals.arrived(self.connection)
        return parsed

    def finish(self) -> None:
        self.server.arrivals.arrived(self.connection)
        super().finish()

    def handle_one_request(self) -> None:
        self.raw_requestline = b""
        try:
            super().handle_one_request()
        except RequestTooLarge as error:
            self.close_connection = True
            if self.raw_requestline:
                status = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
            else:
                status = HTTPStatus.REQUEST_URI_TOO_LONG
                self.requestline = self.request_version = self.command = ""
            self._send(error_response(status, str(error)))

    def do_GET(self) -> None:
        self._send(route(self.server.endpoints, self.path))

    def _refuse_method(self) -> None:
        response = error_response(
            HTTPStatus.METHOD_NOT_ALLOWED, f"{self.command} is not allowed; use GET"
        )
        self._send(response, allow="GET")

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _refuse_method

    def _send(self, response: Response, *, allow: str | None = None) -> None:
        # Reading the request may have left a shorter timeout on the socket.
        self.connection.settimeout(REQUEST_TIMEOUT_SECONDS)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        if response.status == HTTPStatus.TOO_MANY_REQUESTS:
            self.send_header("Retry-After", str(RETRY_AFTER_SECONDS))
        if allow is not None:
            self.send_header("Allow", allow)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class ObservabilityServer:
    """Serves `Endpoints` over HTTP from a daemon thread; binds when constructed."""

    def __init__(self, address: str, endpoints: Endpoints) -> None:
        """`address` is `host:port` or `:port` (every interface); port 0 picks a free one."""
        self._server = _HttpServer(parse_address(address), endpoints)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the observability server is already started")
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": STOP_POLL_SECONDS},
            name="harmonia-http",
            daemon=True,
        )
        self._thread.start()
        host = self._server.server_address[0]
        log.info("serving metrics, health and the API on %s:%d", host, self.port)

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call when never started."""
        self._server.closing.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
