"""Red team, the HTTP server of `harmonia run` on loopback: idle connections, path and
query tricks, other methods. Every client loop is bounded in count and time."""

from __future__ import annotations

import contextlib
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from reconciler.loop.http_limits import MAX_CONNECTIONS, REQUEST_TIMEOUT_SECONDS
from reconciler.loop.server import ObservabilityServer
from tests.unit.test_server import Ask, Providers, ask, metrics, providers, server

__all__ = ["ask", "metrics", "providers", "server"]  # fixtures


def raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(4096):
            answer += chunk
        return answer


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/releases/../..",
        "/api/v1/releases/..%2F..%2Fhealthz",
        "/api/v1/releases/shop%2Fweb/x",
        "/api/v1/releases/shop/web/extra",
        "/api/v1/releases//web",
        "/api/v1/releases/shop/" + "w" * 10_000,
        "/api/v1/releases%2F",
    ],
)
def test_path_tricks_reach_no_release_but_the_one_named(
    ask: Ask, providers: Providers, path: str
) -> None:
    answer = ask(path)
    assert answer.status in (404, 414), (answer.status, answer.body[:200])
    assert providers.queries == []


def test_a_query_repeating_a_parameter_or_odd_encodings_is_an_answer_not_a_crash(
    ask: Ask, providers: Providers
) -> None:
    for query in ("namespace=a&namespace=b", "labelSelector=%00%ff", "%zz=1", "&&&=&="):
        answer = ask(f"/api/v1/releases?{query}")
        assert answer.status in (200, 400), (query, answer.status)


@pytest.mark.parametrize("method", ["HEAD", "POST", "TRACE", "CONNECT", "PROPFIND", "BREW"])
def test_every_other_method_gets_405_or_501_and_no_body_for_head(
    server: ObservabilityServer, method: str
) -> None:
    answer = raw(server.port, f"{method} /healthz HTTP/1.0\r\n\r\n".encode())
    status = int(answer.split(b" ", 2)[1])
    assert status in (405, 501), answer[:200]
    if method == "HEAD":
        assert answer.endswith(b"\r\n\r\n")


def test_a_request_with_a_body_is_not_read_into_memory_unbounded(
    server: ObservabilityServer,
) -> None:
    request = b"POST /healthz HTTP/1.0\r\nContent-Length: 100000000000\r\n\r\n" + b"x" * 65536
    assert raw(server.port, request).startswith(b"HTTP/1.0 405")


def test_idle_connections_filling_every_slot_do_not_starve_the_liveness_probe(
    server: ObservabilityServer,
) -> None:
    """A kubelet probe gives up after 5 s (deploy/). Clients that connect, send nothing and
    connect again once dropped hold every slot; the probe must still get its answer."""
    deadline = time.monotonic() + 3 * REQUEST_TIMEOUT_SECONDS
    attackers = MAX_CONNECTIONS * 2

    def hold() -> None:
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(
                    ("127.0.0.1", server.port), timeout=REQUEST_TIMEOUT_SECONDS * 2
                ) as idle,
            ):
                idle.recv(1)  # until the server drops it

    waits: list[float] = []
    with ThreadPoolExecutor(attackers) as pool:
        for _ in range(attackers):
            pool.submit(hold)
        time.sleep(REQUEST_TIMEOUT_SECONDS / 2)
        while time.monotonic() < deadline - REQUEST_TIMEOUT_SECONDS:
            started = time.monotonic()
            answer = raw(server.port, b"GET /healthz HTTP/1.0\r\n\r\n")
            waits.append(time.monotonic() - started)
            assert answer.startswith(b"HTTP/1.0 200"), answer[:80]
    assert waits
    assert max(waits) < REQUEST_TIMEOUT_SECONDS, [round(wait, 1) for wait in waits]
