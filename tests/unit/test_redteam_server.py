"""Red team, the HTTP server of `harmonia run` on loopback: idle connections, path and
query tricks, other methods. Every client loop is bounded in count and time."""

from __future__ import annotations

import contextlib
import select
import selectors
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from reconciler.loop.http_limits import (
    ANSWERING_THREADS,
    MAX_CONNECTIONS,
    MAX_REQUEST_BYTES,
    REQUEST_TIMEOUT_SECONDS,
)
from reconciler.loop.metrics import Metrics
from reconciler.loop.server import STOP_GRACE_SECONDS, ObservabilityServer
from tests.unit.test_server import (
    BIG_ANSWER_BYTES,
    Ask,
    Gate,
    Providers,
    ask,
    gated_server,
    metrics,
    providers,
    server,
)
from tests.waiting import wait_for

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


LIVENESS_FAILURE_THRESHOLD = 3
"""deploy/'s livenessProbe: the kubelet restarts the pod after 3 failures in a row."""


def probe(port: int) -> tuple[bool, float]:
    """One liveness probe as the kubelet makes it: whether it got its 200, and how long it
    took; a connection reset or a timeout is a failed probe."""
    started = time.monotonic()
    try:
        answered = status_of(raw(port, b"GET /healthz HTTP/1.0\r\n\r\n")) == 200
    except OSError:
        answered = False
    return answered, time.monotonic() - started


def test_idle_connections_filling_every_slot_do_not_starve_the_liveness_probe(
    server: ObservabilityServer,
) -> None:
    """A kubelet probe gives up after 5 s and restarts the pod after 3 failures in a row
    (deploy/). Clients that connect, send nothing and connect again once dropped hold
    every slot; no 3 probes in a row may fail, and each answer comes in time. (One probe
    can lose: its request may still be unread when the flood makes it the oldest
    connection waiting, and nothing at the connection tells a probe from a flood.)"""
    deadline = time.monotonic() + 3 * REQUEST_TIMEOUT_SECONDS
    idle = IdleClients(server.port, MAX_CONNECTIONS * 2)
    probes: list[tuple[bool, float]] = []
    with ThreadPoolExecutor(1) as pool:
        try:
            holding = pool.submit(idle.hold, deadline)
            time.sleep(REQUEST_TIMEOUT_SECONDS / 2)
            while time.monotonic() < deadline - REQUEST_TIMEOUT_SECONDS:
                probes.append(probe(server.port))
            holding.result()
        finally:
            idle.close()
    failures_in_a_row = longest = 0
    for answered, _seconds in probes:
        failures_in_a_row = 0 if answered else failures_in_a_row + 1
        longest = max(longest, failures_in_a_row)
    assert probes
    assert longest < LIVENESS_FAILURE_THRESHOLD, probes
    assert max(seconds for _, seconds in probes) < REQUEST_TIMEOUT_SECONDS, probes
    assert idle.dropped >= MAX_CONNECTIONS  # the cap held: one over it dropped one of them


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/releases/shop%2Fweb",
        "/api/v1/releases/shop%2fweb",
        "/api%2Fv1/releases",
        "/api/v1/releases%2Fshop%2Fweb",
        "/healthz%2F",
    ],
)
def test_an_encoded_slash_names_no_route_and_reaches_no_provider(
    ask: Ask, providers: Providers, path: str
) -> None:
    answer = ask(path)
    assert answer.status == 404, answer.body[:200]
    assert answer.json()["error"].startswith("no such route: GET ")
    assert (providers.queries, providers.named) == ([], [])


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/healthz/", 200),
        ("/api/v1/", 200),
        ("/api/v1/releases/", 200),
        ("/api/v1/releases/shop/web/", 200),
    ],
)
def test_a_trailing_slash_names_the_same_route(ask: Ask, path: str, status: int) -> None:
    assert ask(path).status == status


def test_a_method_on_an_unknown_path_is_a_json_404(ask: Ask) -> None:
    answer = ask("/nowhere", method="POST")
    assert answer.status == 404
    assert answer.json() == {"error": "no such route: POST /nowhere"}


def test_a_kept_alive_connection_that_trickles_its_next_request_is_dropped(
    server: ObservabilityServer,
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: harmonia\r\n\r\n")
        first = b""
        while not first.endswith(b"ok\n"):
            first += client.recv(4096)
        assert status_of(first) == 200
        started = time.monotonic()
        closed = False
        for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"s" * 30:
            try:
                client.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            readable, _, _ = select.select([client], [], [], 0.5)
            if readable:
                closed = client.recv(1) == b""
                break
        assert closed
        assert time.monotonic() - started < REQUEST_TIMEOUT_SECONDS + 3


def test_a_client_that_takes_none_of_a_large_answer_is_dropped_and_the_server_serves_on(
    server: ObservabilityServer,
) -> None:
    with socket.socket() as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(("127.0.0.1", server.port))
        client.sendall(b"GET /api/v1/releases/shop/big HTTP/1.0\r\n\r\n")
        time.sleep(REQUEST_TIMEOUT_SECONDS + 2)  # reads nothing meanwhile
        client.settimeout(10)
        received = 0
        with contextlib.suppress(ConnectionResetError):
            while chunk := client.recv(1 << 20):
                received += len(chunk)
    assert received < BIG_ANSWER_BYTES
    assert status_of(raw(server.port, b"GET /healthz HTTP/1.0\r\n\r\n")) == 200


def test_one_connection_over_the_cap_drops_the_oldest_one_still_sending_its_request(
    server: ObservabilityServer,
) -> None:
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(MAX_CONNECTIONS)]
    try:
        for connection in idle:
            connection.settimeout(REQUEST_TIMEOUT_SECONDS * 2)
        time.sleep(1)  # every one accepted, the first the oldest
        started = time.monotonic()
        assert status_of(raw(server.port, b"GET /healthz HTTP/1.0\r\n\r\n")) == 200
        assert idle[0].recv(1) == b""
        assert time.monotonic() - started < REQUEST_TIMEOUT_SECONDS / 2
    finally:
        for connection in idle:
            connection.close()


def test_a_connection_over_the_cap_while_every_one_is_answered_is_closed_and_none_dropped(
    metrics: Metrics,
) -> None:
    gate = Gate()
    server = gated_server(metrics, gate)
    server.start()
    asking: list[socket.socket] = []
    try:
        for _ in range(MAX_CONNECTIONS):
            connection = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            connection.sendall(b"GET /readyz HTTP/1.0\r\n\r\n")
            asking.append(connection)
        wait_for(gate.count, until=lambda inside: inside == ANSWERING_THREADS, what="full")
        time.sleep(1)  # every request read
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as late:
            late.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            with contextlib.suppress(ConnectionResetError):
                assert late.recv(4096) == b""
        gate.opened.set()
        assert [status_of(connection.recv(4096)) for connection in asking] == [200] * len(asking)
    finally:
        gate.opened.set()
        for connection in asking:
            connection.close()
        server.stop()


def test_stop_returns_promptly_while_a_provider_is_blocked(metrics: Metrics) -> None:
    gate = Gate()
    server = gated_server(metrics, gate)
    server.start()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as asking:
        asking.sendall(b"GET /readyz HTTP/1.0\r\n\r\n")
        wait_for(gate.count, until=lambda inside: inside == 1, what="held")
        started = time.monotonic()
        server.stop()
        stopped_after = time.monotonic() - started
        gate.opened.set()
    assert stopped_after < STOP_GRACE_SECONDS + 1
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET /api/v1/releases?labelSelector=" + b"a" * (MAX_REQUEST_BYTES + 4096), 414),
        (b"GET /healthz HTTP/1.1\r\n" + b"X-Filler: " + b"x" * (MAX_REQUEST_BYTES + 4096), 431),
    ],
)
def test_a_head_sent_in_pieces_past_the_size_limit_is_refused_while_it_still_arrives(
    server: ObservabilityServer, providers: Providers, head: bytes, status: int
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
        for start in range(0, len(head), 4096):
            with contextlib.suppress(OSError):  # the server may have answered and closed
                client.sendall(head[start : start + 4096])
            time.sleep(0.02)
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := client.recv(4096):
                answer += chunk
    assert status_of(answer) == status, answer[:200]
    assert answer.endswith(
        b'{\n  "error": "the request line and headers exceed 16384 bytes"\n}\n'
    ), answer
    assert providers.queries == []
