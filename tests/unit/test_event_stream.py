"""`GET /api/v1/events` served by the real HTTP server on loopback: frames, filters,
replay, heartbeats, the stream cap, a client that reads nothing, and a prompt stop. Every
client loop is bounded in count and time."""

from __future__ import annotations

import contextlib
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.client import HTTPResponse
from typing import Any

import jsonschema
import pytest

from reconciler.loop import event_stream
from reconciler.loop.event_bus import EventBus
from reconciler.loop.event_stream import MAX_STREAMS
from reconciler.loop.events import Notice
from reconciler.loop.http_limits import REQUEST_TIMEOUT_SECONDS
from reconciler.loop.metrics import Metrics
from reconciler.loop.server import STOP_GRACE_SECONDS, Endpoints, ObservabilityServer
from reconciler.types import JsonObject, ReleaseKey
from tests.waiting import wait_for

WEB = ReleaseKey("shop/web")
DB = ReleaseKey("data/db")


def nothing(*_args: Any) -> JsonObject:
    return {}


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def server(bus: EventBus) -> Iterator[ObservabilityServer]:
    endpoints = Endpoints(Metrics(), lambda: (True, ""), nothing, nothing, events=bus)
    server = ObservabilityServer("127.0.0.1:0", endpoints)
    server.start()
    yield server
    server.stop()


def open_stream(
    server: ObservabilityServer, query: str = "", *, last_id: str | None = None
) -> HTTPResponse:
    """A stream whose opening has been read: its subscription exists."""
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/api/v1/events{query}")
    if last_id is not None:
        request.add_header("Last-Event-ID", last_id)
    response: HTTPResponse = urllib.request.urlopen(request, timeout=10)
    assert read_frame(response) == {"retry": "3000"}
    return response


def read_frame(response: HTTPResponse) -> dict[str, str]:
    """The fields of the next frame (comments under ":"), up to its blank line."""
    fields: dict[str, str] = {}
    while (line := response.readline().decode()) not in ("\n", ""):
        name, _, value = line.rstrip("\n").partition(": ")
        if name == "" and value:
            fields.setdefault(":", value)
        elif name:
            fields[name] = value
    return {key: value for key, value in fields.items() if key != ":"} or fields


def read_event(response: HTTPResponse) -> JsonObject:
    frame = read_frame(response)
    assert frame["event"] == "release"
    data = json.loads(frame["data"])
    assert data["id"] == frame["id"]
    assert isinstance(data, dict)
    return data


def say(bus: EventBus, release: ReleaseKey, state: str, reason: str = "why") -> None:
    bus.publish(release, [Notice("Normal", state, reason)], revision="abc123")


def test_a_client_reads_each_release_event_as_an_sse_frame(
    server: ObservabilityServer, bus: EventBus
) -> None:
    with open_stream(server) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert stream.headers["Cache-Control"] == "no-cache"
        say(bus, WEB, "Applied", "revision abc123 applied: 1 created")
        say(bus, WEB, "Ready", "all resources are ready")
        first, second = read_event(stream), read_event(stream)
    assert (first["release"], first["state"], first["revision"]) == (WEB, "Applied", "abc123")
    assert (second["state"], second["reason"]) == ("Ready", "all resources are ready")
    assert set(first) == {"id", "release", "state", "reason", "revision", "time"}


def get_json(server: ObservabilityServer, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=10) as reply:
        return json.loads(reply.read())


def test_the_stream_is_listed_and_documented_and_its_events_match_the_openapi_schema(
    server: ObservabilityServer, bus: EventBus
) -> None:
    routes = get_json(server, "/api/v1")["routes"]
    assert any(route.startswith("GET /api/v1/events?") for route in routes)
    document = get_json(server, "/api/v1/openapi.json")
    media = document["paths"]["/api/v1/events"]["get"]["responses"]["200"]["content"]
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document["components"],
        **media["text/event-stream"]["x-event-data"],
    }
    with open_stream(server) as stream:
        say(bus, WEB, "DriftCorrected", "revision abc123: drift corrected on Deployment/shop/web")
        event = read_event(stream)
    jsonschema.validate(event, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**event, "unexpected": 1}, schema)


def test_the_stream_filters_by_namespace_and_by_release(
    server: ObservabilityServer, bus: EventBus
) -> None:
    with (
        open_stream(server, "?namespace=data") as by_namespace,
        open_stream(server, "?release=shop/web") as by_release,
    ):
        say(bus, WEB, "Applied")
        say(bus, DB, "Applied")
        say(bus, WEB, "Ready")
        assert read_event(by_namespace)["release"] == DB
        assert [read_event(by_release)["state"] for _ in range(2)] == ["Applied", "Ready"]


def test_a_bad_query_is_a_json_400_and_opens_no_stream(
    server: ObservabilityServer, bus: EventBus
) -> None:
    url = f"http://127.0.0.1:{server.port}/api/v1/events?release=nonsense"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    with refused.value as answer:
        assert answer.code == 400
        assert "release" in json.loads(answer.read())["error"]
    assert bus.subscribers == 0


def test_a_client_reconnecting_with_last_event_id_gets_what_it_missed(
    server: ObservabilityServer, bus: EventBus
) -> None:
    with open_stream(server) as stream:
        say(bus, WEB, "Applied")
        seen = read_event(stream)
    say(bus, WEB, "Progressing")
    say(bus, WEB, "Ready")
    with open_stream(server, last_id=str(seen["id"])) as again:
        assert [read_event(again)["state"] for _ in range(2)] == ["Progressing", "Ready"]


def test_an_idle_stream_gets_a_comment_heartbeat(
    server: ObservabilityServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_stream, "HEARTBEAT_SECONDS", 0.2)
    with open_stream(server) as stream:
        assert read_frame(stream) == {":": "keep-alive"}


def test_streams_over_the_cap_get_429_and_a_closed_one_frees_its_slot(
    server: ObservabilityServer,
) -> None:
    streams = [open_stream(server) for _ in range(MAX_STREAMS)]
    try:
        url = f"http://127.0.0.1:{server.port}/api/v1/events"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        with refused.value as answer:
            assert answer.code == 429
            assert answer.headers["Retry-After"] == "1"
        healthz = f"http://127.0.0.1:{server.port}/healthz"
        with urllib.request.urlopen(healthz, timeout=10) as health:
            assert health.status == 200
        streams.pop().close()
        reopened = wait_for(
            lambda: _try_open(server), until=lambda stream: stream is not None, what="a slot"
        )
        assert reopened is not None
        streams.append(reopened)
    finally:
        for stream in streams:
            stream.close()


def _try_open(server: ObservabilityServer) -> HTTPResponse | None:
    try:
        return open_stream(server)
    except urllib.error.HTTPError as error:
        with error:
            assert error.code == 429
        return None


def test_a_client_that_reads_nothing_is_dropped_and_the_others_stream_on(
    server: ObservabilityServer, bus: EventBus
) -> None:
    with socket.socket() as stuck, open_stream(server) as reading:
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(("127.0.0.1", server.port))
        stuck.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_for(lambda: bus.subscribers, until=lambda count: count == 2, what="both subscribed")
        reason = "x" * 4000
        for count in range(2500):  # 10 MB: more than the kernel buffers hold
            say(bus, WEB, "Progressing", f"{count} {reason}")
            if count % 50 == 0:
                while read_event(reading)["reason"] != f"{count} {reason}":
                    pass  # keeps up with what was said so far
        wait_for(
            lambda: bus.subscribers,
            until=lambda count: count == 1,
            what="stuck dropped",
            timeout=30,
        )
        say(bus, WEB, "Ready", "done")
        while (event := read_event(reading))["state"] != "Ready":
            pass
        assert event["reason"] == "done"
        time.sleep(REQUEST_TIMEOUT_SECONDS + 1)
        stuck.settimeout(10)
        with contextlib.suppress(ConnectionResetError):
            while stuck.recv(1 << 20):
                pass  # the server closed it: the reads end


def test_stop_ends_open_streams_cleanly_and_promptly(bus: EventBus) -> None:
    endpoints = Endpoints(Metrics(), lambda: (True, ""), nothing, nothing, events=bus)
    server = ObservabilityServer("127.0.0.1:0", endpoints)
    server.start()
    streams = [open_stream(server) for _ in range(3)]
    started = time.monotonic()
    server.stop()
    stopped_after = time.monotonic() - started
    for stream in streams:
        assert stream.read() == b""  # the chunked body ended properly, no error
        stream.close()
    assert stopped_after < STOP_GRACE_SECONDS
    assert bus.subscribers == 0
