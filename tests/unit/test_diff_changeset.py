"""The change set: one vocabulary of actions per object, counted and rendered as JSON."""

from __future__ import annotations

import json

import pytest

from reconciler.diff import CHANGING_ACTIONS, Action, ChangeSet, DiffText, ObjectChange
from reconciler.objects import ObjectRef
from reconciler.types import ReleaseKey

RELEASE = ReleaseKey("shop/web")


def change(
    name: str, action: Action, *, diff_text: str | None = None, changed_paths: tuple[str, ...] = ()
) -> ObjectChange:
    ref = ObjectRef(api_version="v1", kind="ConfigMap", namespace="shop", name=name)
    return ObjectChange(
        ref,
        action,
        f"because {name}",
        diff=DiffText.of(diff_text) if diff_text is not None else None,
        changed_paths=changed_paths,
    )


def test_the_vocabulary_is_fluxs_past_tense_for_every_verb() -> None:
    assert [action.value for action in Action] == [
        "created",
        "configured",
        "unchanged",
        "deleted",
        "skipped",
    ]
    assert {Action.CREATED, Action.CONFIGURED, Action.DELETED} == CHANGING_ACTIONS


def test_counts_name_every_action_in_order_zeros_included() -> None:
    changes = ChangeSet(
        RELEASE,
        (
            change("a", Action.CREATED),
            change("b", Action.UNCHANGED),
            change("c", Action.UNCHANGED),
            change("d", Action.SKIPPED),
        ),
    )
    assert list(changes.counts.items()) == [
        (Action.CREATED, 1),
        (Action.CONFIGURED, 0),
        (Action.UNCHANGED, 2),
        (Action.DELETED, 0),
        (Action.SKIPPED, 1),
    ]


@pytest.mark.parametrize(
    ("action", "has_changes"),
    [
        (Action.CREATED, True),
        (Action.CONFIGURED, True),
        (Action.DELETED, True),
        (Action.UNCHANGED, False),
        (Action.SKIPPED, False),
    ],
)
def test_only_created_configured_and_deleted_are_changes(action: Action, has_changes: bool) -> None:
    only = ChangeSet(RELEASE, (change("a", Action.UNCHANGED), change("b", action)))
    assert only.has_changes is has_changes
    assert change("c", action).is_change is has_changes


def test_an_empty_change_set_has_no_changes() -> None:
    empty = ChangeSet(RELEASE)
    assert not empty.has_changes
    assert empty.summary() == "no objects"
    assert set(empty.counts.values()) == {0}


def test_the_summary_counts_the_actions_taken_and_marks_a_dry_run() -> None:
    changes = (
        change("a", Action.CREATED),
        change("b", Action.UNCHANGED),
        change("c", Action.UNCHANGED),
    )
    assert ChangeSet(RELEASE, changes).summary() == "1 created, 2 unchanged"
    assert ChangeSet(RELEASE, changes, dry_run=True).summary() == "1 created, 2 unchanged (dry run)"


def test_an_object_change_reads_as_its_subject_and_action() -> None:
    assert str(change("a", Action.CONFIGURED)) == "ConfigMap/shop/a configured"


def test_the_json_form_keeps_the_order_and_every_field() -> None:
    changes = ChangeSet(
        RELEASE,
        (
            change(
                "b",
                Action.CONFIGURED,
                diff_text="--- live\n+++ desired\n",
                changed_paths=("/data/x",),
            ),
            change("a", Action.UNCHANGED),
        ),
        dry_run=True,
    )
    body = changes.to_json()
    assert body == {
        "release": "shop/web",
        "dryRun": True,
        "hasChanges": True,
        "counts": {"created": 0, "configured": 1, "unchanged": 1, "deleted": 0, "skipped": 0},
        "changes": [
            {
                "object": {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "namespace": "shop",
                    "name": "b",
                },
                "subject": "ConfigMap/shop/b",
                "action": "configured",
                "reason": "because b",
                "changedPaths": ["/data/x"],
                "diff": "--- live\n+++ desired\n",
            },
            {
                "object": {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "namespace": "shop",
                    "name": "a",
                },
                "subject": "ConfigMap/shop/a",
                "action": "unchanged",
                "reason": "because a",
            },
        ],
    }
    assert json.loads(json.dumps(body)) == body


def test_one_object_twice_in_a_change_set_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^release shop/web: ConfigMap/shop/a appears twice"):
        ChangeSet(RELEASE, (change("a", Action.CREATED), change("a", Action.UNCHANGED)))


def test_one_object_at_two_api_versions_is_still_one_object() -> None:
    first = ObjectChange(ObjectRef("autoscaling/v1", "HPA", "shop", "a"), Action.CREATED, "")
    second = ObjectChange(ObjectRef("autoscaling/v2", "HPA", "shop", "a"), Action.CREATED, "")
    with pytest.raises(ValueError, match="appears twice"):
        ChangeSet(RELEASE, (first, second))


def test_with_diffs_rewrites_each_diff_when_read_and_keeps_the_rest() -> None:
    read: list[str] = []

    def rewrite(text: str) -> str:
        read.append(text)
        return text.replace("hunter22", "***")

    changes = ChangeSet(
        RELEASE,
        (
            change("a", Action.CREATED, diff_text="+  password: hunter22\n"),
            change("b", Action.DELETED),
        ),
    )
    rewritten = changes.with_diffs(rewrite)
    assert read == [], "nothing is rewritten before a diff is read"
    assert [c.diff_text for c in rewritten.changes] == ["+  password: ***\n", None]
    assert [(c.ref, c.action, c.reason) for c in rewritten.changes] == [
        (c.ref, c.action, c.reason) for c in changes.changes
    ]
    assert rewritten.counts == changes.counts
