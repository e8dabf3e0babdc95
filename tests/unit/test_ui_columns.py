"""The releases page's Revision, Age and label filter: a revision links to its commit only
with the API's forge address, escaped and without credentials; ages are short, exact in a
`<time>`; the label selector goes to the API's list, which answers a malformed one."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urljoin

import pytest

from reconciler.loop.api import release_list
from reconciler.loop.ui import PageQuery, releases_page
from reconciler.loop.ui_columns import age_cell, revision_cell, short_age
from reconciler.types import JsonObject
from tests.unit.test_api import VIEWS
from tests.unit.test_ui_page import get, serving, tags_of

NOW = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("since", "shown"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=59), "59s"),
        (timedelta(seconds=60), "1m"),
        (timedelta(minutes=5, seconds=59), "5m"),
        (timedelta(hours=3, minutes=59), "3h"),
        (timedelta(hours=23, minutes=59), "23h"),
        (timedelta(days=2, hours=23), "2d"),
        (timedelta(days=400), "400d"),
        (timedelta(seconds=-30), "0s"),
    ],
)
def test_an_age_is_said_in_its_largest_whole_unit(since: timedelta, shown: str) -> None:
    assert short_age(since) == shown


def test_the_age_counts_from_the_install_and_the_exact_times_are_in_the_time_element() -> None:
    summary: JsonObject = {
        "installed": "2026-12-05T11:00:00Z",
        "lastApplied": "2026-12-07T11:55:00+00:00",
    }

    tags = tags_of(age_cell(summary, NOW))

    assert (
        "time",
        {
            "datetime": "2026-12-05T11:00:00Z",
            "title": ("installed 2026-12-05T11:00:00Z; last applied 2026-12-07T11:55:00+00:00"),
        },
    ) in tags
    assert ">2d</time>" in age_cell(summary, NOW)


def test_without_an_install_time_the_age_counts_from_the_last_apply() -> None:
    cell = age_cell({"installed": None, "lastApplied": "2026-12-07T11:55:00+00:00"}, NOW)

    assert ">5m</time>" in cell


@pytest.mark.parametrize("stamp", [None, "", "yesterday", '"><script>', "2026-12-07T11:55:00"])
def test_an_unknown_or_unreadable_time_leaves_the_age_blank(stamp: str | None) -> None:
    assert age_cell({"installed": stamp, "lastApplied": stamp}, NOW) == '<td class="age"></td>'


def test_a_revision_with_a_forge_address_links_to_it_safely() -> None:
    url = f"https://github.com/acme/shop/commit/{SHA}"

    tags = tags_of(revision_cell({"revision": SHA, "revisionUrl": url}))

    assert ("a", {"href": url, "rel": "noopener noreferrer"}) in tags
    assert ">0123456789ab</a>" in revision_cell({"revision": SHA, "revisionUrl": url})


@pytest.mark.parametrize(
    "url", [None, "", "javascript:alert(1)", "data:text/html,x", "//evil.example/x", "commit/x"]
)
def test_a_revision_without_an_http_address_is_plain_text(url: str | None) -> None:
    cell = revision_cell({"revision": SHA, "revisionUrl": url})

    assert "<a" not in cell
    assert ">0123456789ab</td>" in cell


def test_a_hostile_revision_and_address_are_escaped() -> None:
    url = 'https://github.com/a/b/commit/x" onmouseover="alert(1)'
    cell = revision_cell({"revision": "<script>", "revisionUrl": url})

    tags = tags_of(cell)
    assert [tag for tag, _ in tags] == ["td", "a"]
    assert tags[1][1]["href"] == url and "onmouseover" not in tags[1][1]
    assert "&lt;script&gt;" in cell


def test_the_only_absolute_urls_of_the_page_are_the_forge_links() -> None:
    url = f"https://github.com/acme/shop/commit/{SHA}"
    summary: JsonObject = {"name": "web", "namespace": "shop", "state": "Ready"}
    body: JsonObject = {"releases": [{**summary, "revision": SHA, "revisionUrl": url}]}

    tags = tags_of(releases_page(body, PageQuery(), now=NOW))

    hrefs = [str(attrs["href"]) for tag, attrs in tags if tag == "a"]
    prefix = "https://example.org/harmonia/"
    outside = [href for href in hrefs if not urljoin(prefix, href).startswith(prefix)]
    assert outside == [url]


def listed(query: Mapping[str, str]) -> JsonObject:
    """The API's own list over the API tests' releases: its filters and its 400s."""
    return release_list(VIEWS, query)


@pytest.fixture
def port() -> Iterator[int]:
    with serving(listed) as port:
        yield port


def rows(html: str) -> list[Any]:
    return [attrs.get("data-release") for tag, attrs in tags_of(html) if tag == "tr"][1:]


def test_the_label_filter_goes_to_the_api_list_and_narrows_the_rows(port: int) -> None:
    status, _headers, html = get(port, "/?labelSelector=" + quote("team=data"))

    assert status == 200
    assert rows(html) == ["data/kafka", "shop/db"]
    assert 'name="labelSelector" value="team=data"' in html


def test_the_label_filter_keeps_the_namespace_and_state_filters(port: int) -> None:
    query = "labelSelector=" + quote("team in (data,web)") + "&namespace=shop&state=Ready"
    _status, _headers, html = get(port, f"/?{query}")

    assert rows(html) == ["shop/db", "shop/web"]


def test_a_malformed_label_selector_is_the_api_400_naming_it(port: int) -> None:
    status, headers, body = get(port, "/?labelSelector=" + quote("team in ()"))

    assert status == 400
    assert headers["Content-Type"].startswith("application/json")
    assert "labelSelector: cannot parse" in body


def test_a_hostile_label_selector_is_escaped_in_the_form() -> None:
    selector = '"><script>alert(1)</script>'
    html = releases_page({"releases": []}, PageQuery(label_selector=selector), now=NOW)

    assert "<script>alert" not in html
    assert ("input", {"name": "labelSelector", "value": selector}) in [
        (tag, {k: v for k, v in attrs.items() if k != "placeholder"})
        for tag, attrs in tags_of(html)
    ]
