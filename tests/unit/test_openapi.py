"""The OpenAPI document at `/api/v1/openapi.json`: a JSON Schema for each route's answer,
checked against real answers of the API's providers served over HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from reconciler.diff.changeset import Action, ChangeSet, ObjectChange
from reconciler.loop.api import ReleaseView, release_detail, release_list
from reconciler.loop.errors import ApiError
from reconciler.loop.metrics import Metrics
from reconciler.loop.pass_history import PassHistory
from reconciler.loop.release_events import involved_objects, release_events
from reconciler.loop.server import Endpoints, ObservabilityServer
from reconciler.objects import ObjectRef
from reconciler.outcome import Failure, Outcome
from reconciler.reconcile import PassReport, ReleaseReport
from reconciler.reconcile.report import NextAttempt
from reconciler.types import JsonObject, ReleaseKey, release_key
from tests.unit.test_api import VIEWS, masked_view

OPENAPI_PATH = "/api/v1/openapi.json"


def with_changes(view: ReleaseView) -> ReleaseView:
    """`view` whose last pass configured one object, with the time it took."""
    ref = ObjectRef("v1", "ConfigMap", "shop", "settings")
    change = ObjectChange(ref, Action.CONFIGURED, "drifted", changed_paths=("/data/mode",))
    report = ReleaseReport(
        view.key,
        Outcome.APPLIED,
        "1 configured",
        changes=ChangeSet(view.key, (change,)),
        seconds=1.25,
    )
    return ReleaseView(view.key, view.release, view.rendered, view.status, report)


def failing(view: ReleaseView, key: ReleaseKey, next_attempt: NextAttempt) -> ReleaseView:
    """`view` as release `key`, failed in its last pass; `harmonia run` says what next."""
    report = ReleaseReport(
        key,
        Outcome.FAILED,
        "not Ready in time",
        failure=Failure.TEMPORARY if next_attempt.at is not None else Failure.PERMANENT,
        next_attempt=next_attempt,
    )
    return ReleaseView(key, view.release, view.rendered, view.status, report)


DETAILED = [
    *VIEWS,
    with_changes(masked_view()),
    failing(masked_view(), release_key("shop", "retrying"), NextAttempt(datetime.now(UTC))),
    failing(masked_view(), release_key("shop", "waiting"), NextAttempt(None)),
]


def detail(namespace: str, name: str) -> JsonObject:
    for view in DETAILED:
        if view.key == release_key(namespace, name):
            return release_detail(view)
    raise ApiError(404, f"release {namespace}/{name} not found")


def listing(query: Mapping[str, str]) -> JsonObject:
    return {**release_list(DETAILED, query), "problems": [], "source": None}


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    endpoints = Endpoints(Metrics(), lambda: (True, ""), listing, detail)
    server = ObservabilityServer("127.0.0.1:0", endpoints)
    server.start()
    yield server.port
    server.stop()


def get(port: int, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
            return int(reply.status), json.loads(reply.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def document(port: int) -> JsonObject:
    status, body = get(port, OPENAPI_PATH)
    assert status == 200
    assert isinstance(body, dict)
    return body


def answer_schema(document: JsonObject, route: str, status: int) -> JsonObject:
    """The JSON Schema of `GET route`'s `status` answer, its references resolvable."""
    paths: Any = document["paths"]
    content = paths[route]["get"]["responses"][str(status)]["content"]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document["components"],
        **content["application/json"]["schema"],
    }


def test_the_document_is_openapi_3_1_with_a_valid_json_schema_for_each_component(
    document: JsonObject,
) -> None:
    assert str(document["openapi"]).startswith("3.1")
    components: Any = document["components"]
    for schema in components["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_the_api_root_lists_the_document(port: int) -> None:
    status, body = get(port, "/api/v1")
    assert status == 200
    assert f"GET {OPENAPI_PATH}" in body["routes"]


@pytest.mark.parametrize(
    ("path", "route", "status"),
    [
        ("/api/v1", "/api/v1", 200),
        ("/api/v1/releases", "/api/v1/releases", 200),
        ("/api/v1/releases?namespace=shop&labelSelector=team%3Dweb", "/api/v1/releases", 200),
        ("/api/v1/releases?labelSelector=bad%3D%3D%3D", "/api/v1/releases", 400),
        ("/api/v1/releases/shop/web", "/api/v1/releases/{namespace}/{name}", 200),
        ("/api/v1/releases/shop/db", "/api/v1/releases/{namespace}/{name}", 200),
        ("/api/v1/releases/data/kafka", "/api/v1/releases/{namespace}/{name}", 200),
        ("/api/v1/releases/legacy/zk", "/api/v1/releases/{namespace}/{name}", 200),
        ("/api/v1/releases/shop/retrying", "/api/v1/releases/{namespace}/{name}", 200),
        ("/api/v1/releases/shop/waiting", "/api/v1/releases/{namespace}/{name}", 200),
        ("/api/v1/releases/shop/gone", "/api/v1/releases/{namespace}/{name}", 404),
    ],
)
def test_every_answer_of_a_route_validates_against_the_documents_schema(
    port: int, document: JsonObject, path: str, route: str, status: int
) -> None:
    got, body = get(port, path)
    assert got == status, body
    jsonschema.validate(body, answer_schema(document, route, status))


def test_the_schema_catches_an_answer_that_is_not_the_apis(document: JsonObject) -> None:
    """The schemas are closed: a field the API does not answer with fails validation."""
    schema = answer_schema(document, "/api/v1/releases/{namespace}/{name}", 200)
    body = release_detail(with_changes(masked_view()))
    jsonschema.validate(body, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**body, "unexpected": 1}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**body, "paused": "no"}, schema)


def test_the_last_change_recent_passes_and_events_validate_against_the_schema(
    document: JsonObject,
) -> None:
    shown = with_changes(masked_view())
    assert shown.report is not None
    history = PassHistory()
    history.record(PassReport("rev", {shown.key: shown.report}), time=datetime.now(UTC), whole=True)
    inventory = {"kind": "ConfigMap", "namespace": "shop", "name": "harmonia-inventory-web"}
    listed: list[JsonObject] = [
        {"involvedObject": inventory, "reason": "Applied", "lastTimestamp": "2026-12-07T02:00:00Z"}
    ]
    change = history.last_change(shown.key)
    assert change is not None
    body = release_detail(
        shown,
        last_change=change.to_json(),
        recent_passes=[line.to_json() for line in history.of(shown.key)],
        events=release_events(listed, involved_objects(shown.key, shown.status)),
        events_problem="Events of release shop/web could not be read: forbidden",
    )
    assert body["lastChange"] and body["recentPasses"] and body["events"]
    jsonschema.validate(body, answer_schema(document, "/api/v1/releases/{namespace}/{name}", 200))
