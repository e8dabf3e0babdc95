"""The observability server: a real HTTP server on loopback, asked with urllib."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import pytest

from reconciler.loop.errors import ApiError
from reconciler.loop.metrics import Metrics
from reconciler.loop.server import Endpoints, ObservabilityServer, parse_address
from reconciler.types import JsonObject


@dataclass
class Answer:
    status: int
    body: bytes
    headers: Mapping[str, str]

    def json(self) -> JsonObject:
        parsed: JsonObject = json.loads(self.body)
        return parsed


@dataclass
class Providers:
    """The server's inputs: readiness and the API's query functions, as plain functions."""

    ready: tuple[bool, str] = (True, "")
    queries: list[Mapping[str, str]] = field(default_factory=list)

    def readiness(self) -> tuple[bool, str]:
        return self.ready

    def releases(self, query: Mapping[str, str]) -> JsonObject:
        self.queries.append(dict(query))
        if query.get("labelSelector") == "bad=":
            raise ApiError(400, "labelSelector 'bad=': expected key=value")
        return {"releases": [{"release": "shop/web"}]}

    def release(self, namespace: str, name: str) -> JsonObject:
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
                return Answer(reply.status, reply.read(), dict(reply.headers))
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, error.read(), dict(error.headers))

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
