"""The web UI's dependency graph page: the layered layout, the SVG it draws (escaped, no
inline script or style), and the real HTTP server answering it at `/graph`."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urljoin

import pytest

from reconciler.loop.ui import PageQuery
from reconciler.loop.ui_graph import GraphLayout, graph_page, layered
from reconciler.types import JsonObject
from tests.unit.test_ui_page import HOSTILE, get, serving, summary, tags_of


def release(key: str, state: str, *depends_on: str, message: str = "ok") -> JsonObject:
    namespace, name = key.split("/")
    return {**summary(namespace, name, state, message), "dependsOn": list(depends_on)}


RELEASES = [
    release("data/zookeeper", "Ready"),
    release("data/kafka", "Blocked", "data/zookeeper", "data/schemas", message=HOSTILE),
    release("data/schemas", "Failed", "data/zookeeper"),
    release("shop/web", "Ready"),
]


def listed(_query: object = None) -> JsonObject:
    return {"releases": list(RELEASES), "count": len(RELEASES)}


def test_a_release_sits_one_layer_after_its_longest_path_of_dependencies() -> None:
    layout = layered({"a": [], "b": ["a"], "c": ["a", "b"]})

    assert layout == GraphLayout(
        layers=(("a",), ("b",), ("c",)), edges=(("a", "b"), ("a", "c"), ("b", "c"))
    )


def test_releases_of_a_layer_are_ordered_by_name_whatever_the_input_order() -> None:
    layout = layered({"z": [], "m": ["z"], "b": [], "a": ["b"]})

    assert layout.layers == (("b", "z"), ("a", "m"))


def test_a_dependency_that_is_not_shown_draws_no_edge_and_adds_no_layer() -> None:
    layout = layered({"shop/web": ["other/db"]})

    assert layout == GraphLayout(layers=(("shop/web",),), edges=())


def test_a_cycle_ends_with_its_releases_and_those_behind_it_in_one_last_layer() -> None:
    layout = layered({"a": ["b"], "b": ["a"], "c": ["a"], "d": [], "e": ["e"]})

    assert layout.layers == (("d",), ("a", "b", "c", "e"))
    assert layout.edges == (("a", "b"), ("a", "c"), ("b", "a"), ("e", "e"))


def test_each_edge_goes_from_the_dependency_to_the_dependent() -> None:
    tags = tags_of(graph_page(listed(), PageQuery()))

    edges = {(attrs["data-from"], attrs["data-to"]) for _, attrs in tags if "data-to" in attrs}
    assert {("data/zookeeper", "data/kafka"), ("data/schemas", "data/kafka")} <= edges
    assert ("data/zookeeper", "data/schemas") in edges
    boxes = [attrs["data-release"] for tag, attrs in tags if tag == "g"]
    assert sorted(boxes) == ["data/kafka", "data/schemas", "data/zookeeper", "shop/web"]


def test_a_blocked_release_names_the_dependency_that_blocks_it_and_why() -> None:
    html = graph_page(listed(), PageQuery())

    assert "data/kafka: Blocked by data/schemas: &lt;script&gt;" in html
    assert "waits for data/schemas</text>" in html


def test_a_hostile_message_appears_escaped_and_adds_no_tag_script_or_style() -> None:
    html = graph_page(listed(), PageQuery())
    tags = tags_of(html)

    assert HOSTILE not in html
    assert [attrs for tag, attrs in tags if tag == "script"] == [
        {"src": "ui/live.js", "defer": None},
        {"src": "ui/graph.js", "defer": None},
    ]
    assert not any(tag in {"img", "style"} for tag, _ in tags)
    assert not any(name == "style" or name.startswith("on") for _, attrs in tags for name in attrs)


def test_every_url_of_the_graph_page_stays_under_a_path_prefix() -> None:
    tags = tags_of(graph_page(listed(), PageQuery(namespace="data")))

    named = ("src", "href", "data-events")
    urls = [str(attrs[name]) for _, attrs in tags for name in named if name in attrs]
    prefix = "https://example.org/harmonia/"
    assert "api/v1/events?namespace=data" in urls and "./" in urls
    assert all(urljoin(f"{prefix}graph", url).startswith(prefix) for url in urls)


def test_each_box_links_to_its_release_page() -> None:
    tags = tags_of(graph_page(listed(), PageQuery()))

    links = [attrs["href"] for tag, attrs in tags if tag == "a"][3:]
    assert links == [
        "releases/data/kafka",
        "releases/data/schemas",
        "releases/data/zookeeper",
        "releases/shop/web",
    ]
    boxes = [tag for tag, attrs in tags if tag == "a" or attrs.get("class") == "release"][3:]
    assert boxes == ["a", "g"] * 4


@pytest.fixture
def port() -> Iterator[int]:
    with serving(listed) as port:
        yield port


def test_the_server_answers_the_graph_linked_from_the_releases_page_with_its_policy(
    port: int,
) -> None:
    status, headers, html = get(port, "/graph")
    _, _, releases = get(port, "/")
    script_status, _, script = get(port, "/ui/graph.js")

    assert status == 200
    assert headers["Content-Security-Policy"].startswith("default-src 'self';")
    assert 'data-release="data/kafka"' in html
    assert any(tag == "a" and attrs["href"] == "graph" for tag, attrs in tags_of(releases))
    assert script_status == 200 and "graph.querySelectorAll" in script


def taking(summary: JsonObject, *taken: tuple[str, str, list[str]]) -> JsonObject:
    entries = [{"alias": a, "release": r, "outputs": list(o)} for a, r, o in taken]
    return {**summary, "outputsTaken": entries}


def test_an_edge_is_labelled_with_the_names_of_the_outputs_the_dependent_takes() -> None:
    kafka = taking(
        release("data/kafka", "Ready", "data/zookeeper"),
        ("zk", "data/zookeeper", ["zookeeper_addresses", "zookeeper_port"]),
    )
    body: JsonObject = {"releases": [release("data/zookeeper", "Ready"), kafka]}

    tags = tags_of(graph_page(body, PageQuery()))

    labels = [attrs for tag, attrs in tags if tag == "text" and attrs.get("class") == "edge-label"]
    assert [(a["data-from"], a["data-to"]) for a in labels] == [("data/zookeeper", "data/kafka")]
    html = graph_page(body, PageQuery())
    assert "data/kafka takes from data/zookeeper: zookeeper_addresses, zookeeper_port" in html
    assert ">zookeeper_addresses, zookee…</text>" in html


def test_an_edge_without_outputs_taken_has_no_label() -> None:
    html = graph_page(listed(), PageQuery())

    assert "edge-label" not in html


def test_a_hostile_output_name_on_an_edge_is_escaped() -> None:
    kafka = taking(release("data/kafka", "Ready", "data/zk"), ("zk", "data/zk", [HOSTILE]))
    html = graph_page({"releases": [release("data/zk", "Ready"), kafka]}, PageQuery())

    assert HOSTILE not in html
    assert [tag for tag, _ in tags_of(html)].count("script") == 2
    assert not any(tag == "img" for tag, _ in tags_of(html))


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("state=Failed", "state: the dependency graph is not filtered by state"),
        ("labelSelector=team%3Ddata", "unknown query parameter labelSelector"),
    ],
)
def test_the_graph_refuses_a_filter_it_does_not_apply_with_a_json_400(
    port: int, query: str, named: str
) -> None:
    status, headers, body = get(port, f"/graph?{query}")

    assert status == 400
    assert headers["Content-Type"].startswith("application/json")
    assert named in body
