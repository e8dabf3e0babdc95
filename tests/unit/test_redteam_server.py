"""Red team, the HTTP server of `harmonia run` on loopback: idle connections, path and
query tricks, other methods. Every client loop is bounded in count and time."""

from __future__ import annotations

import contextlib
import selectors
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from reconciler.loop.http_limits import MAX_CONNECTIONS, REQUEST_TIMEOUT_SECONDS
from reconciler.loop.server import ObservabilityServer
from tests.unit.test_server import Ask, Providers, ask, metrics, providers, server

__all__ = ["ask", "metrics", "providers", "server"]  # fixtures


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP answer (`HTTP/1.1 200 OK...`)."""
    return int(answer.split(b" ", 2)[1])


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
    assert status_of(answer) in (405, 501), answer[:200]
    if method == "HEAD":
        assert answer.endswith(b"\r\n\r\n")


def test_a_request_with_a_body_is_not_read_into_memory_unbounded(
    server: ObservabilityServer,
) -> None:
    request = b"POST /healthz HTTP/1.0\r\nContent-Length: 100000000000\r\n\r\n" + b"x" * 65536
    assert status_of(raw(server.port, request)) == 405


class IdleClients:
    """`count` connections that send nothing, each opened again once the server drops it,
    from one thread (non-blocking sockets); counts the drops."""

    def __init__(self, port: int, count: int) -> None:
        self._port = port
        self._selector = selectors.DefaultSelector()
        self.dropped = 0
        for _ in range(count):
            self._open()

    def _open(self) -> None:
        connection = socket.socket()
        connection.setblocking(False)
        connection.connect_ex(("127.0.0.1", self._port))
        self._selector.register(connection, selectors.EVENT_READ)

    def hold(self, until: float) -> None:
        while (left := until - time.monotonic()) > 0:
            for key, _ in self._selector.select(timeout=min(left, 0.2)):
                connection: Any = key.fileobj
                with contextlib.suppress(OSError):
                    if connection.recv(1):
                        continue
                self._selector.unregister(connection)
                connection.close()
                self.dropped += 1
                self._open()

    def close(self) -> None:
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()


def test_idle_connections_filling_every_slot_do_not_starve_the_liveness_probe(
    server: ObservabilityServer,
) -> None:
    """A kubelet probe gives up after 5 s (deploy/). Clients that connect, send nothing and
    connect again once dropped hold every slot; the probe must still get its answer."""
    deadline = time.monotonic() + 3 * REQUEST_TIMEOUT_SECONDS
    idle = IdleClients(server.port, MAX_CONNECTIONS * 2)
    waits: list[float] = []
    with ThreadPoolExecutor(1) as pool:
        try:
            holding = pool.submit(idle.hold, deadline)
            time.sleep(REQUEST_TIMEOUT_SECONDS / 2)
            while time.monotonic() < deadline - REQUEST_TIMEOUT_SECONDS:
                started = time.monotonic()
                answer = raw(server.port, b"GET /healthz HTTP/1.0\r\n\r\n")
                waits.append(time.monotonic() - started)
                assert status_of(answer) == 200, answer[:80]
            holding.result()
        finally:
            idle.close()
    assert waits
    assert max(waits) < REQUEST_TIMEOUT_SECONDS, [round(wait, 1) for wait in waits]
    assert idle.dropped >= MAX_CONNECTIONS  # the cap held: one over it dropped one of them
