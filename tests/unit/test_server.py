"""The observability server: a real HTTP server on loopback, asked with urllib."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import Message

import pytest

from reconciler.loop.errors import ApiError
from reconciler.loop.http_limits import (
    ANSWERING_THREADS,
    MAX_API_REQUESTS,
    MAX_REQUEST_BYTES,
    REQUEST_TIMEOUT_SECONDS,
)
from reconciler.loop.metrics import Metrics
from reconciler.loop.server import Endpoints, ObservabilityServer, parse_address
from reconciler.types import JsonObject
from tests.waiting import wait_for

BIG_ANSWER_BYTES = 32 * 1024 * 1024
"""More than loopback's socket buffers and the transport's together: a client that reads
none of it leaves the server waiting to write."""


@dataclass
class Answer:
    status: int
    body: bytes
    headers: Message
    """Looked up by name in any case, as HTTP's header names are."""

    def json(self) -> JsonObject:
        parsed: JsonObject = json.loads(self.body)
        return parsed


@dataclass
class Providers:
    """The server's inputs: readiness and the API's query functions, as plain functions."""

    ready: tuple[bool, str] = (True, "")
    queries: list[Mapping[str, str]] = field(default_factory=list)
    named: list[tuple[str, str]] = field(default_factory=list)
    """The (namespace, name) of every release detail asked for."""

    def readiness(self) -> tuple[bool, str]:
        return self.ready

    def releases(self, query: Mapping[str, str]) -> JsonObject:
        self.queries.append(dict(query))
        if query.get("labelSelector") == "bad=":
            raise ApiError(400, "labelSelector 'bad=': expected key=value")
        return {"releases": [{"release": "shop/web"}]}

    def release(self, namespace: str, name: str) -> JsonObject:
        self.named.append((namespace, name))
        if name == "big":
            return {"release": f"{namespace}/{name}", "filler": "x" * BIG_ANSWER_BYTES}
        if name == "crash":
            raise RuntimeError("token=s3cret went wrong")
        if name != "web":
            raise ApiError(404, f"release {namespace}/{name} not found")
        return {"release": f"{namespace}/{name}", "state": "Ready"}


@pytest.fixture
def providers() -> Providers:
    return Providers()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def server(providers: Providers, metrics: Metrics) -> Iterator[ObservabilityServer]:
    endpoints = Endpoints(
        metrics=metrics,
        readiness=providers.readiness,
        releases=providers.releases,
        release=providers.release,
    )
    running = ObservabilityServer("127.0.0.1:0", endpoints)
    running.start()
    yield running
    running.stop()


Ask = Callable[..., Answer]


@pytest.fixture
def ask(server: ObservabilityServer) -> Ask:
    def request(path: str, *, method: str = "GET") -> Answer:
        url = f"http://127.0.0.1:{server.port}{path}"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method=method)) as reply:
                return Answer(reply.status, reply.read(), reply.headers)
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, error.read(), error.headers)

    return request


def test_metrics_are_served_as_prometheus_text(ask: Ask, metrics: Metrics) -> None:
    metrics.set_leader(True)
    answer = ask("/metrics")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == metrics.exposition()[1]
    assert b"harmonia_leader 1.0" in answer.body


def test_healthz_says_ok_while_serving(ask: Ask) -> None:
    answer = ask("/healthz")
    assert (answer.status, answer.body) == (200, b"ok\n")


def test_readyz_is_ok_when_ready(ask: Ask) -> None:
    assert ask("/readyz").status == 200


def test_readyz_is_503_with_the_reason_when_not_ready(ask: Ask, providers: Providers) -> None:
    providers.ready = (False, "no Git revision fetched yet")
    answer = ask("/readyz")
    assert answer.status == 503
    assert answer.body == b"no Git revision fetched yet\n"


def test_the_release_list_gets_the_query_parameters(ask: Ask, providers: Providers) -> None:
    answer = ask("/api/v1/releases?namespace=shop&labelSelector=team%3Dweb")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == {"releases": [{"release": "shop/web"}]}
    assert b'\n  "releases"' in answer.body
    assert providers.queries == [{"namespace": "shop", "labelSelector": "team=web"}]


def test_one_release_is_answered_by_namespace_and_name(ask: Ask) -> None:
    answer = ask("/api/v1/releases/shop/web")
    assert answer.status == 200
    assert answer.json() == {"release": "shop/web", "state": "Ready"}


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/v1/releases/shop/gone", 404, "release shop/gone not found"),
        ("/api/v1/releases?labelSelector=bad%3D", 400, "labelSelector 'bad=': expected key=value"),
    ],
)
def test_an_api_error_becomes_a_json_error_with_its_status(
    ask: Ask, path: str, status: int, message: str
) -> None:
    answer = ask(path)
    assert answer.status == status
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == {"error": message}


def test_a_crashing_provider_is_a_500_without_traceback_or_detail(
    ask: Ask, caplog: pytest.LogCaptureFixture
) -> None:
    answer = ask("/api/v1/releases/shop/crash")
    assert answer.status == 500
    assert set(answer.json()) == {"error"}
    assert b"Traceback" not in answer.body
    assert b"s3cret" not in answer.body
    assert "GET /api/v1/releases/shop/crash failed" in caplog.text


@pytest.mark.parametrize("path", ["/nowhere", "/api/v1/releases/shop", "/api/v1/releases/a/b/c"])
def test_an_unknown_path_is_a_json_404(ask: Ask, path: str) -> None:
    answer = ask(path)
    assert answer.status == 404
    assert "error" in answer.json()


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_only_get_is_allowed(ask: Ask, method: str) -> None:
    answer = ask("/api/v1/releases", method=method)
    assert answer.status == 405
    assert answer.headers["Allow"] == "GET"
    assert answer.json() == {"error": f"{method} is not allowed; use GET"}


def test_the_api_root_lists_its_routes(ask: Ask) -> None:
    routes = ask("/api/v1").json()["routes"]
    assert isinstance(routes, list)
    assert "GET /api/v1/releases/<namespace>/<name>" in routes


@pytest.mark.parametrize(
    ("address", "bound"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        (":9090", ("", 9090)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_listen_addresses_are_host_and_port(address: str, bound: tuple[str, int]) -> None:
    assert parse_address(address) == bound


@pytest.mark.parametrize("address", ["8080", "host:", "host:http", ":70000"])
def test_a_listen_address_without_a_port_is_refused(address: str) -> None:
    with pytest.raises(ValueError, match="expected host:port or :port"):
        parse_address(address)


def test_port_zero_picks_a_free_port_and_stop_releases_it(metrics: Metrics) -> None:
    providers = Providers()
    endpoints = Endpoints(metrics, providers.readiness, providers.releases, providers.release)
    first = ObservabilityServer("127.0.0.1:0", endpoints)
    first.start()
    port = first.port
    assert port > 0
    first.stop()
    again = ObservabilityServer(f"127.0.0.1:{port}", endpoints)
    again.stop()


# -- bounded work per request ------------------------------------------------------


def test_a_request_line_over_the_size_limit_is_refused_with_414_before_the_api_sees_it(
    ask: Ask, providers: Providers
) -> None:
    selector = "a%2C" * (MAX_REQUEST_BYTES // 2)
    answer = ask(f"/api/v1/releases?labelSelector={selector}")
    assert answer.status == 414
    assert answer.json() == {
        "error": f"the request line and headers exceed {MAX_REQUEST_BYTES} bytes"
    }
    assert providers.queries == []


def test_headers_over_the_size_limit_are_refused_with_431(server: ObservabilityServer) -> None:
    headers = {f"X-Filler-{index}": "x" * 1000 for index in range(MAX_REQUEST_BYTES // 1000 + 1)}
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/healthz", headers=headers)
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    with raised.value as error:
        assert error.code == 431
        assert b"exceed" in error.read()


@dataclass
class Gate:
    """A provider that holds every caller until opened, counting how many wait inside."""

    opened: threading.Event = field(default_factory=threading.Event)
    inside: int = 0
    most_inside: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hold(self) -> None:
        with self.lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        try:
            assert self.opened.wait(timeout=30), "the gate was never opened"
        finally:
            with self.lock:
                self.inside -= 1

    def count(self) -> int:
        with self.lock:
            return self.inside


def gated_server(metrics: Metrics, gate: Gate) -> ObservabilityServer:
    def readiness() -> tuple[bool, str]:
        gate.hold()
        return True, ""

    def releases(query: Mapping[str, str]) -> JsonObject:
        gate.hold()
        return {"releases": []}

    providers = Providers()
    return ObservabilityServer(
        "127.0.0.1:0",
        Endpoints(metrics, readiness=readiness, releases=releases, release=providers.release),
    )


def get(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as error:
        with error:
            return error.code


def test_api_requests_beyond_the_limit_are_refused_at_once_with_429_while_probes_answer(
    metrics: Metrics,
) -> None:
    gate = Gate()
    server = gated_server(metrics, gate)
    server.start()
    with ThreadPoolExecutor(MAX_API_REQUESTS) as pool:
        try:
            held = [
                pool.submit(get, server.port, "/api/v1/releases") for _ in range(MAX_API_REQUESTS)
            ]
            wait_for(gate.count, until=lambda inside: inside == MAX_API_REQUESTS, what="held")
            started = time.monotonic()
            url = f"http://127.0.0.1:{server.port}/api/v1/releases"
            with pytest.raises(urllib.error.HTTPError) as raised:
                urllib.request.urlopen(url, timeout=10)
            refused_after = time.monotonic() - started
            with raised.value as error:
                assert (error.code, error.headers["Retry-After"]) == (429, "1")
                assert json.loads(error.read())["error"].startswith(
                    f"{MAX_API_REQUESTS} API requests are being answered already"
                )
            assert refused_after < 2
            assert get(server.port, "/healthz") == 200
            assert get(server.port, "/metrics") == 200
        finally:
            gate.opened.set()
            server.stop()
        assert [future.result() for future in held] == [200] * MAX_API_REQUESTS
    assert gate.most_inside == MAX_API_REQUESTS


def test_at_most_a_bounded_number_of_requests_are_answered_at_once_and_the_rest_wait(
    metrics: Metrics,
) -> None:
    gate = Gate()
    server = gated_server(metrics, gate)
    server.start()
    clients = ANSWERING_THREADS + 3
    with ThreadPoolExecutor(clients) as pool:
        try:
            answers = [pool.submit(get, server.port, "/readyz") for _ in range(clients)]
            wait_for(gate.count, until=lambda inside: inside == ANSWERING_THREADS, what="full")
            time.sleep(0.5)  # time enough for one more to get in, were it let in
            assert gate.count() == ANSWERING_THREADS
            assert get(server.port, "/healthz") == 200  # needs no thread
        finally:
            gate.opened.set()
        assert [future.result() for future in answers] == [200] * clients
        server.stop()
    assert gate.most_inside == ANSWERING_THREADS


def test_a_client_that_trickles_its_request_is_dropped_after_the_request_timeout(
    server: ObservabilityServer,
) -> None:
    request = b"GET /healthz HTTP/1.0\r\n" + b"X-Slow: " + b"s" * 30
    with socket.create_connection(("127.0.0.1", server.port)) as slow:
        started = time.monotonic()
        closed = False
        for byte in request:
            try:
                slow.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            readable, _, _ = select.select([slow], [], [], 0.5)
            if readable:
                closed = slow.recv(1) == b""
                break
        assert closed
        assert time.monotonic() - started < REQUEST_TIMEOUT_SECONDS + 3
