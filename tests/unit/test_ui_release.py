"""The web UI's page of one release: rendered from the API's detail (escaped, masked as the
API masks, every URL relative to its depth, no inline script) and served by the real HTTP
server at `releases/<namespace>/<name>`, with an HTML 404 for a release nobody knows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urljoin

import pytest

from reconciler.loop.api import release_detail
from reconciler.loop.errors import ApiError
from reconciler.loop.ui_release import missing_release_page, release_page
from reconciler.types import JsonObject
from tests.unit.test_api import DB_SECRET, masked_view
from tests.unit.test_ui_page import HOSTILE, get, serving, tags_of
from tests.unit.test_ui_page import listed as listed_releases


def kafka(message: str = "all 2 resources Ready") -> JsonObject:
    """The API's detail of streaming/kafka, taking zookeeper's addresses."""
    return {
        "name": "kafka",
        "namespace": "streaming",
        "chart": {"chartPath": "charts/kafka"},
        "state": "Progressing",
        "message": message,
        "revision": "0123456789abcdef0123",
        "outcome": "Applied",
        "lastResult": "Applied",
        "dependencies": {
            "zookeeper": {
                "release": "streaming/zookeeper",
                "outputs": {"zookeeper_addresses": "zk-0.zk:2181", "zookeeper_port": 2181},
            }
        },
        "outputs": {"kafka_brokers": "kafka-0.kafka:9092", "password": "***"},
        "resources": [
            {
                "kind": "StatefulSet",
                "namespace": "streaming",
                "name": "kafka",
                "state": "Pending",
                "reason": "PodRunning",
                "message": message,
                "pods": [
                    {
                        "name": "kafka-0",
                        "node": "node-a",
                        "phase": "Running",
                        "state": "Running",
                        "reason": "CrashLoopBackOff",
                        "message": "back-off 5m0s",
                        "ready": "0/1",
                        "restarts": 7,
                    }
                ],
            }
        ],
        "lastPass": {
            "release": "streaming/kafka",
            "outcome": "Applied",
            "message": message,
            "changes": {
                "counts": {"created": 1, "configured": 0, "unchanged": 1},
                "changes": [
                    {
                        "subject": "Secret/streaming/kafka-auth",
                        "action": "created",
                        "reason": "not in the cluster",
                        "diff": "+data:\n+  password: '***'\n",
                    },
                    {
                        "subject": "Service/streaming/kafka",
                        "action": "unchanged",
                        "reason": "matches the cluster",
                    },
                ],
            },
        },
        "lastChange": {
            "time": "2026-12-07T01:00:00Z",
            "revision": "fedcba9876543210",
            "outcome": "Applied",
            "seconds": 3.5,
            "message": "rolled",
            "changes": {
                "counts": {"created": 0, "configured": 1, "unchanged": 1},
                "changes": [
                    {
                        "subject": "ConfigMap/streaming/kafka",
                        "action": "configured",
                        "reason": "differs at /data/server.properties",
                        "diff": "-  zookeeper.connect: zk-0\n+  zookeeper.connect: zk-0,zk-1\n",
                    },
                    {
                        "subject": "Service/streaming/kafka-hl",
                        "action": "unchanged",
                        "reason": "matches the cluster",
                    },
                ],
            },
        },
        "recentPasses": [
            {
                "time": "2026-12-07T02:00:00Z",
                "revision": "0123456789ab",
                "outcome": "Applied",
                "seconds": 4.2,
                "message": message,
            }
        ],
        "events": [
            {
                "time": "2026-12-07T02:00:05Z",
                "type": "Warning",
                "reason": "BackOff",
                "object": "Pod/kafka-0",
                "message": message,
                "count": 3,
            }
        ],
        "eventsProblem": None,
    }


def test_the_page_shows_state_message_chart_resources_pods_passes_and_events() -> None:
    html = release_page(kafka())

    for shown in (
        'data-state="Progressing">Progressing</dd>',
        '<dd id="message">all 2 resources Ready</dd>',
        "charts/kafka",
        "0123456789abcdef0123",
        "CrashLoopBackOff",
        "7 restarts",
        "1 created, 1 unchanged",
        "Secret/streaming/kafka-auth: not in the cluster",
        "<pre>+data:\n+  password: &#x27;***&#x27;\n</pre>",
        "<td>BackOff</td><td>Pod/kafka-0</td>",
        "<td>2026-12-07T02:00:00Z</td><td>0123456789ab</td><td>Applied</td><td>4.2</td>",
    ):
        assert shown in html, shown


def test_the_last_change_lists_what_it_changed_with_its_diff() -> None:
    html = release_page(kafka())
    last_change = html[html.index('<div id="last-change">') :]
    last_change = last_change[: last_change.index("</div>")]

    assert (
        "2026-12-07T01:00:00Z, revision fedcba987654: Applied · 1 configured, 1 unchanged · rolled"
        in last_change
    )
    assert "ConfigMap/streaming/kafka: differs at /data/server.properties" in last_change
    assert "<pre>-  zookeeper.connect: zk-0\n+  zookeeper.connect: zk-0,zk-1\n</pre>" in last_change
    assert "kafka-hl" not in last_change


def test_a_release_with_no_change_yet_says_so() -> None:
    html = release_page({**kafka(), "lastChange": None})

    assert '<p id="last-change">None since this reconciler started.</p>' in html


def test_each_dependency_links_to_its_page_with_the_outputs_taken_and_outputs_published() -> None:
    html = release_page(kafka())

    link = next(
        attrs for tag, attrs in tags_of(html) if attrs.get("href", "").endswith("zookeeper")
    )
    assert link["href"] == "../../releases/streaming/zookeeper"
    assert '<th scope="row">zookeeper_addresses</th><td><code>zk-0.zk:2181</code>' in html
    assert '<th scope="row">zookeeper_port</th><td><code>2181</code>' in html
    assert '<th scope="row">password</th><td><code>***</code>' in html


def test_a_hostile_value_anywhere_appears_escaped_and_adds_no_tag() -> None:
    detail = kafka(HOSTILE)
    detail["outputs"] = {HOSTILE: HOSTILE}
    detail["lastPass"]["changes"]["changes"][0]["diff"] = HOSTILE  # type: ignore[index]
    html = release_page(detail)

    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    tags = [tag for tag, _ in tags_of(html)]
    assert tags.count("script") == 2 and "img" not in tags


def test_every_url_stays_under_a_path_prefix_and_no_script_or_style_is_inline() -> None:
    tags = tags_of(release_page(kafka()))

    scripts = [attrs for tag, attrs in tags if tag == "script"]
    assert scripts == [
        {"src": "../../ui/live.js", "defer": None},
        {"src": "../../ui/release.js", "defer": None},
    ]
    named = ("src", "href", "data-events")
    urls = [str(attrs[name]) for _, attrs in tags for name in named if name in attrs]
    page_address = "https://example.org/harmonia/releases/streaming/kafka"
    assert "../../api/v1/events?release=streaming/kafka" in urls
    assert all(
        urljoin(page_address, url).startswith("https://example.org/harmonia/") for url in urls
    )
    assert not any(tag == "style" for tag, _ in tags)
    assert not any(name == "style" or name.startswith("on") for _, attrs in tags for name in attrs)


def test_a_page_made_from_the_apis_detail_shows_secret_values_masked() -> None:
    event: JsonObject = {**kafka()["events"][0], "message": f"env holds {DB_SECRET}"}  # type: ignore[index]
    html = release_page(release_detail(masked_view(), events=[event]))

    assert DB_SECRET not in html
    assert "<td>env holds ***</td>" in html


def test_a_failure_to_read_events_shows_as_a_line_saying_so() -> None:
    detail = {
        **kafka(),
        "events": [],
        "eventsProblem": "Events of release streaming/kafka could not be read: forbidden",
    }
    html = release_page(detail)

    assert (
        '<p id="events-problem">Events of release streaming/kafka could not be read: forbidden</p>'
        in html
    )


def detail(namespace: str, name: str) -> JsonObject:
    if (namespace, name) == ("streaming", "kafka"):
        return kafka()
    raise ApiError(404, f"release {namespace}/{name}: not in this repository nor in the cluster")


@pytest.fixture
def port() -> Iterator[int]:
    with serving(listed_releases, detail) as port:
        yield port


def test_the_server_answers_a_release_page_with_its_policy_and_script(port: int) -> None:
    status, headers, html = get(port, "/releases/streaming/kafka")
    script_status, _, script = get(port, "/ui/release.js")

    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"].startswith("default-src 'self';")
    assert "<h1>streaming/kafka</h1>" in html
    assert script_status == 200 and "listenToReleases(release.dataset.events" in script


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/releases/streaming/nothing", "release streaming/nothing: not in this repository"),
        ("/releases/Bad_Ns/kafka", "release Bad_Ns/kafka: not a release name"),
        (
            "/releases/streaming/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            "no such route",
        ),
        (
            "/releases/streaming/%3Cscript%3Ealert(1)",
            "release streaming/&lt;script&gt;alert(1): not a release name",
        ),
    ],
)
def test_an_unknown_or_hostile_release_is_a_404_saying_so_that_injects_nothing(
    port: int, path: str, said: str
) -> None:
    status, headers, body = get(port, path)

    assert status == 404
    assert said in body
    if "no such route" in said:  # the guard's JSON answer: never rendered as a page
        assert headers["Content-Type"] == "application/json"
    else:
        assert "<script>" not in body
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert "<h1>Release not found</h1>" in body
        assert [tag for tag, _ in tags_of(body)].count("script") == 2


def test_the_missing_release_page_escapes_its_message() -> None:
    html = missing_release_page(f"release shop/{HOSTILE}: not found")

    assert HOSTILE not in html and "&lt;img src=x" in html
    assert json.dumps(HOSTILE) not in html
