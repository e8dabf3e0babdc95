"""The server's optional bearer token: when `--listen-token-file` names one, every page,
asset, API route and the event stream want `Authorization: Bearer <token>` or the session
cookie that the `login` page sets; the probes, `/metrics` and the webhooks stay as they are.

An ASGI guard in front of the routes (`server.py` puts it behind its `RequestGuard`), with
the decisions in pure functions. The token is read from its file (a mounted Secret) for
every request, so a rotated Secret counts without a restart and ends every session; it is
compared in constant time and never logged, shown or put in a cookie (the cookie holds an
HMAC of it). `/metrics` stays open: Prometheus scrapes it by the pod's annotations, which
carry no credentials, and it holds counts and release names, no message, diff or value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import anyio
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from reconciler.loop.hook_receiver import WebhookSecretError, read_secret
from reconciler.loop.http_limits import REQUEST_TIMEOUT_SECONDS
from reconciler.loop.ui import ICON_PATH, STYLE_PATH
from reconciler.loop.ui_login import login_page

log = logging.getLogger(__name__)

SESSION_COOKIE = "harmonia_session"
LOGIN_PATH = "/login"
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", STYLE_PATH, ICON_PATH})
"""Open with a token set: the kubelet's probes and Prometheus send none; the login page
needs its stylesheet and icon before there is a session (they are the package's own files
and say nothing of the cluster; the scripts, which fetch its data, stay behind the token)."""
HOOKS_PREFIX = "/hooks/"
"""Open too: a push webhook proves itself with its signature (`webhooks.py`)."""
MAX_LOGIN_BYTES = 4096
"""Of a login form's body: a token, not a document."""
_SESSION_LABEL = b"harmonia UI session v1"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="harmonia"'}


def read_token(path: Path) -> str:
    """The token in `path`; `WebhookSecretError` (naming the file, never its content) when
    it cannot be read or is empty."""
    return read_secret(path, what="listen token file")


def session_value(token: str) -> str:
    """The session cookie's value for `token`: an HMAC under it, so that the cookie is not
    the token (it cannot be replayed as a bearer token) and a new token ends every session."""
    return hmac.new(token.encode(), _SESSION_LABEL, hashlib.sha256).hexdigest()


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(HOOKS_PREFIX)


def bearer_of(authorization: str | None) -> str | None:
    """The credentials of an `Authorization: Bearer ...` header; None for any other."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


def cookie_of(cookie_header: str | None, name: str = SESSION_COOKIE) -> str | None:
    """The value of cookie `name` in a `Cookie` header; None when it has none."""
    for pair in (cookie_header or "").split(";"):
        key, equals, value = pair.strip().partition("=")
        if equals and key == name:
            return value
    return None


def authorized(*, authorization: str | None, cookie: str | None, token: str) -> bool:
    """Whether the bearer token or the session cookie presented is `token`'s, compared in
    constant time (`hmac.compare_digest`). A token in the query string counts for nothing:
    it would end up in proxies' access logs and the browser's history."""
    presented = bearer_of(authorization)
    if presented is not None and hmac.compare_digest(presented.encode(), token.encode()):
        return True
    session = cookie_of(cookie)
    return session is not None and hmac.compare_digest(
        session.encode(), session_value(token).encode()
    )


def root_of(path: str) -> str:
    """The relative way from the page at `path` to the server's top (`../../` from
    `/releases/<namespace>/<name>`): the server may sit under a proxy's path prefix."""
    return "../" * (path.count("/") - 1) or "./"


def wants_page(method: str, path: str, accept: str) -> bool:
    """A browser asking for a page (sent to `login`), not a script asking for data (401)."""
    return method == "GET" and not path.startswith(("/api", "/ui/")) and "text/html" in accept


def session_cookie(token: str, *, secure: bool) -> str:
    """The `Set-Cookie` value of a session. No `Path`: a cookie's default path is the
    directory of the address that set it, and `login` sits at the server's top, so the
    cookie covers the server under any path prefix and nothing beside it."""
    cookie = f"{SESSION_COOKIE}={session_value(token)}; HttpOnly; SameSite=Strict"
    return cookie + ("; Secure" if secure else "")


def came_over_https(scheme: str, headers: Mapping[str, str]) -> bool:
    """Over https here, or at the proxy in front (`X-Forwarded-Proto`)."""
    forwarded = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return scheme == "https" or forwarded == "https"


def cross_site(headers: Mapping[str, str]) -> bool:
    """Whether a form post comes from another site: by the browser's `Sec-Fetch-Site` (a
    proxy may rewrite the Host), else by an `Origin` whose host is not the one asked (a
    login CSRF would sign a victim in with someone else's session)."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None:
        return False
    host = headers.get("x-forwarded-host") or headers.get("host") or ""
    return origin == "null" or urlsplit(origin).netloc != host.split(",")[0].strip()


def _json_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps({"error": message}, indent=2) + "\n"
    return Response(body, status_code=status, media_type="application/json", headers=headers)


class TokenGuard:
    """Lets a request through when it is open or carries the token; answers `login` itself;
    sends a browser's page request to `login` and answers anything else 401."""

    def __init__(self, app: ASGIApp, token_file: Path, *, page_headers: Mapping[str, str]) -> None:
        self._app = app
        self._token_file = token_file
        self._page_headers = dict(page_headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or is_open(path):
            await self._app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            token = read_token(self._token_file)
        except WebhookSecretError as error:
            log.error("%s %s not answered: %s", request.method, path[:200], error)
            answer = _json_error(
                HTTPStatus.SERVICE_UNAVAILABLE, "the server's token cannot be read; see its log"
            )
        else:
            headers = request.headers
            if path == LOGIN_PATH:
                answer = await self._login(request, token)
            elif authorized(
                authorization=headers.get("authorization"),
                cookie=headers.get("cookie"),
                token=token,
            ):
                await self._app(scope, receive, send)
                return
            elif wants_page(request.method, path, headers.get("accept", "")):
                answer = Response(
                    status_code=HTTPStatus.SEE_OTHER,
                    headers={"Location": root_of(path) + "login", "Cache-Control": "no-store"},
                )
            else:
                answer = _json_error(
                    HTTPStatus.UNAUTHORIZED,
                    "a bearer token is required: Authorization: Bearer <token>",
                    CHALLENGE,
                )
        await answer(scope, receive, send)

    async def _login(self, request: Request, token: str) -> Response:
        """GET: the form. POST: the token from the form checked; a session cookie and a
        redirect to the server's top (never elsewhere: no `next=`) when it is right."""
        if request.method == "GET":
            return self._page(HTTPStatus.OK, "")
        if request.method != "POST":
            return _json_error(
                HTTPStatus.METHOD_NOT_ALLOWED,
                f"{request.method} is not allowed; use GET or POST",
                {"Allow": "GET, POST"},
            )
        headers = {name.lower(): value for name, value in request.headers.items()}
        if cross_site(headers):
            return _json_error(HTTPStatus.FORBIDDEN, "a login from another site is refused")
        try:
            # Within the request deadline: a form trickled in forever would hold a
            # connection of the server's `MAX_CONNECTIONS` that none can drop.
            with anyio.fail_after(REQUEST_TIMEOUT_SECONDS):
                form = await _form(request)
        except (TimeoutError, ClientDisconnect):
            message = "the login form did not arrive in time"
            return _json_error(HTTPStatus.REQUEST_TIMEOUT, message, {"Connection": "close"})
        presented = (form or {}).get("token", "")
        if not presented or not hmac.compare_digest(presented.encode(), token.encode()):
            message = "That is not the token; try again." if form is not None else "Too long."
            return self._page(HTTPStatus.UNAUTHORIZED, message, CHALLENGE)
        secure = came_over_https(request.url.scheme, headers)
        return Response(
            status_code=HTTPStatus.SEE_OTHER,
            headers={
                "Location": "./",
                "Set-Cookie": session_cookie(token, secure=secure),
                "Cache-Control": "no-store",
            },
        )

    def _page(
        self, status: int, message: str, headers: Mapping[str, str] | None = None
    ) -> Response:
        return HTMLResponse(
            login_page(message),
            status_code=status,
            headers={**self._page_headers, **(headers or {}), "Cache-Control": "no-store"},
        )


async def _form(request: Request) -> dict[str, str] | None:
    """The form fields of a urlencoded body; None when it runs over `MAX_LOGIN_BYTES`."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_LOGIN_BYTES:
            return None
    return dict(parse_qsl(body.decode("utf-8", "replace")))
