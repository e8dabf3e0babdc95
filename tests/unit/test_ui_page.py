"""The releases page of the web UI: rendered from the API's list, escaped, filtered, and
served by the real HTTP server with a strict Content-Security-Policy and its script."""

from __future__ import annotations

import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest

from reconciler.loop.metrics import Metrics
from reconciler.loop.server import Endpoints, ObservabilityServer
from reconciler.loop.ui import ASSET_PATHS, SCRIPT_PATH, PageQuery, page, releases_page
from reconciler.types import JsonObject

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def summary(namespace: str, name: str, state: str, message: str = "ok") -> JsonObject:
    return {
        "name": name,
        "namespace": namespace,
        "labels": {},
        "chart": None,
        "state": state,
        "message": message,
        "revision": "0123456789abcdef0123",
        "outcome": "Applied",
    }


RELEASES = [
    summary("shop", "web", "Ready"),
    summary("shop", "cart", "Failed", HOSTILE),
    summary("data", "kafka", "Ready"),
]


def listed(query: Mapping[str, str]) -> JsonObject:
    """The API's list provider for `RELEASES`, by namespace as the real one filters."""
    namespace = query.get("namespace")
    chosen = [item for item in RELEASES if namespace in (None, item["namespace"])]
    return {"releases": list(chosen), "count": len(chosen)}


class Tags(HTMLParser):
    """The start tags of a page, with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def rows_of(html: str) -> list[str | None]:
    return [attrs.get("data-release") for tag, attrs in tags_of(html) if tag == "tr"][1:]


def test_a_hostile_message_appears_escaped_and_adds_no_tag() -> None:
    html = releases_page(listed({}), PageQuery())

    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert HOSTILE not in html
    assert [tag for tag, _ in tags_of(html)].count("script") == 2
    assert not any(tag == "img" for tag, _ in tags_of(html))


def test_the_page_has_no_inline_script_and_every_url_stays_under_a_path_prefix() -> None:
    tags = tags_of(releases_page(listed({}), PageQuery()))

    scripts = [attrs for tag, attrs in tags if tag == "script"]
    assert scripts == [
        {"src": "ui/live.js", "defer": None},
        {"src": "ui/releases.js", "defer": None},
    ]
    named = ("src", "href", "action", "data-events")
    urls = [str(attrs[name]) for _, attrs in tags for name in named if name in attrs]
    prefix = "https://example.org/harmonia/"
    assert len(urls) == 9 + len(RELEASES) and all(
        urljoin(prefix, url).startswith(prefix) for url in urls
    )
    assert not any(name.startswith("on") for _, attrs in tags for name in attrs)


def test_the_state_filter_keeps_the_releases_in_that_state() -> None:
    html = releases_page(listed({}), PageQuery(state="Failed"))

    assert rows_of(html) == ["shop/cart"]
    assert "1 of 3 releases" in html
    assert '<option value="Failed" selected>' in html


def test_each_row_names_its_release_with_a_relative_link_to_its_page() -> None:
    html = releases_page(listed({}), PageQuery())

    links = [attrs["href"] for tag, attrs in tags_of(html) if tag == "a"][3:]
    assert links == ["releases/shop/web", "releases/shop/cart", "releases/data/kafka"]


def test_the_stream_the_script_reads_is_narrowed_to_the_filtered_namespace() -> None:
    html = releases_page(listed({"namespace": "shop"}), PageQuery(namespace="shop"))

    table = next(attrs for tag, attrs in tags_of(html) if tag == "table")
    assert table["data-events"] == "api/v1/events?namespace=shop"


@contextmanager
def serving(
    releases: Callable[[Mapping[str, str]], JsonObject],
    release: Callable[[str, str], JsonObject] = lambda namespace, name: {},
) -> Iterator[int]:
    """The real HTTP server of `harmonia run` on a free port, listing `releases` and
    detailing each with `release`."""
    endpoints = Endpoints(
        metrics=Metrics(), readiness=lambda: (True, ""), releases=releases, release=release
    )
    with ObservabilityServer("127.0.0.1:0", endpoints) as server:
        yield server.port


@pytest.fixture
def port() -> Iterator[int]:
    with serving(listed) as port:
        yield port


def get(port: int, path: str) -> tuple[int, Message, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
            return reply.status, reply.headers, reply.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read().decode()


def test_the_server_answers_the_page_at_the_root_with_a_strict_content_security_policy(
    port: int,
) -> None:
    status, headers, html = get(port, "/")

    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"].startswith("default-src 'self';")
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert rows_of(html) == ["shop/web", "shop/cart", "data/kafka"]
    assert HOSTILE not in html


def test_the_page_filters_by_namespace_and_state_from_its_query(port: int) -> None:
    _, _, html = get(port, "/?namespace=shop&state=Ready")

    assert rows_of(html) == ["shop/web"]


@pytest.mark.parametrize(
    ("query", "named"),
    [("?namespace=Not_A_Namespace", "namespace:"), ("?state=%3Cb%3E", "state:"), ("?x=1", " x ")],
)
def test_a_bad_filter_is_a_json_400_that_names_it(port: int, query: str, named: str) -> None:
    status, headers, body = get(port, f"/{query}")

    assert status == 400
    assert headers["Content-Type"] == "application/json"  # never rendered as a page
    assert named in body


@pytest.mark.parametrize(
    ("path", "media_type", "marker"),
    [
        ("/ui/live.js", "text/javascript", "new EventSource(url)"),
        ("/ui/releases.js", "text/javascript", "listenToReleases(table.dataset.events"),
        ("/ui/releases.css", "text/css", "border-collapse"),
        ("/ui/favicon.svg", "image/svg+xml", "<svg"),
    ],
)
def test_the_page_assets_are_served_from_the_package(
    port: int, path: str, media_type: str, marker: str
) -> None:
    status, headers, body = get(port, path)

    assert status == 200
    assert headers["Content-Type"].startswith(media_type)
    assert headers["Content-Security-Policy"].startswith("default-src 'self';")
    assert marker in body


def test_every_asset_is_package_data_of_the_wheel() -> None:
    root = Path(__file__).parents[2]
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["reconciler.loop"]
    package = root / "reconciler" / "loop"
    shipped = {path for glob in globs for path in package.glob(glob)}
    assert {package / "ui_static" / path.rpartition("/")[2] for path in ASSET_PATHS} <= shipped


def test_every_page_links_the_site_pages_relative_to_its_own_depth() -> None:
    top = page("Releases", SCRIPT_PATH, "<h1>Releases</h1>")
    below = page("Release shop/web", SCRIPT_PATH, "<h1>web</h1>", root="../../")
    assert '<a href="./" aria-current="page">Releases</a>' in top
    assert '<a href="graph">Dependency graph</a>' in top
    assert '<a href="../../">Releases</a>' in below
    assert '<a href="../../reconciler">Reconciler</a>' in below
    assert 'src="../../ui/releases.js"' in below
