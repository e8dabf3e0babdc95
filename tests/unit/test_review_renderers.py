"""The review as a pull-request comment, as text and as JSON: pure functions of a Review."""

from __future__ import annotations

import json

from reconciler.diff import ChangeSet
from reconciler.release_requests import Diagnostic
from reconciler.render.model import KubeObject
from reconciler.review import (
    DependencyChange,
    ReleaseChange,
    ReleaseReview,
    ResourceDelta,
    Review,
    RevisionName,
    render_json,
    render_markdown,
    render_text,
)
from reconciler.review.estimate import PodResources, Totals
from reconciler.review.renderers import COMMENT_MARKER
from reconciler.review.revisions import object_changes
from reconciler.types import ReleaseKey

ZOOKEEPER = ReleaseKey("streaming/zookeeper")
KAFKA = ReleaseKey("streaming/kafka")
WEB = ReleaseKey("shop/web")
BASE = RevisionName("origin/main", "0123456789abcdef0123456789abcdef01234567")
HEAD = RevisionName("HEAD", "fedcba9876543210fedcba9876543210fedcba98")


def config_map(name: str, **data: str) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "streaming"},
        "data": dict(data),
    }


def totals(cpu: float, memory: float, storage: float) -> Totals:
    return Totals(requests=PodResources(cpu, memory), storage_gib=storage)


def scaled() -> Review:
    """ZooKeeper scaled from 3 to 5, Kafka following through its outputs, web unchanged."""
    zookeeper = ReleaseReview(
        ZOOKEEPER,
        ReleaseChange.CHANGED,
        object_changes(
            ZOOKEEPER,
            (config_map("zookeeper", replicas="3"),),
            (config_map("zookeeper", replicas="5"),),
        ),
        request_changed=True,
        resources=ResourceDelta(totals(0.3, 768, 3), totals(0.5, 1280, 5)),
    )
    kafka = ReleaseReview(
        KAFKA,
        ReleaseChange.CHANGED,
        object_changes(
            KAFKA,
            (config_map("kafka", connect="zk-0"),),
            (config_map("kafka", connect="zk-0,zk-1"),),
        ),
        dependencies=(DependencyChange("zookeeper", ZOOKEEPER, ("zookeeper_addresses",)),),
        resources=ResourceDelta(totals(0.2, 512, 2), totals(0.2, 512, 2)),
    )
    web = ReleaseReview(
        WEB,
        ReleaseChange.UNCHANGED,
        object_changes(WEB, (config_map("web"),), (config_map("web"),)),
        resources=ResourceDelta(totals(0.1, 64, 0), totals(0.1, 64, 0)),
    )
    return Review(BASE, HEAD, (zookeeper, kafka, web), notes=("rendered for v1.36.3",))


def test_the_comment_opens_with_its_marker_and_names_both_revisions() -> None:
    comment = render_markdown(scaled())

    lines = comment.splitlines()
    assert lines[0] == COMMENT_MARKER
    assert "### Harmonia diff: `origin/main (0123456789ab)` → `HEAD (fedcba987654)`" in lines


def test_a_branch_name_with_backticks_html_and_a_mention_stays_code_in_the_title() -> None:
    hostile = RevisionName("a``b<details>@org/team", "")

    comment = render_markdown(Review(BASE, hostile, scaled().releases))

    title = "### Harmonia diff: `origin/main (0123456789ab)` → ``` a``b<details>@org/team ```"
    assert title in comment.splitlines()


def test_the_summary_table_has_a_row_per_changing_release_and_a_total() -> None:
    comment = render_markdown(scaled())

    assert (
        "| release | change | objects +/~/- | CPU (cores) | memory (MiB) | storage (GiB) |"
        in comment
    )
    assert (
        "| `streaming/zookeeper` | changed (its request changed) | +0 ~1 -0 | +0.2 | +512 | +2 |"
        in comment
    )
    assert (
        "| `streaming/kafka` | changed (the outputs of streaming/zookeeper change) "
        "| +0 ~1 -0 | 0 | 0 | 0 |"
    ) in comment
    assert (
        "| **total** |  | +0 ~2 -0 | +0.2 (0.6 → 0.8) | +512 (1344 → 1856) | +2 (5 → 7) |"
        in comment
    )
    assert "`shop/web`" not in comment
    assert "**2 changed**; 1 unchanged." in comment


def test_each_changing_release_has_a_collapsible_section_with_a_diff_fence() -> None:
    comment = render_markdown(scaled())

    assert comment.count("<details><summary>") == 2
    assert (
        "<details><summary><code>streaming/zookeeper</code>: changed (its request changed): "
        "1 configured; requests CPU +0.2 cores, memory +512 MiB, storage +2 GiB</summary>"
    ) in comment
    assert "```diff\n--- base v1 ConfigMap/streaming/zookeeper\n" in comment
    assert "-  replicas: '3'\n+  replicas: '5'\n```" in comment
    assert comment.count("</details>") == 2


def test_the_fan_out_is_explained_in_words() -> None:
    comment = render_markdown(scaled())
    text = render_text(scaled())

    assert (
        "`streaming/kafka` changes because the outputs of `streaming/zookeeper` change "
        "(`zookeeper_addresses`); its own file did not change."
    ) in comment
    assert (
        "# streaming/kafka changes because the outputs of streaming/zookeeper change "
        "(zookeeper_addresses); its own file did not change."
    ) in text.splitlines()


def test_validation_errors_are_listed_with_file_and_line() -> None:
    error = Diagnostic(
        "deploy/releases/kafka.yaml",
        12,
        14,
        "$.timeoutSec",
        "expected an integer",
        "remove the quotes",
    )
    review = Review(BASE, HEAD, (), diagnostics=(error,))

    comment = render_markdown(review)
    text = render_text(review)

    assert (
        "#### Validation errors\n\n```text\ndeploy/releases/kafka.yaml:12:14: expected an integer"
        in comment
    )
    assert ":x: The head does not pass validation" in comment
    assert (
        "deploy/releases/kafka.yaml:12:14: expected an integer ($.timeoutSec) remove the quotes"
        in text
    )


def test_a_failed_release_shows_its_message_open() -> None:
    failed = ReleaseReview(
        WEB, ReleaseChange.FAILED, ChangeSet(WEB), message="chart web: boom | <b>"
    )
    comment = render_markdown(Review(BASE, HEAD, (failed,)))

    assert "<details open><summary><code>shop/web</code>: failed</summary>" in comment
    assert "```text\nchart web: boom | <b>\n```" in comment
    assert "| `shop/web` | failed | +0 ~0 -0 | ? | ? | ? |" not in comment  # no estimates known
    assert "| `shop/web` | failed | +0 ~0 -0 |" in comment


def test_a_diff_holding_backticks_gets_a_longer_fence() -> None:
    review = Review(
        BASE,
        HEAD,
        (
            ReleaseReview(
                KAFKA,
                ReleaseChange.CHANGED,
                object_changes(
                    KAFKA,
                    (config_map("kafka", readme="a"),),
                    (config_map("kafka", readme="```sh\nrun\n```"),),
                ),
            ),
        ),
    )

    comment = render_markdown(review)

    assert "````diff\n" in comment and "\n````\n" in comment


def test_diffs_are_left_out_past_the_budget_but_every_release_is_still_listed() -> None:
    comment = render_markdown(scaled(), budget=1000)

    assert comment.count("<details><summary>") == 2
    assert "_Diffs left out: the comment would pass GitHub's size limit." in comment
    assert len(comment) < len(render_markdown(scaled()))


def test_a_thousand_changing_releases_and_problems_stay_under_githubs_limit() -> None:
    keys = [ReleaseKey(f"team-{index % 7}/release-{index:04d}") for index in range(1000)]
    releases = tuple(
        ReleaseReview(
            key,
            ReleaseChange.CHANGED,
            object_changes(key, (config_map("web", tag="1"),), (config_map("web", tag="2"),)),
        )
        for key in keys
    )
    problems = tuple(
        Diagnostic(f"releases/{key}.yaml", 1, 1, "$", "unknown field 'x'", "") for key in keys
    )

    comment = render_markdown(Review(BASE, HEAD, releases, diagnostics=problems))

    assert len(comment) < 65_536
    assert "| `team-0/release-0000` | changed (its chart or values files changed) |" in comment
    assert "more releases left out of this table: the comment would pass GitHub's" in comment
    assert "more problems left out: the comment would pass GitHub's size limit" in comment
    assert "more release sections left out: the comment would pass GitHub's" in comment


def test_nothing_to_show_prints_nothing_as_text_and_says_so_as_markdown() -> None:
    web = scaled().releases[2]
    review = Review(BASE, HEAD, (web,))

    assert render_text(review) == ""
    assert "**No differences**: every release renders the same at both sides." in render_markdown(
        review
    )


def test_json_carries_every_release_with_its_objects_and_resources() -> None:
    body = json.loads(render_json(scaled()))

    assert body["base"] == {"name": "origin/main", "commit": BASE.commit}
    assert body["hasChanges"] is True and body["failed"] is False
    kafka = body["releases"][1]
    assert kafka["change"] == "changed"
    assert kafka["dependencies"] == [
        {
            "alias": "zookeeper",
            "release": "streaming/zookeeper",
            "changedOutputs": ["zookeeper_addresses"],
        }
    ]
    assert kafka["objects"]["counts"]["configured"] == 1
    assert body["resources"]["delta"] == {"cpuCores": 0.2, "memoryMiB": 512, "storageGiB": 2}
