"""The reconciler's HTTP endpoint: Prometheus metrics, liveness, readiness, read-only JSON
API, the stream of release events, Git push webhooks, and the web UI's pages (`ui.py`).

`harmonia run` starts one next to the loop: a Starlette app assembled from routes, served by
uvicorn on an event loop of its own in a thread. The server only answers from the
callables it is given (`Endpoints`), which are synchronous and may block on the cluster, so
they run in worker threads; what a release looks like is decided by the API's providers.
The work one client can cause is bounded (`http_limits.py`). A route is added to `_routes`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from reconciler.loop.errors import ApiError
from reconciler.loop.event_bus import EventBus
from reconciler.loop.event_stream import EVENTS_PATH, EventStreams
from reconciler.loop.hook_receiver import HookAnswer
from reconciler.loop.http_limits import (
    ANSWERING_THREADS,
    H11_BUFFER_BYTES,
    MAX_API_REQUESTS,
    MAX_HOOK_BODIES,
    MAX_HOOK_BODY_BYTES,
    MAX_HOOK_DRAIN_BYTES,
    REQUEST_TIMEOUT_SECONDS,
    RETRY_AFTER_SECONDS,
    BoundedH11Protocol,
    ConcurrencyLimit,
    head_bytes,
    oversized_head,
)
from reconciler.loop.http_token import TokenGuard
from reconciler.loop.loopback_hosts import names_loopback
from reconciler.loop.metrics import Metrics
from reconciler.loop.openapi import OPENAPI, OPENAPI_PATH
from reconciler.loop.ui import (
    ASSET_PATHS,
    CONTENT_SECURITY_POLICY,
    asset,
    parse_page_query,
    releases_page,
)
from reconciler.loop.ui_graph import graph_page, parse_graph_query
from reconciler.loop.ui_reconciler import reconciler_page
from reconciler.loop.ui_release import is_release_name, missing_release_page, release_page
from reconciler.types import JsonObject

log = logging.getLogger(__name__)

RELEASES_PATH = "/api/v1/releases"
RECONCILER_PATH = "/api/v1/reconciler"
HOOKS_PATH = "/hooks"

ROUTES: JsonObject = {
    "routes": [
        "GET /?namespace=<namespace>&state=<state>",
        "GET /graph?namespace=<namespace>",
        "GET /reconciler",
        "GET /releases/<namespace>/<name>",
        "GET /metrics",
        "GET /healthz",
        "GET /readyz",
        "GET /api/v1",
        f"GET {OPENAPI_PATH}",
        f"GET {RELEASES_PATH}?namespace=<namespace>&labelSelector=<selector>",
        f"GET {RELEASES_PATH}/<namespace>/<name>",
        f"GET {RECONCILER_PATH}",
        f"POST {HOOKS_PATH}/<github|gitlab|gitea|generic>",
        f"GET {EVENTS_PATH}?namespace=<namespace>&release=<namespace>/<name>",
    ]
}

STOP_GRACE_SECONDS = 1
"""How long `stop()` lets requests under way finish before it cancels them."""


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
    hook: Callable[[str, Mapping[str, str], bytes], HookAnswer] | None = None
    """(provider, headers in lower case, body) to the answer to `POST /hooks/<provider>`;
    None: no such route."""
    events: EventBus = field(default_factory=EventBus)
    """What `GET /api/v1/events` streams."""
    reconciler: Callable[[], JsonObject] | None = None
    """The body of `GET /api/v1/reconciler` (the loop's leader, passes, errors and
    deliveries); None: the server runs without a loop (404, and the page says so)."""


class JsonAnswer(Response):
    """JSON indented for people reading it with curl, ending in a newline."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return (json.dumps(content, indent=2) + "\n").encode()


def text_answer(status: int, text: str) -> Response:
    return PlainTextResponse(f"{text}\n", status_code=status)


def error_answer(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """`{"error": message}`; a 429 says when to try again."""
    extra = dict(headers or {})
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        extra["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return JsonAnswer({"error": message}, status_code=status, headers=extra)


def parse_address(address: str) -> tuple[str, int]:
    """`host:port` or `:port` (every interface) to a (host, port) to bind."""
    host, colon, port = address.rpartition(":")
    if not colon or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"listen address {address!r}: expected host:port or :port")
    return host, int(port)


Answer = Callable[[Request], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


def _answered(answer: Answer, request: Request) -> Response:
    """`answer`'s response; provider errors become JSON error bodies, never tracebacks."""
    try:
        return answer(request)
    except ApiError as error:
        return error_answer(error.status, error.message)
    except Exception:
        log.exception("GET %s failed", request.url.path)
        return error_answer(
            HTTPStatus.INTERNAL_SERVER_ERROR, "internal error; see the reconciler's log"
        )


def _in_thread(answer: Answer, limiter: anyio.CapacityLimiter) -> Endpoint:
    """An endpoint that answers in a worker thread, at most `limiter`'s count at once."""

    async def endpoint(request: Request) -> Response:
        # Abandoned on cancel: `stop()` need not wait for a provider blocked on the cluster.
        return await anyio.to_thread.run_sync(
            _answered, answer, request, limiter=limiter, abandon_on_cancel=True
        )

    return endpoint


def _routes(endpoints: Endpoints, streams: EventStreams) -> list[Route]:
    api = ConcurrencyLimit(MAX_API_REQUESTS, what="API requests")
    list_releases, release_detail = api.limited(endpoints.releases), api.limited(endpoints.release)
    loop = None if endpoints.reconciler is None else api.limited(endpoints.reconciler)
    threads = anyio.CapacityLimiter(ANSWERING_THREADS)

    def metrics(_request: Request) -> Response:
        body, content_type = endpoints.metrics.exposition()
        return Response(body, media_type=content_type)

    def readyz(_request: Request) -> Response:
        ready, reason = endpoints.readiness()
        if ready:
            return text_answer(HTTPStatus.OK, reason or "ok")
        return text_answer(HTTPStatus.SERVICE_UNAVAILABLE, reason or "not ready")

    def releases(request: Request) -> Response:
        # Blank values dropped, the last of a repeated key kept: as the API has always read it.
        return JsonAnswer(list_releases(dict(parse_qsl(request.url.query))))

    def page(request: Request) -> Response:
        query = parse_page_query(dict(parse_qsl(request.url.query)))
        html = releases_page(list_releases(query.api_query()), query)
        return HTMLResponse(html, headers=_UI_HEADERS)

    def graph(request: Request) -> Response:
        query = parse_graph_query(dict(parse_qsl(request.url.query)))
        html = graph_page(list_releases(query.api_query()), query)
        return HTMLResponse(html, headers=_UI_HEADERS)

    def loop_state(_request: Request) -> Response:
        if loop is None:
            raise ApiError(HTTPStatus.NOT_FOUND, "this server runs without a reconcile loop")
        return JsonAnswer(loop())

    def loop_page(_request: Request) -> Response:
        html = reconciler_page(None if loop is None else loop())
        return HTMLResponse(html, headers=_UI_HEADERS)

    def release_view(request: Request) -> Response:
        namespace, name = request.path_params["namespace"], request.path_params["name"]
        try:
            if not (is_release_name(namespace) and is_release_name(name)):
                raise ApiError(404, f"release {namespace}/{name}"[:200] + ": not a release name")
            html = release_page(release_detail(namespace, name))
        except ApiError as error:
            if error.status != HTTPStatus.NOT_FOUND:
                raise
            html = missing_release_page(error.message)
            return HTMLResponse(html, status_code=error.status, headers=_UI_HEADERS)
        return HTMLResponse(html, headers=_UI_HEADERS)

    def static(request: Request) -> Response:
        body, media_type = asset(request.url.path)
        return Response(body, media_type=media_type, headers=_UI_HEADERS)

    def release(request: Request) -> Response:
        params = request.path_params
        return JsonAnswer(release_detail(params["namespace"], params["name"]))

    async def healthz(_request: Request) -> Response:
        return text_answer(HTTPStatus.OK, "ok")  # in the event loop: no thread to wait for

    async def api_root(_request: Request) -> Response:
        return JsonAnswer(ROUTES)

    async def openapi(_request: Request) -> Response:
        return JsonAnswer(OPENAPI)

    hooks = (
        []
        if endpoints.hook is None
        else [_post(f"{HOOKS_PATH}/{{provider}}", _hook_endpoint(endpoints.hook, threads))]
    )

    async def events(request: Request) -> Response:
        try:
            query = dict(parse_qsl(request.url.query))
            stream = streams.open(query, last_id=request.headers.get("last-event-id"))
        except ApiError as error:
            return error_answer(error.status, error.message)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)

    return [
        *hooks,
        _get("/metrics", _in_thread(metrics, threads)),
        _get("/", _in_thread(page, threads)),
        _get("/graph", _in_thread(graph, threads)),
        _get("/reconciler", _in_thread(loop_page, threads)),
        _get("/releases/{namespace}/{name}", _in_thread(release_view, threads)),
        *(_get(path, _in_thread(static, threads)) for path in ASSET_PATHS),
        _get("/healthz", healthz),
        _get("/readyz", _in_thread(readyz, threads)),
        _get("/api", api_root),
        _get("/api/v1", api_root),
        _get(OPENAPI_PATH, openapi),
        _get(RELEASES_PATH, _in_thread(releases, threads)),
        _get(f"{RELEASES_PATH}/{{namespace}}/{{name}}", _in_thread(release, threads)),
        _get(RECONCILER_PATH, _in_thread(loop_state, threads)),
        _get(EVENTS_PATH, events),
    ]


_UI_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _get(path: str, endpoint: Endpoint) -> Route:
    """A route answering GET alone: Starlette adds HEAD to a GET route, and this API has
    always refused it (405) like every other method."""
    route = Route(path, endpoint, methods=["GET"])
    route.methods = {"GET"}
    return route


def _post(path: str, endpoint: Endpoint) -> Route:
    return Route(path, endpoint, methods=["POST"])


def _hook_endpoint(
    hook: Callable[[str, Mapping[str, str], bytes], HookAnswer],
    threads: anyio.CapacityLimiter,
) -> Endpoint:
    """`POST /hooks/<provider>`: the body read whole, up to `MAX_HOOK_BODY_BYTES` (413
    beyond) and within the request timeout (408), at most `MAX_HOOK_BODIES` at once; then
    `hook` answers in a worker thread."""
    bodies = anyio.CapacityLimiter(MAX_HOOK_BODIES)

    async def endpoint(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_HOOK_DRAIN_BYTES:
            return _too_large()
        try:
            with anyio.fail_after(REQUEST_TIMEOUT_SECONDS):
                async with bodies:
                    body = await _capped_body(request)
        except TimeoutError:
            return error_answer(
                HTTPStatus.REQUEST_TIMEOUT, "the body did not arrive in time", _CLOSE
            )
        if body is None:
            return _too_large()
        headers = {name.lower(): value for name, value in request.headers.items()}
        provider = request.path_params["provider"]
        answer = await anyio.to_thread.run_sync(
            _hook_answer, hook, provider, headers, body, limiter=threads, abandon_on_cancel=True
        )
        return JsonAnswer(answer.body, status_code=answer.status, headers=dict(answer.headers))

    return endpoint


_CLOSE = {"Connection": "close"}


def _too_large() -> Response:
    message = f"the body exceeds {MAX_HOOK_BODY_BYTES} bytes"
    return error_answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, message, _CLOSE)


async def _capped_body(request: Request) -> bytes | None:
    """The body; None when it runs over `MAX_HOOK_BODY_BYTES`. The rest of a body that
    does is read and dropped, up to `MAX_HOOK_DRAIN_BYTES`, so that the client, still
    sending, gets the 413 rather than a reset connection."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_HOOK_DRAIN_BYTES:
            break
        if size <= MAX_HOOK_BODY_BYTES:
            chunks.append(chunk)
    return b"".join(chunks) if size <= MAX_HOOK_BODY_BYTES else None


def _hook_answer(
    hook: Callable[[str, Mapping[str, str], bytes], HookAnswer],
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
) -> HookAnswer:
    """`hook`'s answer; a bug in it is a 500 without detail, never a traceback."""
    try:
        return hook(provider, headers, body)
    except Exception:
        log.exception("POST %s/%s failed", HOOKS_PATH, provider[:64])
        return HookAnswer(500, {"error": "internal error; see the reconciler's log"})


async def _http_error(request: Request, error: Exception) -> Response:
    """Routing's 404 and 405 as the API's JSON errors."""
    assert isinstance(error, HTTPException)
    headers = dict(error.headers or {})
    if error.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        message = f"{request.method} is not allowed; use {headers.get('Allow', 'GET')}"
    elif error.status_code == HTTPStatus.NOT_FOUND:
        message = f"no such route: {request.method} {request.url.path}"
    else:
        message = error.detail
    return error_answer(error.status_code, message, headers)


class RequestGuard:
    """Before routing: a head over `MAX_REQUEST_BYTES` is refused (414/431) unread; an
    encoded slash names no route (no name has one, and `%2F` must not pass for a `/`);
    trailing slashes are dropped (`/api/v1/` is `/api/v1`); with `loopback_hosts`, a `Host`
    naming anything but loopback is refused (403: `loopback_hosts.py`)."""

    def __init__(self, app: ASGIApp, *, loopback_hosts: bool = False) -> None:
        self._app = app
        self._loopback_hosts = loopback_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        raw_path: bytes = scope["raw_path"]
        target = len(raw_path) + 1 + len(scope["query_string"])
        refusal = oversized_head(*head_bytes(target, scope["headers"]))
        path = scope["path"].rstrip("/") or "/"
        if refusal is not None:
            answer = error_answer(refusal[0], refusal[1], {"Connection": "close"})
        elif b"%2f" in raw_path.lower():
            answer = error_answer(HTTPStatus.NOT_FOUND, f"no such route: {scope['method']} {path}")
        elif self._loopback_hosts and not _for_loopback(scope):
            answer = error_answer(HTTPStatus.FORBIDDEN, _NOT_LOOPBACK)
        else:
            await self._app({**scope, "path": path}, receive, send)
            return
        await answer(scope, receive, send)


_NOT_LOOPBACK = "this server listens on loopback and answers only requests for localhost"


def _for_loopback(scope: Scope) -> bool:
    """Whether the request's `Host` names loopback (a request without one is no browser's)."""
    hosts = [value for name, value in scope["headers"] if name.lower() == b"host"]
    return all(names_loopback(value.decode("latin-1")) for value in hosts)


def build_app(
    endpoints: Endpoints,
    streams: EventStreams,
    *,
    token_file: Path | None = None,
    loopback_hosts: bool = False,
) -> ASGIApp:
    """The ASGI app: the routes of `endpoints` behind the `RequestGuard` (`loopback_hosts`:
    see there) and, with a `token_file`, the `TokenGuard`."""
    routes = _routes(endpoints, streams)
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.router.redirect_slashes = False
    guarded = app if token_file is None else TokenGuard(app, token_file, page_headers=_UI_HEADERS)
    return RequestGuard(guarded, loopback_hosts=loopback_hosts)


class ObservabilityServer:
    """Serves `Endpoints` over HTTP from a daemon thread; binds when constructed."""

    def __init__(
        self,
        address: str,
        endpoints: Endpoints,
        *,
        token_file: Path | None = None,
        loopback_hosts: bool = False,
    ) -> None:
        """`address` is `host:port` or `:port` (every interface); port 0 picks a free one.
        `token_file`: the bearer token's (`http_token.py`); None: no token asked for.
        `loopback_hosts`: answer only requests whose `Host` names loopback (`harmonia ui`
        on loopback, with no token: no DNS-rebinding page may read it)."""
        self._socket = socket.create_server(parse_address(address))
        self._streams = EventStreams(endpoints.events)
        app = build_app(
            endpoints, self._streams, token_file=token_file, loopback_hosts=loopback_hosts
        )
        config = uvicorn.Config(
            app,
            http=BoundedH11Protocol,
            ws="none",
            lifespan="off",
            # The process's logging stays the CLI's; uvicorn's warnings are about clients'
            # malformed requests, which are no operator's news.
            log_config=None,
            log_level=logging.ERROR,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=int(REQUEST_TIMEOUT_SECONDS),
            timeout_graceful_shutdown=STOP_GRACE_SECONDS,
            h11_max_incomplete_event_size=H11_BUFFER_BYTES,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the observability server is already started")
        self._thread = threading.Thread(target=self._serve, name="harmonia-http", daemon=True)
        self._thread.start()
        host = self._socket.getsockname()[0]
        log.info("serving metrics, health and the API on %s:%d", host, self.port)

    def _serve(self) -> None:
        # Off the main thread, uvicorn installs no signal handlers: the service owns them.
        asyncio.run(self._server.serve(sockets=[self._socket]))

    def __enter__(self) -> ObservabilityServer:
        """Started for the block, stopped after it: `with ObservabilityServer(...) as s:`."""
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call when never started. The event
        streams end first, so that no open one holds the stop for the grace period."""
        self._streams.end_all()
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._socket.close()
