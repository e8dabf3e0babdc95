"""The optional bearer token of the UI and API (`http_token.py`): its pure decisions, and the
real HTTP server on loopback with a token file: no token, a wrong one, one in the query
string refused; the bearer header and the login page's cookie let in; the probes, /metrics
and the hooks open; the login form neither a CSRF nor an open-redirect hole."""

from __future__ import annotations

import hmac
import http.client
import socket
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.loop import http_token
from reconciler.loop.http_limits import REQUEST_TIMEOUT_SECONDS
from reconciler.loop.http_token import (
    SESSION_COOKIE,
    authorized,
    bearer_of,
    came_over_https,
    cookie_of,
    cross_site,
    root_of,
    session_cookie,
    session_value,
    wants_page,
)
from reconciler.loop.metrics import Metrics
from reconciler.loop.server import Endpoints, ObservabilityServer
from reconciler.loop.settings import run_settings
from reconciler.loop.ui import ICON_PATH, STYLE_PATH
from reconciler.policy import load_policy
from tests.unit.test_ui_page import listed

TOKEN = "correct-horse-battery-staple"


def test_a_bearer_header_gives_its_credentials_and_any_other_scheme_none() -> None:
    assert bearer_of(f"Bearer {TOKEN}") == TOKEN
    assert bearer_of(f"bearer  {TOKEN} ") == TOKEN
    assert bearer_of(f"Basic {TOKEN}") is None
    assert bearer_of("Bearer") is None and bearer_of(None) is None


def test_the_session_cookie_is_read_by_name_among_others() -> None:
    header = f"theme=dark; {SESSION_COOKIE}=abc; other=1"
    assert cookie_of(header) == "abc"
    assert cookie_of("theme=dark") is None and cookie_of(None) is None


def test_the_session_value_is_not_the_token_and_changes_with_it() -> None:
    assert TOKEN not in session_value(TOKEN)
    assert session_value(TOKEN) != session_value(TOKEN + "x")


def test_authorization_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    constant_time = hmac.compare_digest

    def compare(left: bytes, right: bytes) -> bool:
        compared.append((left, right))
        return constant_time(left, right)

    monkeypatch.setattr(http_token.hmac, "compare_digest", compare)
    session = f"{SESSION_COOKIE}={session_value(TOKEN)}"

    assert authorized(authorization=f"Bearer {TOKEN}", cookie=None, token=TOKEN)
    assert authorized(authorization=None, cookie=session, token=TOKEN)
    assert not authorized(authorization="Bearer nope", cookie=None, token=TOKEN)
    assert len(compared) == 3


def test_a_session_cookie_is_httponly_strict_and_secure_only_over_https() -> None:
    plain = session_cookie(TOKEN, secure=False)
    assert "HttpOnly" in plain and "SameSite=Strict" in plain
    assert "Secure" not in plain and "Path=" not in plain and TOKEN not in plain
    assert session_cookie(TOKEN, secure=True).endswith("; Secure")
    assert came_over_https("https", {})
    assert came_over_https("http", {"x-forwarded-proto": "https"})
    assert not came_over_https("http", {"x-forwarded-proto": "http"})


@pytest.mark.parametrize(
    ("path", "root"),
    [("/", "./"), ("/graph", "./"), ("/reconciler", "./"), ("/releases/shop/web", "../../")],
)
def test_the_way_to_the_top_is_relative_to_the_pages_depth(path: str, root: str) -> None:
    assert root_of(path) == root


def test_only_a_browsers_page_request_is_sent_to_login() -> None:
    assert wants_page("GET", "/graph", "text/html,application/xhtml+xml")
    assert not wants_page("GET", "/api/v1/releases", "text/html")
    assert not wants_page("GET", "/ui/releases.js", "*/*")
    assert not wants_page("GET", "/graph", "application/json")
    assert not wants_page("POST", "/graph", "text/html")


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"sec-fetch-site": "same-origin", "origin": "http://a:1", "host": "b:2"}, False),
        ({"sec-fetch-site": "cross-site"}, True),
        ({"sec-fetch-site": "same-site"}, True),
        ({"origin": "http://127.0.0.1:8080", "host": "127.0.0.1:8080"}, False),
        ({"origin": "https://evil.example", "host": "127.0.0.1:8080"}, True),
        ({"origin": "null", "host": "127.0.0.1:8080"}, True),
        ({"host": "127.0.0.1:8080"}, False),
    ],
)
def test_a_login_from_another_site_is_refused(headers: Mapping[str, str], refused: bool) -> None:
    assert cross_site(headers) is refused


# -- over HTTP -------------------------------------------------------------------


@pytest.fixture
def port(tmp_path: Path) -> Iterator[int]:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    endpoints = Endpoints(
        metrics=Metrics(),
        readiness=lambda: (True, ""),
        releases=listed,
        release=lambda namespace, name: {},
        reconciler=lambda: {"instance": "me"},
    )
    with ObservabilityServer("127.0.0.1:0", endpoints, token_file=token_file) as server:
        yield server.port


def ask(
    port: int,
    path: str,
    headers: Mapping[str, str] | None = None,
    *,
    method: str = "GET",
    body: str | None = None,
) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, body=body, headers=dict(headers or {}))
    answer = connection.getresponse()
    answer.read()
    connection.close()
    return answer


def stream_status(port: int, headers: Mapping[str, str]) -> int:
    """The status of `GET /api/v1/events`, read before its endless body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/api/v1/events", headers=dict(headers))
        return connection.getresponse().status
    finally:
        connection.close()


BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    "path", ["/api/v1/releases", "/api/v1/reconciler", "/api/v1/events", "/ui/releases.js"]
)
def test_without_the_token_the_api_assets_and_stream_answer_401_with_a_bearer_challenge(
    port: int, path: str
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        answer = ask(port, path, headers)
        assert answer.status == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_in_the_query_string_is_refused(port: int) -> None:
    for key in ("token", "access_token"):
        assert ask(port, f"/api/v1/releases?{key}={TOKEN}").status == 401


def test_the_bearer_token_lets_the_api_and_a_page_through(port: int) -> None:
    assert ask(port, "/api/v1/releases", BEARER).status == 200
    assert ask(port, "/reconciler", {**BEARER, "Accept": "text/html"}).status == 200


def test_a_page_without_the_token_is_sent_to_login_relative_to_its_depth(port: int) -> None:
    browser = {"Accept": "text/html,application/xhtml+xml"}
    assert ask(port, "/", browser).headers["Location"] == "./login"
    assert ask(port, "/reconciler", browser).headers["Location"] == "./login"
    answer = ask(port, "/releases/shop/web", browser)
    assert answer.status == 303 and answer.headers["Location"] == "../../login"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", STYLE_PATH, ICON_PATH])
def test_the_probes_metrics_and_the_login_pages_style_and_icon_stay_open(
    port: int, path: str
) -> None:
    assert ask(port, path).status == 200


def test_the_hooks_keep_their_own_checks(port: int) -> None:
    answer = ask(port, "/hooks/github", method="POST", body="{}")
    assert answer.status == 404  # past the guard: no hook provider here, so no such route


def login(
    port: int, token: str, headers: Mapping[str, str] | None = None
) -> http.client.HTTPResponse:
    return ask(
        port,
        "/login?next=https://evil.example/",
        {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        method="POST",
        body=urlencode({"token": token}),
    )


def test_the_login_form_sets_a_session_cookie_that_lets_the_api_and_stream_through(
    port: int,
) -> None:
    form = ask(port, "/login", {"Accept": "text/html"})
    assert form.status == 200 and "default-src 'self'" in form.headers["Content-Security-Policy"]

    answer = login(port, TOKEN)

    assert answer.status == 303 and answer.headers["Location"] == "./"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert TOKEN not in cookie
    session = {"Cookie": cookie.split(";")[0]}
    assert ask(port, "/api/v1/reconciler", session).status == 200
    assert stream_status(port, session) == 200
    assert stream_status(port, {}) == 401


def test_a_login_behind_an_https_proxy_sets_a_secure_cookie(port: int) -> None:
    answer = login(port, TOKEN, {"X-Forwarded-Proto": "https"})
    assert answer.headers["Set-Cookie"].endswith("; Secure")


def test_a_wrong_token_on_the_login_form_sets_no_cookie(port: int) -> None:
    answer = login(port, "wrong")
    assert answer.status == 401 and answer.headers["Set-Cookie"] is None


def test_a_login_posted_from_another_site_is_refused(port: int) -> None:
    answer = login(port, TOKEN, {"Origin": "https://evil.example"})
    assert answer.status == 403 and answer.headers["Set-Cookie"] is None


def test_a_login_form_trickled_in_past_the_request_deadline_is_answered_408_and_closed(
    port: int,
) -> None:
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(
        b"POST /login HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nt"
    )
    connection.settimeout(0.5)
    started, answer = time.monotonic(), b""
    with connection:
        while time.monotonic() - started < REQUEST_TIMEOUT_SECONDS + 3:
            try:
                answer = connection.recv(1000)
                break
            except TimeoutError:
                connection.sendall(b"o")  # a byte of the form now and then, never the whole
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert time.monotonic() - started < REQUEST_TIMEOUT_SECONDS + 2


def test_an_unreadable_token_file_answers_503(port: int, tmp_path: Path) -> None:
    (tmp_path / "token").write_text("")
    answer = ask(port, "/api/v1/releases", BEARER)
    assert answer.status == 503


def test_the_token_file_comes_from_the_config_file_unless_a_flag_names_one() -> None:
    document = {"listenTokenFile": "/etc/harmonia/token/token"}
    chosen = run_settings(document, {"url": "u"}, pod_namespace=None)
    assert chosen.listen_token_file == Path("/etc/harmonia/token/token")
    flagged = run_settings(
        document, {"url": "u", "listen_token_file": Path("/b")}, pod_namespace=None
    )
    assert flagged.listen_token_file == Path("/b")
    assert run_settings({}, {"url": "u"}, pod_namespace=None).listen_token_file is None


def test_a_config_file_naming_a_token_file_passes_the_schema(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "apiVersion: harmonia.dev/v1alpha1\nkind: ReconcilerConfig\n"
        "listen: 0.0.0.0:8080\nlistenTokenFile: /etc/harmonia/token/token\n"
    )
    load_policy(config)


@pytest.mark.parametrize(("content", "problem"), [(None, "No such file"), ("\n", "empty")])
def test_harmonia_run_refuses_a_token_file_it_cannot_use_at_start(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_text(content)
    result = CliRunner().invoke(
        cli, ["run", "--repo", "file:///nowhere", "--listen-token-file", str(token_file)]
    )
    assert result.exit_code == 2, result.output
    assert f"listen token file {token_file}: {problem}" in result.output
