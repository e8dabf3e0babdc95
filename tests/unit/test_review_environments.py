"""The review over environments: the fan-out (release x environment), changes that are
the same in several environments said once, and the Markdown, text and JSON of it. Pure."""

from __future__ import annotations

import json

from reconciler.diff import ChangeSet
from reconciler.release_requests import Diagnostic
from reconciler.render.model import KubeObject
from reconciler.review import (
    EnvironmentReviews,
    ReleaseChange,
    ReleaseReview,
    Review,
    RevisionName,
    render_environments_json,
    render_environments_markdown,
    render_environments_text,
)
from reconciler.review.renderers import COMMENT_MARKER
from reconciler.review.revisions import object_changes
from reconciler.types import ReleaseKey

WEB = ReleaseKey("shop/web")
API = ReleaseKey("shop/api")
BASE = RevisionName("main", "0123456789abcdef0123456789abcdef01234567")
HEAD = RevisionName("promote", "fedcba9876543210fedcba9876543210fedcba98")
FIVE = ("dev", "qa", "staging", "prod-eu", "prod-us")


def config_map(**data: str) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "web", "namespace": "shop"},
        "data": dict(data),
    }


def changed(key: ReleaseKey, before: str, after: str) -> ReleaseReview:
    return ReleaseReview(
        key,
        ReleaseChange.CHANGED,
        object_changes(key, (config_map(tag=before),), (config_map(tag=after),)),
        request_changed=True,
    )


def unchanged(key: ReleaseKey) -> ReleaseReview:
    objects = (config_map(tag="1.0"),)
    return ReleaseReview(key, ReleaseChange.UNCHANGED, object_changes(key, objects, objects))


def reviews(*environments: tuple[str, tuple[ReleaseReview, ...]]) -> EnvironmentReviews:
    return EnvironmentReviews(
        BASE,
        HEAD,
        tuple((name, Review(BASE, HEAD, releases)) for name, releases in environments),
    )


def base_change_in_five() -> EnvironmentReviews:
    """web's base tag 1.0 -> 1.1: the same in dev, qa, staging; prod-eu's overlay pins its
    own tag (unchanged there); web is absent in prod-us; api changes in prod-eu only."""
    same = (changed(WEB, "1.0", "1.1"), unchanged(API))
    return reviews(
        ("dev", same),
        ("qa", same),
        ("staging", same),
        ("prod-eu", (unchanged(WEB), changed(API, "2.0", "2.1"))),
        ("prod-us", (unchanged(API),)),
    )


def test_the_fan_out_lists_each_changing_release_in_every_environment_it_is_in() -> None:
    table = base_change_in_five().fan_out()

    assert {
        key: {name: item.change for name, item in cells.items()} for key, cells in table.items()
    } == {
        WEB: {
            "dev": ReleaseChange.CHANGED,
            "qa": ReleaseChange.CHANGED,
            "staging": ReleaseChange.CHANGED,
            "prod-eu": ReleaseChange.UNCHANGED,
        },
        API: {
            "dev": ReleaseChange.UNCHANGED,
            "qa": ReleaseChange.UNCHANGED,
            "staging": ReleaseChange.UNCHANGED,
            "prod-eu": ReleaseChange.CHANGED,
            "prod-us": ReleaseChange.UNCHANGED,
        },
    }


def test_a_change_the_same_in_several_environments_is_one_shared_change() -> None:
    shared = base_change_in_five().shared_changes()

    assert [(item.release, item.environments) for item in shared] == [
        (WEB, ("dev", "qa", "staging")),
        (API, ("prod-eu",)),
    ]


def test_different_changes_of_one_release_are_kept_apart() -> None:
    found = reviews(
        ("dev", (changed(WEB, "1.0", "1.1"),)),
        ("prod", (changed(WEB, "1.0", "1.2"),)),
    ).shared_changes()

    assert [item.environments for item in found] == [("dev",), ("prod",)]


def test_a_release_unchanged_everywhere_is_not_in_the_fan_out() -> None:
    only_unchanged = reviews(("dev", (unchanged(WEB),)), ("prod", (unchanged(WEB),)))

    assert only_unchanged.fan_out() == {}
    assert not only_unchanged.has_changes
    assert render_environments_text(only_unchanged) == ""


def test_the_markdown_opens_with_a_release_by_environment_table_then_says_shared_changes_once() -> (
    None
):
    comment = render_environments_markdown(base_change_in_five())

    assert comment.startswith(COMMENT_MARKER + "\n\n### Harmonia diff: `main (0123456789ab)`")
    assert "| release | dev | qa | staging | prod-eu | prod-us |" in comment
    assert (
        "| `shop/web` | changed +0 ~1 -0 | changed +0 ~1 -0 | changed +0 ~1 -0 | unchanged | — |"
        in comment
    )
    assert (
        "| `shop/api` | unchanged | unchanged | unchanged | changed +0 ~1 -0 | unchanged |"
        in comment
    )
    assert "#### Same in dev, qa, staging" in comment and "#### In prod-eu" in comment
    assert comment.count("-  tag: '1.0'\n+  tag: '1.1'") == 1
    assert comment.index("Same in dev, qa, staging") < comment.index("In prod-eu")
    assert comment.count("<details>") == 2


def test_the_markdown_leaves_diffs_out_past_its_budget() -> None:
    comment = render_environments_markdown(base_change_in_five(), budget=500)

    assert "-  tag: '1.0'" not in comment
    assert "Diffs left out" in comment


def test_a_hostile_branch_name_stays_code_in_the_comments_title() -> None:
    hostile = RevisionName(
        "x`</code><details>@org/team", "fedcba9876543210fedcba9876543210fedcba98"
    )
    found = EnvironmentReviews(BASE, hostile, base_change_in_five().reviews)

    comment = render_environments_markdown(found)

    title = (
        "### Harmonia diff: `main (0123456789ab)` → "
        "`` x`</code><details>@org/team (fedcba987654) ``"
    )
    assert comment.splitlines()[2] == title


def test_the_markdown_of_five_environments_of_a_thousand_releases_stays_under_githubs_limit() -> (
    None
):
    keys = [ReleaseKey(f"team-{index % 7}/release-{index:04d}") for index in range(1000)]
    problems = tuple(
        Diagnostic(f"releases/{key}.yaml", 1, 1, "$", "unknown field 'x'", "") for key in keys
    )
    found = EnvironmentReviews(
        BASE,
        HEAD,
        tuple(
            (
                name,
                Review(
                    BASE,
                    HEAD,
                    tuple(changed(key, "1.0", f"1.1-{name}") for key in keys),
                    diagnostics=problems,
                ),
            )
            for name in FIVE
        ),
    )

    comment = render_environments_markdown(found)

    assert len(comment) < 65_536
    assert "| `team-0/release-0000` | changed +0 ~1 -0 |" in comment
    assert "more releases left out of this table: the comment would pass GitHub's" in comment
    assert "more problems left out: the comment would pass GitHub's size limit" in comment
    assert "more release sections left out: the comment would pass GitHub's" in comment
    assert comment.count("<details>") == comment.count("</details>")


def test_a_problem_found_in_some_environments_says_which_and_one_found_in_all_is_said_once() -> (
    None
):
    everywhere = Diagnostic("releases/shop/web.yaml", 3, 1, "$", "unknown field 'x'", "remove it")
    in_prod = Diagnostic("environments/prod/shop/web.yaml", 2, 3, "$", "environment prod: bad", "")
    empty = ChangeSet(WEB, dry_run=True)
    invalid = ReleaseReview(WEB, ReleaseChange.INVALID, empty, message="its file is invalid")
    found = EnvironmentReviews(
        BASE,
        HEAD,
        (
            ("dev", Review(BASE, HEAD, (invalid,), diagnostics=(everywhere,))),
            ("prod", Review(BASE, HEAD, (invalid,), diagnostics=(everywhere, in_prod))),
        ),
    )

    text = render_environments_text(found)
    assert text.count("releases/shop/web.yaml:3:1: unknown field 'x'") == 1
    assert "[prod] environments/prod/shop/web.yaml:2:3: environment prod: bad" in text
    assert found.failed
    assert ":x: The head does not pass validation or does not render in dev, prod." in (
        render_environments_markdown(found)
    )


def test_the_text_names_the_environments_of_each_change() -> None:
    text = render_environments_text(base_change_in_five())

    assert (
        "# release shop/web in dev, qa, staging: changed (its request changed): 1 configured"
        in (text)
    )
    assert "# release shop/api in prod-eu: changed" in text


def test_the_json_is_keyed_by_environment_and_lists_the_shared_changes() -> None:
    document = json.loads(render_environments_json(base_change_in_five()))

    assert list(document["environments"]) == list(FIVE)
    assert document["environments"]["prod-eu"]["releases"][1]["change"] == "changed"
    assert document["sameChanges"] == [
        {"release": "shop/web", "environments": ["dev", "qa", "staging"]},
        {"release": "shop/api", "environments": ["prod-eu"]},
    ]
    assert document["hasChanges"] is True and document["failed"] is False
