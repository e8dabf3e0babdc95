"""The reconciler page: built from `GET /api/v1/reconciler`'s body, escaped, each value in an
element naming its place in the body for the script, and served by the real HTTP server;
a server without a loop says so on the page and answers the API with 404."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urljoin

from reconciler.loop.metrics import Metrics
from reconciler.loop.server import Endpoints, ObservabilityServer
from reconciler.loop.ui import ASSET_PATHS, RECONCILER_SCRIPT_PATH
from reconciler.loop.ui_reconciler import NO_LOOP, found, reconciler_page, shown
from reconciler.types import JsonObject
from tests.unit.test_ui_page import HOSTILE, get, listed, tags_of

BODY: JsonObject = {
    "instance": "harmonia-0_ab12",
    "leading": True,
    "lease": {
        "namespace": "harmonia-system",
        "name": "harmonia-leader",
        "holder": "harmonia-0_ab12",
        "acquired": "2026-12-07T01:00:00Z",
        "renewed": "2026-12-07T02:00:00Z",
        "transitions": 2,
        "durationSeconds": 15,
    },
    "running": None,
    "lastPass": {
        "revision": "0123456789abcdef",
        "why": "push to main",
        "started": "2026-12-07T02:00:00Z",
        "finished": "2026-12-07T02:00:03Z",
        "seconds": 3.0,
        "problem": None,
        "outcomes": {"Applied": 1, "Failed": 1},
        "applied": ["shop/web"],
        "notApplied": [{"release": "shop/cart", "outcome": "Failed", "message": HOSTILE}],
    },
    "nextPass": {"at": "2026-12-07T02:01:00Z", "why": "the interval"},
    "errors": [{"time": "2026-12-07T02:00:03Z", "subject": "shop/cart", "message": HOSTILE}],
    "hooks": [
        {
            "time": "2026-12-07T02:00:00Z",
            "provider": "github",
            "event": "push",
            "status": 202,
            "answer": "accepted: a fetch and a full pass are asked for",
        }
    ],
    "notifications": [],
}


def field_texts(html: str) -> dict[str, str]:
    """Each `data-field` element's text (the page puts one value in each)."""
    texts: dict[str, str] = {}
    for part in html.split('data-field="')[1:]:
        path, _, rest = part.partition('">')
        texts[path] = rest.partition("</dd>")[0]
    return texts


def test_the_page_shows_the_leader_and_the_last_pass_where_the_script_finds_them() -> None:
    texts = field_texts(reconciler_page(BODY))

    assert texts["lease.holder"] == "harmonia-0_ab12"
    assert texts["leading"] == "yes"
    assert texts["lastPass.revision"] == "0123456789abcdef"
    assert texts["lastPass.outcomes"] == "Applied 1, Failed 1"
    assert texts["nextPass.why"] == "the interval"
    assert texts["running.since"] == ""


def test_a_hostile_message_in_an_error_is_escaped_and_adds_no_tag() -> None:
    html = reconciler_page(BODY)

    assert HOSTILE not in html
    assert "&lt;script&gt;" in html
    assert [tag for tag, _ in tags_of(html)].count("script") == 2
    assert not any(tag == "img" for tag, _ in tags_of(html))


def test_every_url_of_the_page_stays_under_a_path_prefix() -> None:
    tags = tags_of(reconciler_page(BODY))

    named = ("src", "href", "action", "data-events", "data-source")
    urls = [str(attrs[name]) for _, attrs in tags for name in named if name in attrs]
    prefix = "https://example.org/harmonia/"
    assert "api/v1/reconciler" in urls and "ui/reconciler.js" in urls
    assert all(urljoin(prefix, url).startswith(prefix) for url in urls)


def test_an_empty_list_shows_none_and_a_list_shows_its_columns_in_order() -> None:
    html = reconciler_page(BODY)

    notifications = html.partition('data-list="notifications"')[2].partition("</tbody>")[0]
    assert '<td colspan="3">none</td>' in notifications
    hooks = html.partition('data-list="hooks"')[2].partition("</tbody>")[0]
    assert "<td>github</td><td>push</td><td>202</td>" in hooks


def test_shown_and_found_read_a_body_as_the_script_does() -> None:
    assert shown(None) == "" and shown(False) == "no" and shown(3.5) == "3.5"
    assert shown(["a", "b"]) == "a, b"
    assert found(BODY, "lease.transitions") == 2
    assert found(BODY, "running.since") is None
    assert found(BODY, "lastPass.revision.deeper") is None


def test_a_page_without_a_loop_says_so() -> None:
    html = reconciler_page(None)

    assert NO_LOOP.replace("`", "") in html.replace("`", "")
    assert 'id="reconciler"' not in html


@contextmanager
def serving(reconciler: JsonObject | None) -> Iterator[int]:
    endpoints = Endpoints(
        metrics=Metrics(),
        readiness=lambda: (True, ""),
        releases=listed,
        release=lambda namespace, name: {},
        reconciler=None if reconciler is None else (lambda: reconciler),
    )
    with ObservabilityServer("127.0.0.1:0", endpoints) as server:
        yield server.port


def test_the_server_serves_the_body_the_page_and_its_script() -> None:
    with serving(BODY) as port:
        status, _, text = get(port, "/api/v1/reconciler")
        assert status == 200 and json.loads(text) == BODY
        status, headers, html = get(port, "/reconciler")
        assert status == 200 and "default-src 'self'" in headers["Content-Security-Policy"]
        assert field_texts(html)["lease.holder"] == "harmonia-0_ab12"
        status, headers, _ = get(port, RECONCILER_SCRIPT_PATH)
        assert status == 200 and headers["Content-Type"].startswith("text/javascript")
        assert RECONCILER_SCRIPT_PATH in ASSET_PATHS
        _, _, routes = get(port, "/api/v1")
        assert "GET /api/v1/reconciler" in json.loads(routes)["routes"]


def test_a_server_without_a_loop_answers_404_and_its_page_says_so() -> None:
    with serving(None) as port:
        status, _, text = get(port, "/api/v1/reconciler")
        assert status == 404
        assert json.loads(text)["error"] == "this server runs without a reconcile loop"
        status, _, html = get(port, "/reconciler")
        assert status == 200 and 'id="no-loop"' in html
