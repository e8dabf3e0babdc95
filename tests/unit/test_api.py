"""The JSON API's bodies: kubectl's label selectors, the list's filters, the detail's shape,
and Secret values masked wherever they would appear."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import time
from typing import Any

import pytest

from reconciler.apply.inventory import InventoryEntry, InventoryRecord
from reconciler.diff import Action, ChangeSet, ObjectChange
from reconciler.health import PodState, PodStatus, ReleaseHealth, ReleaseState, ResourceState
from reconciler.health import State as ResourceHealth
from reconciler.loop.api import (
    MAX_REQUIREMENTS,
    MAX_SELECTOR_LENGTH,
    NOT_INSTALLED,
    PassSecrets,
    ReleaseView,
    mask_values,
    names_secret,
    parse_label_selector,
    release_detail,
    release_list,
    selector_terms,
)
from reconciler.loop.errors import ApiError
from reconciler.objects import ObjectRef
from reconciler.reconcile import Outcome, ReleaseReport
from reconciler.release_requests.diagnostics import SourceMap
from reconciler.release_requests.document import release_document
from reconciler.release_requests.model import ChartPath, EnvVar, Release, RoleBaseConfig, RoleConfig
from reconciler.release_requests.model import MetaInfoParams as MetaInfo
from reconciler.render.model import DependedRelease, RenderedRelease
from reconciler.render.secrets.redaction import values_of_secrets
from reconciler.status.live import ReleaseStatus
from reconciler.types import JsonObject, ReleaseKey, release_key


def release(namespace: str, name: str, **fields: Any) -> Release:
    return Release(
        name=name,
        namespace=namespace,
        chart=ChartPath(f"charts/{name}"),
        source=SourceMap(f"releases/{namespace}/{name}.yaml", {}),
        **fields,
    )


def rendered(
    key: ReleaseKey, *objects: JsonObject, values: JsonObject | None = None
) -> RenderedRelease:
    return RenderedRelease(
        key=key,
        objects=objects,
        hooks=(),
        outputs={"port": 9092},
        values=values or {},
        input_hash="sha256:x",
    )


def status(key: ReleaseKey) -> ReleaseStatus:
    web = ObjectRef("apps/v1", "Deployment", key.split("/")[0], "web")
    pod = PodState("web-1", "node-a", "Running", PodStatus.READY, ready="1/1")
    return ReleaseStatus(
        record=InventoryRecord(
            release=key,
            source="repo",
            revision="abc123",
            input_hash="sha256:x",
            entries=(InventoryEntry(web),),
            outputs={"port": 9092},
            dependency_outputs={"zk": {"release": "infra/zk", "outputs": {"hosts": "zk-0"}}},
            result="Applied",
            time="2026-11-23T10:00:00+00:00",
        ),
        health=ReleaseHealth(
            ReleaseState.READY,
            "all 1 resources Ready",
            (ResourceState("Deployment", web.namespace, "web", ResourceHealth.READY, pods=(pod,)),),
        ),
    )


def view(
    namespace: str = "shop",
    name: str = "web",
    *,
    labels: dict[str, str] | None = None,
    applied: bool = True,
    **fields: Any,
) -> ReleaseView:
    key = release_key(namespace, name)
    return ReleaseView(
        key=key,
        release=release(namespace, name, release_labels=labels or {}, **fields),
        rendered=rendered(key),
        status=status(key) if applied else None,
        report=ReleaseReport(key, Outcome.APPLIED, "all 1 resources Ready"),
    )


def only_in_cluster(namespace: str, name: str) -> ReleaseView:
    key = release_key(namespace, name)
    return ReleaseView(key, release=None, rendered=None, status=status(key), report=None)


# -- label selectors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ("", {}, True),
        ("team=data", {"team": "data"}, True),
        ("team==data", {"team": "data"}, True),
        ("team=data", {"team": "web"}, False),
        ("team=data", {}, False),
        ("team!=data", {"team": "web"}, True),
        ("team!=data", {}, True),
        ("team!=data", {"team": "data"}, False),
        ("tier in (db, cache)", {"tier": "cache"}, True),
        ("tier in (db,cache)", {"tier": "web"}, False),
        ("tier in (db)", {}, False),
        ("tier notin (db,cache)", {"tier": "web"}, True),
        ("tier notin (db)", {}, True),
        ("tier notin (db)", {"tier": "db"}, False),
        ("team", {"team": ""}, True),
        ("team", {}, False),
        ("!team", {}, True),
        ("! team", {"team": "x"}, False),
        ("team=data,tier in (db,cache),!legacy", {"team": "data", "tier": "db"}, True),
        ("team=data, tier in (db,cache), !legacy", {"team": "data", "legacy": "1"}, False),
        ("harmonia.dev/tier=gold", {"harmonia.dev/tier": "gold"}, True),
        ("env=", {"env": ""}, True),
        ("env in (a,b),tier notin (c)", {"env": "b", "tier": "d"}, True),
    ],
)
def test_label_selectors_match_as_kubectls_do(
    selector: str, labels: dict[str, str], matches: bool
) -> None:
    assert parse_label_selector(selector).matches(labels) is matches


@pytest.mark.parametrize(
    "selector",
    [
        "team=data,,tier=db",
        "team=data,",
        "tier in ()",
        "tier in (db",
        "tier in db",
        "tier inn (db)",
        "=data",
        "team=da ta",
        "team===data",
        "team=-data",
        "!team=data",
        "Bad_Prefix/key=x",
        "team=" + "x" * 64,
        "a" * 64,
        "tier in ((db))",
    ],
)
def test_a_malformed_selector_is_a_bad_request_naming_the_requirement(selector: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse_label_selector(selector)
    assert raised.value.status == 400
    assert raised.value.message.startswith("labelSelector: cannot parse")


def test_a_selector_over_the_length_limit_is_refused_before_it_is_parsed() -> None:
    started = time.monotonic()
    with pytest.raises(ApiError) as raised:
        parse_label_selector(",".join(["a"] * 64_000))
    assert time.monotonic() - started < 0.5
    assert (raised.value.status, raised.value.message) == (
        400,
        f"labelSelector: 127999 characters, more than {MAX_SELECTOR_LENGTH}",
    )


def test_a_selector_with_more_terms_than_the_limit_is_refused() -> None:
    within = ",".join(f"k{index}" for index in range(MAX_REQUIREMENTS))
    assert len(parse_label_selector(within).requirements) == MAX_REQUIREMENTS
    with pytest.raises(ApiError) as raised:
        parse_label_selector(f"{within},one-more")
    assert raised.value.message == (
        f"labelSelector: {MAX_REQUIREMENTS + 1} terms, more than {MAX_REQUIREMENTS}"
    )


@pytest.mark.parametrize(
    ("selector", "terms"),
    [
        ("a", ["a"]),
        ("a=1,b in (x,y),!c", ["a=1", "b in (x,y)", "!c"]),
        ("a in (x,y", ["a in (x", "y"]),
        ("a,,b", ["a", "", "b"]),
    ],
)
def test_a_selector_is_cut_into_terms_at_commas_outside_parentheses(
    selector: str, terms: list[str]
) -> None:
    assert selector_terms(selector) == terms


def test_cutting_a_selector_into_terms_takes_time_in_proportion_to_its_length() -> None:
    # The regular expression this replaced took some 15s on this input, holding the GIL.
    started = time.monotonic()
    terms = selector_terms("tier in (" + ",".join(["x"] * 64_000) + "),b")
    assert time.monotonic() - started < 1.0
    assert len(terms) == 2


# -- the list --------------------------------------------------------------------


def names(body: JsonObject) -> list[str]:
    releases: Any = body["releases"]
    return [f"{item['namespace']}/{item['name']}" for item in releases]


VIEWS = [
    view("shop", "web", labels={"team": "web", "tier": "front"}),
    view("shop", "db", labels={"team": "data"}),
    view("data", "kafka", labels={"team": "data"}, applied=False),
    only_in_cluster("legacy", "zk"),
]


def test_the_list_names_every_release_by_key_with_its_summary() -> None:
    body = release_list(VIEWS, {})
    assert body["count"] == 4
    assert names(body) == ["data/kafka", "legacy/zk", "shop/db", "shop/web"]
    releases: Any = body["releases"]
    assert releases[3] == {
        "name": "web",
        "namespace": "shop",
        "labels": {"team": "web", "tier": "front"},
        "chart": {"chartPath": "charts/web"},
        "state": "Ready",
        "message": "all 1 resources Ready",
        "revision": "abc123",
        "revisionUrl": None,
        "installed": None,
        "lastApplied": "2026-11-23T10:00:00+00:00",
        "outcome": "Applied",
        "dependsOn": [],
        "outputsTaken": [],
    }
    assert releases[0]["state"] == NOT_INSTALLED
    assert releases[0]["revision"] is None
    assert releases[1]["chart"] is None and releases[1]["outcome"] is None


def test_a_release_only_in_the_cluster_depends_on_what_its_record_took_outputs_from() -> None:
    """Without its file (`harmonia ui` with no repository), the graph's edges come from the
    inventory record; with its file, Git says."""
    (alone,) = release_list([only_in_cluster("data", "kafka")], {})["releases"]  # type: ignore[misc]
    assert alone["dependsOn"] == ["infra/zk"]
    (in_git,) = release_list([view("shop", "web")], {})["releases"]  # type: ignore[misc]
    assert in_git["dependsOn"] == []


def test_the_summary_says_when_the_release_was_installed_and_last_applied() -> None:
    key = release_key("shop", "web")
    installed = dataclasses.replace(status(key), installed="2026-11-20T08:00:00Z")
    shown = dataclasses.replace(view(), status=installed)

    summary: Any = release_list([shown], {})["releases"][0]

    assert summary["installed"] == "2026-11-20T08:00:00Z"
    assert summary["lastApplied"] == "2026-11-23T10:00:00+00:00"
    never: Any = release_list([view(applied=False)], {})["releases"][0]
    assert never["installed"] is None and never["lastApplied"] is None


def test_the_summary_gives_the_revision_url_the_catalog_found() -> None:
    url = "https://github.com/acme/shop/commit/abc1234"
    shown = dataclasses.replace(view(), revision_url=url)

    summary: Any = release_list([shown], {})["releases"][0]

    assert summary["revisionUrl"] == url


def test_the_summary_names_the_outputs_taken_from_each_dependency_never_their_values() -> None:
    key = release_key("data", "kafka")
    depended = DependedRelease(
        release_key("data", "zookeeper"), {"zookeeper_port": 2181, "zookeeper_addresses": "zk-0"}
    )
    rendered_with = dataclasses.replace(rendered(key), dependencies={"zk": depended})
    shown = dataclasses.replace(view("data", "kafka"), rendered=rendered_with)

    summary: Any = release_list([shown], {})["releases"][0]

    assert summary["outputsTaken"] == [
        {
            "alias": "zk",
            "release": "data/zookeeper",
            "outputs": ["zookeeper_addresses", "zookeeper_port"],
        }
    ]
    assert "zk-0" not in json.dumps(summary) and "2181" not in json.dumps(summary)


def test_without_a_render_the_outputs_taken_are_those_of_the_last_apply() -> None:
    shown = dataclasses.replace(view(), rendered=None)

    summary: Any = release_list([shown], {})["releases"][0]

    assert summary["outputsTaken"] == [{"alias": "zk", "release": "infra/zk", "outputs": ["hosts"]}]
    assert "zk-0" not in json.dumps(summary)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"namespace": "shop"}, ["shop/db", "shop/web"]),
        ({"namespace": ""}, ["data/kafka", "legacy/zk", "shop/db", "shop/web"]),
        ({"labelSelector": "team=data"}, ["data/kafka", "shop/db"]),
        ({"labelSelector": "team=data", "namespace": "shop"}, ["shop/db"]),
        ({"labelSelector": "tier in (front,back)"}, ["shop/web"]),
        # A release only in the cluster carries no release labels.
        ({"labelSelector": "!team"}, ["legacy/zk"]),
        ({"namespace": "nowhere"}, []),
    ],
)
def test_the_list_filters_by_namespace_and_release_labels(
    query: dict[str, str], expected: list[str]
) -> None:
    body = release_list(VIEWS, query)
    assert names(body) == expected
    assert body["count"] == len(expected)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"label": "team=data"}, "unknown query parameter label"),
        ({"namespace": "Shop_1"}, "is not a namespace name"),
        ({"labelSelector": "team in ()"}, "the set of values is empty"),
    ],
)
def test_a_bad_list_query_is_a_bad_request(query: dict[str, str], words: str) -> None:
    with pytest.raises(ApiError) as raised:
        release_list(VIEWS, query)
    assert raised.value.status == 400
    assert words in raised.value.message


# -- the detail ------------------------------------------------------------------


def test_the_detail_shows_the_request_resources_dependencies_outputs_and_last_pass() -> None:
    shown = view(
        labels={"team": "web"},
        config_values={"replicas": 2},
        dependencies={"zk": ReleaseKey("infra/zk")},
    )
    body: Any = release_detail(shown)
    assert list(body) == [
        *("name", "namespace", "labels", "chart", "state", "message", "revision"),
        *("revisionUrl", "installed", "lastApplied", "outcome", "dependsOn", "outputsTaken"),
        *("file", "spec", "source", "lastResult", "readySince", "paused"),
        *("resources", "dependencies", "outputs", "computedValues", "lastPass"),
        *("lastChange", "recentPasses", "events", "eventsProblem"),
    ]
    assert body["file"] == "releases/shop/web.yaml"
    assert body["spec"]["configValues"] == {"replicas": 2}
    assert body["spec"]["dependencies"] == {"zk": "infra/zk"}
    assert body["dependsOn"] == ["infra/zk"]
    assert body["spec"]["releaseLabels"] == {"team": "web"}
    (resource,) = body["resources"]
    assert (resource["kind"], resource["state"]) == ("Deployment", "Ready")
    assert resource["pods"][0]["name"] == "web-1"
    assert body["dependencies"] == {"zk": {"release": "infra/zk", "outputs": {"hosts": "zk-0"}}}
    assert body["outputs"] == {"port": 9092}
    assert body["lastPass"] == {
        "release": "shop/web",
        "outcome": "Applied",
        "message": "all 1 resources Ready",
    }
    json.dumps(body)


def test_a_release_never_applied_shows_what_git_says_and_why_it_is_not_installed() -> None:
    key = release_key("shop", "web")
    shown = ReleaseView(
        key,
        release=release("shop", "web", dependencies={"zk": ReleaseKey("infra/zk")}),
        rendered=None,
        status=None,
        report=ReleaseReport(key, Outcome.BLOCKED, "dependency infra/zk is not Ready"),
    )
    body: Any = release_detail(shown)
    assert (body["state"], body["message"]) == (NOT_INSTALLED, "dependency infra/zk is not Ready")
    assert body["resources"] == [] and body["outputs"] == {}
    assert body["dependencies"] == {"zk": {"release": "infra/zk"}}
    assert body["computedValues"] is None
    assert body["lastPass"]["outcome"] == "Blocked"


def test_a_release_only_in_the_cluster_has_no_spec() -> None:
    body: Any = release_detail(only_in_cluster("legacy", "zk"))
    assert (body["spec"], body["file"], body["computedValues"]) == (None, None, None)
    assert body["state"] == "Ready" and body["revision"] == "abc123"


# -- masking -----------------------------------------------------------------------

DB_SECRET = "hunter2-correct-horse"
PIN = "4711"


def secret(**string_data: str) -> JsonObject:
    encoded = base64.b64encode(DB_SECRET.encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"connection": encoded},
        "stringData": dict(string_data),
    }


def masked_view() -> ReleaseView:
    """A chart value (`db.connection`) lands in a Secret; a `password` key and an
    environment variable named like a secret hold values no Secret has."""
    key = release_key("shop", "web")
    config: JsonObject = {
        "db": {"connection": DB_SECRET, "host": "db.shop", "adminPassword": "s3cr3t"},
        "pin": PIN,
        "url": f"postgres://app:{DB_SECRET}@db.shop/app",
        "replicas": 2,
    }
    base = RoleBaseConfig(
        env=(EnvVar("API_TOKEN", "t0ken"), EnvVar("LOG_LEVEL", "debug")), replicas=2
    )
    computed = {**copy.deepcopy(config), "harmonia": {"releaseName": "web"}}
    return ReleaseView(
        key,
        release=release(
            "shop",
            "web",
            config_values=config,
            meta_info_params=MetaInfo(roles=(RoleConfig("web", base_config=base),)),
        ),
        rendered=rendered(
            key, secret(pin=PIN), {"kind": "ConfigMap", "apiVersion": "v1"}, values=computed
        ),
        status=status(key),
        report=ReleaseReport(key, Outcome.APPLIED, "all 1 resources Ready"),
    )


def test_a_chart_value_that_lands_in_a_secret_is_masked_in_computed_values_and_config() -> None:
    body: Any = release_detail(masked_view())
    for values in (body["computedValues"], body["spec"]["configValues"]):
        assert values["db"]["connection"] == "***"
        assert values["pin"] == "***"
        assert values["url"] == "postgres://app:***@db.shop/app"


def test_a_value_only_another_releases_secret_holds_is_masked_in_the_detail() -> None:
    """The publisher of an output its dependent puts into a Secret (a DATABASE_URL) has
    no Secret of its own holding it; the pass's Secrets do."""
    key = release_key("db", "main")
    computed: JsonObject = {"pw": DB_SECRET, "host": "db.shop"}
    shown = ReleaseView(
        key,
        release=release("db", "main", config_values={"pw": DB_SECRET}),
        rendered=rendered(key, values=computed),
        status=status(key),
        report=ReleaseReport(key, Outcome.APPLIED, "all 1 resources Ready"),
        secrets_of_dependents=frozenset({f"postgres://app:{DB_SECRET}@db.shop/app"}),
    )
    body: Any = release_detail(shown)
    assert body["computedValues"]["pw"] == "***"
    assert body["spec"]["configValues"]["pw"] == "***"
    assert DB_SECRET not in json.dumps(body)


def test_values_under_keys_that_name_a_secret_are_masked() -> None:
    body: Any = release_detail(masked_view())
    assert body["spec"]["configValues"]["db"]["adminPassword"] == "***"
    assert body["computedValues"]["db"]["adminPassword"] == "***"
    env = body["spec"]["metaInfoParams"]["roles"][0]["baseConfig"]["env"]
    assert env == [{"name": "API_TOKEN", "value": "***"}, {"name": "LOG_LEVEL", "value": "debug"}]


def test_masking_changes_nothing_else() -> None:
    shown = masked_view()
    body: Any = release_detail(shown)
    assert shown.release is not None and shown.rendered is not None
    spec: Any = release_document(shown.release)
    for values in (spec["configValues"], body["computedValues"]):
        assert values["db"]["host"] == "db.shop" and values["replicas"] == 2
    expected_config = {
        **spec["configValues"],
        "db": {"connection": "***", "host": "db.shop", "adminPassword": "***"},
        "pin": "***",
        "url": "postgres://app:***@db.shop/app",
    }
    spec["configValues"] = expected_config
    spec["metaInfoParams"]["roles"][0]["baseConfig"]["env"][0]["value"] = "***"
    assert body["spec"] == spec
    assert body["computedValues"] == {**expected_config, "harmonia": {"releaseName": "web"}}
    unmasked = {
        key: value
        for key, value in release_detail(view()).items()
        if key not in ("spec", "computedValues")
    }
    assert {k: v for k, v in body.items() if k not in ("spec", "computedValues")} == unmasked


def test_no_secret_value_appears_anywhere_in_the_bodies() -> None:
    shown = masked_view()
    text = json.dumps([release_detail(shown), release_list([shown], {})])
    for value in (DB_SECRET, base64.b64encode(DB_SECRET.encode()).decode(), PIN, "s3cr3t"):
        assert value not in text


def test_secret_values_are_read_as_written_and_decoded() -> None:
    found = values_of_secrets(
        [secret(pin=PIN), {"apiVersion": "v1", "kind": "Secret", "data": {"bin": "//79"}}]
    )
    encoded = base64.b64encode(DB_SECRET.encode()).decode()
    assert found == {encoded, DB_SECRET, PIN, "//79"}
    assert values_of_secrets([{**secret(), "kind": "ConfigMap"}]) == frozenset()


def test_a_short_secret_is_masked_only_where_a_whole_value_equals_it() -> None:
    masked = mask_values({"a": "4711", "b": "room 4711", "c": 4711, "d": True}, frozenset({"4711"}))
    assert masked == {"a": "***", "b": "room 4711", "c": "***", "d": True}


@pytest.mark.parametrize(
    ("key", "secret_named"),
    [
        ("password", True),
        ("dbPassword", True),
        ("PASSWD", True),
        ("clientSecret", True),
        ("api_key", True),
        ("Api-Key", True),
        ("apikey", True),
        ("authToken", True),
        ("credentials", True),
        ("private_key", True),
        ("privateKey", True),
        ("host", False),
        ("keyspace", False),
        ("passes", False),
    ],
)
def test_keys_that_name_a_secret(key: str, secret_named: bool) -> None:
    assert names_secret(key) is secret_named


def test_flags_and_nulls_under_a_secret_key_stay_visible() -> None:
    masked = mask_values(
        {"tokenEnabled": False, "password": None, "secret": {"name": "x"}}, frozenset()
    )
    assert masked == {"tokenEnabled": False, "password": None, "secret": "***"}


def test_the_summary_of_a_change_set_shows_through_unmasked() -> None:
    key = release_key("shop", "web")
    ref = ObjectRef("v1", "Secret", "shop", "db")
    changes = ChangeSet(key, (ObjectChange(ref, Action.CREATED, "not in the cluster"),))
    shown = ReleaseView(
        key,
        release=None,
        rendered=None,
        status=None,
        report=ReleaseReport(key, Outcome.APPLIED, "", changes),
    )
    body: Any = release_detail(shown)
    assert body["lastPass"]["changes"]["changes"][0]["subject"] == "Secret/shop/db"


def test_the_recent_passes_and_events_of_the_detail_are_masked_like_the_rest() -> None:
    passes: list[JsonObject] = [
        {
            "time": "2026-12-07T02:00:00Z",
            "revision": "abc",
            "outcome": "Failed",
            "seconds": 1.0,
            "message": f"apply failed: {DB_SECRET}",
        }
    ]
    events: list[JsonObject] = [
        {
            "time": "2026-12-07T02:00:01Z",
            "type": "Warning",
            "reason": "BackOff",
            "object": "Pod/web-1",
            "message": f"env holds {DB_SECRET}",
            "count": 2,
        }
    ]
    body: Any = release_detail(
        masked_view(), recent_passes=passes, events=events, events_problem=None
    )
    assert body["recentPasses"][0]["message"] == "apply failed: ***"
    assert body["events"][0]["message"] == "env holds ***"
    assert body["events"][0]["reason"] == "BackOff" and body["eventsProblem"] is None
    assert DB_SECRET not in json.dumps(body)


def test_a_secrets_string_data_value_in_base64_as_the_api_server_stores_it_is_masked() -> None:
    stored = base64.b64encode(PIN.encode()).decode()
    stored_long = base64.b64encode(b"hunter2-battery-staple").decode()
    shown = masked_view()
    shown = dataclasses.replace(
        shown,
        rendered=rendered(
            shown.key,
            secret(pin=PIN, password="hunter2-battery-staple"),
            values=shown.rendered.values if shown.rendered is not None else {},
        ),
    )
    events: list[JsonObject] = [
        {
            "time": "2026-12-07T02:00:01Z",
            "type": "Warning",
            "reason": "Denied",
            "object": "Secret/db",
            "message": f"policy denied data.password={stored_long} data.pin={stored}",
            "count": 1,
        }
    ]
    body: Any = release_detail(shown, events=events)
    assert body["events"][0]["message"] == "policy denied data.password=*** data.pin=***"


def test_another_releases_secret_value_the_cluster_quotes_is_masked_in_list_and_detail() -> None:
    """web's pod reads db's Secret and dies saying its value: web renders no such Secret,
    the pass does."""
    other = "db-password-7d0c41f9"
    said = f"container web: login failed for {other} ({base64.b64encode(other.encode()).decode()})"
    key = release_key("shop", "web")
    applied = status(key)
    health = dataclasses.replace(applied.health, state=ReleaseState.DEGRADED, message=said)
    shown = dataclasses.replace(
        view(),
        status=dataclasses.replace(applied, health=health),
        secrets_of_pass=PassSecrets({other, "4711"}),
    )
    events: list[JsonObject] = [
        {
            "time": "2026-12-07T02:00:01Z",
            "type": "Warning",
            "reason": "BackOff",
            "object": "Pod/web-1",
            "message": said,
            "count": 1,
        }
    ]
    masked = "container web: login failed for *** (***)"
    summary: Any = release_list([shown], {})["releases"]
    detail: Any = release_detail(shown, events=events)
    assert summary[0]["message"] == masked
    assert detail["message"] == masked and detail["events"][0]["message"] == masked
    assert other not in json.dumps([summary, detail])
    assert detail["outputs"] == {"port": 9092}, "a short value is no long secret's piece"
