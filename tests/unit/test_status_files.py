"""The status report files: one YAML per release and the README, from plain values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from reconciler.apply.inventory import InventoryEntry, InventoryRecord
from reconciler.diff import Action, ChangeSet, ObjectChange
from reconciler.health import PodState, PodStatus, ReleaseHealth, ReleaseState, ResourceState, State
from reconciler.objects import ObjectRef
from reconciler.reconcile import Outcome, ReleaseReport
from reconciler.reconcile.report import NextAttempt
from reconciler.status.files import (
    README_PATH,
    SYNC_STATES,
    SourceState,
    StatusEntry,
    status_files,
)
from reconciler.status.live import ReleaseStatus
from reconciler.types import ReleaseKey

WEB = ReleaseKey("shop/web")
DB = ReleaseKey("shop/db")
REVISION = "0123456789abcdef0123456789abcdef01234567"
NEXT_REVISION = "fedcba9876543210fedcba9876543210fedcba98"
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
READY_MESSAGE = "all 2 resources are Ready"


def live(
    key: ReleaseKey = WEB,
    *,
    state: ReleaseState = ReleaseState.READY,
    message: str = READY_MESSAGE,
    outputs: Mapping[str, str | int] | None = None,
) -> ReleaseStatus:
    record = InventoryRecord(
        release=key,
        source="https://git.example/shop.git",
        revision=REVISION,
        input_hash="sha256:inputhash",
        entries=(
            InventoryEntry(ObjectRef("apps/v1", "Deployment", "shop", "web"), digest="sha256:d1"),
            InventoryEntry(ObjectRef("v1", "Secret", "shop", "web-password"), digest="sha256:d2"),
        ),
        outputs=dict(outputs or {"host": "web.shop.svc", "port": 8080}),
        dependency_outputs={"database": {"release": "shop/db", "outputs": {"host": "db.shop"}}},
        result="Applied",
        time="2026-03-01T11:59:00+00:00",
        ready_since="2026-03-01T11:59:30+00:00",
    )
    pod = PodState("web-7d9f-abcde", "node-1", "Running", PodStatus.READY, ready="1/1")
    resources = (
        ResourceState("Secret", "shop", "web-password", State.READY),
        ResourceState("Deployment", "shop", "web", State.READY, pods=(pod,)),
    )
    return ReleaseStatus(record, ReleaseHealth(state, message, resources))


def report(
    outcome: Outcome,
    message: str = READY_MESSAGE,
    key: ReleaseKey = WEB,
    *actions: Action,
) -> ReleaseReport:
    """The pass's report; with `actions`, a change set of one ConfigMap per action."""
    changes = tuple(
        ObjectChange(ObjectRef("v1", "ConfigMap", "shop", f"object-{index}"), action, "why")
        for index, action in enumerate(actions)
    )
    return ReleaseReport(key, outcome, message, ChangeSet(key, changes) if actions else None)


def files(
    *entries: StatusEntry,
    previous: Mapping[str, str] | None = None,
    now: datetime = NOW,
    revision: str = REVISION,
    dependencies: Mapping[ReleaseKey, Sequence[ReleaseKey]] | None = None,
    source: SourceState | None = None,
) -> dict[str, str]:
    return status_files(
        entries,
        revision=revision,
        dependencies=dependencies or {},
        previous=previous or {},
        now=now,
        source=source,
    )


def web_file(result: Mapping[str, str]) -> dict[str, object]:
    document = yaml.safe_load(result["status/shop/web.yaml"])
    assert isinstance(document, dict)
    return document


def test_a_ready_release_is_written_with_every_field_in_order() -> None:
    result = files(StatusEntry(WEB, live(), report(Outcome.APPLIED)))

    document = web_file(result)
    assert list(document) == [
        "apiVersion",
        "kind",
        "name",
        "namespace",
        "state",
        "message",
        "lastTransitionTime",
        "revision",
        "sync",
        "resources",
        "dependencies",
        "outputs",
    ]
    assert document["apiVersion"] == "harmonia.dev/v1alpha1"
    assert document["kind"] == "ReleaseStatus"
    assert (document["name"], document["namespace"]) == ("web", "shop")
    assert (document["state"], document["message"]) == ("Ready", READY_MESSAGE)
    assert document["lastTransitionTime"] == "2026-03-01T12:00:00Z"
    assert document["revision"] == REVISION
    assert document["sync"] == {"revision": REVISION, "state": "Synced", "message": ""}
    assert document["resources"][1]["pods"][0]["name"] == "web-7d9f-abcde"  # type: ignore[index]
    assert document["dependencies"] == {
        "database": {"release": "shop/db", "outputs": {"host": "db.shop"}}
    }
    assert document["outputs"] == {"host": "web.shop.svc", "port": 8080}
    assert set(result) == {"status/shop/web.yaml", README_PATH}


def test_the_same_input_a_pass_later_gives_byte_identical_files() -> None:
    entry = StatusEntry(WEB, live(), report(Outcome.UNCHANGED))
    first = files(entry)

    second = files(entry, previous=first, now=NOW + timedelta(minutes=5))

    assert second == first


def test_the_transition_time_is_carried_while_the_state_holds() -> None:
    first = files(StatusEntry(WEB, live(), report(Outcome.APPLIED)))

    later = files(
        StatusEntry(WEB, live(message="all 2 resources are Ready"), report(Outcome.UNCHANGED)),
        previous=first,
        now=NOW + timedelta(hours=1),
    )

    assert web_file(later)["lastTransitionTime"] == "2026-03-01T12:00:00Z"


def test_the_transition_time_moves_to_now_when_the_state_changes() -> None:
    first = files(StatusEntry(WEB, live(), report(Outcome.APPLIED)))
    degraded = live(state=ReleaseState.DEGRADED, message="Deployment shop/web is Pending")

    later = files(
        StatusEntry(WEB, degraded, None), previous=first, now=NOW + timedelta(hours=1, seconds=7)
    )

    assert web_file(later)["state"] == "Degraded"
    assert web_file(later)["lastTransitionTime"] == "2026-03-01T13:00:07Z"


def test_an_applied_pass_and_the_unchanged_pass_after_it_write_the_same_files() -> None:
    applied = files(StatusEntry(WEB, live(), report(Outcome.APPLIED)))

    unchanged = files(
        StatusEntry(WEB, live(), report(Outcome.UNCHANGED)),
        previous=applied,
        now=NOW + timedelta(minutes=1),
    )

    assert unchanged == applied


def test_a_synced_message_keeps_what_the_pass_did_besides_the_health() -> None:
    message = f"drift corrected: Deployment shop/web spec.replicas; {READY_MESSAGE}"

    result = files(StatusEntry(WEB, live(), report(Outcome.APPLIED, message)))

    assert web_file(result)["sync"] == {
        "revision": REVISION,
        "state": "Synced",
        "message": "drift corrected: Deployment shop/web spec.replicas",
    }


def test_an_invalid_release_keeps_its_live_state_and_shows_the_invalid_sync() -> None:
    problem = "its file is invalid; it keeps running as it was"

    result = files(
        StatusEntry(WEB, live(), report(Outcome.INVALID, problem)), revision=NEXT_REVISION
    )

    document = web_file(result)
    assert (document["state"], document["message"]) == ("Ready", READY_MESSAGE)
    assert document["revision"] == REVISION
    assert document["sync"] == {"revision": NEXT_REVISION, "state": "Invalid", "message": problem}


@pytest.mark.parametrize(
    ("outcome", "state", "sync"),
    [
        (Outcome.FAILED, "Failed", "Failed"),
        (Outcome.INVALID, "Failed", "Invalid"),
        (Outcome.BLOCKED, "Blocked", "Blocked"),
        (Outcome.PLANNED, "Progressing", "OutOfSync"),
    ],
)
def test_a_release_never_applied_takes_its_state_and_message_from_the_pass(
    outcome: Outcome, state: str, sync: str
) -> None:
    result = files(StatusEntry(WEB, None, report(outcome, "chart not found")))

    document = web_file(result)
    assert (document["state"], document["message"]) == (state, "chart not found")
    assert document["revision"] is None
    assert document["sync"] == {"revision": REVISION, "state": sync, "message": "chart not found"}
    assert (document["resources"], document["dependencies"], document["outputs"]) == ([], {}, {})


def test_a_removed_release_and_one_no_longer_listed_have_no_file() -> None:
    before = files(StatusEntry(WEB, live(), None), StatusEntry(DB, live(DB), None))
    assert {"status/shop/web.yaml", "status/shop/db.yaml"} <= set(before)

    after = files(StatusEntry(DB, None, report(Outcome.REMOVED, key=DB)), previous=before)

    assert set(after) == {README_PATH}
    assert "shop/web" not in after[README_PATH] and "shop/db" not in after[README_PATH]


def test_a_release_not_in_the_pass_has_no_sync() -> None:
    result = files(StatusEntry(WEB, live(), None))

    assert web_file(result)["sync"] is None
    assert "| shop/web | Ready | - |" in result[README_PATH]


@pytest.mark.parametrize(
    "previous_text",
    [
        "state: [unclosed\n",
        "just a string\n",
        "state: Ready\nlastTransitionTime: yesterday\n",
        "state: Ready\nlastTransitionTime: 17\n",
    ],
)
def test_an_unreadable_previous_file_is_ignored(previous_text: str) -> None:
    result = files(StatusEntry(WEB, live(), None), previous={"status/shop/web.yaml": previous_text})

    assert web_file(result)["lastTransitionTime"] == "2026-03-01T12:00:00Z"


def test_the_readme_lists_every_release_sorted_with_a_short_revision() -> None:
    failing = live(DB, state=ReleaseState.FAILED, message="StatefulSet shop/db is Failed: a | b")

    text = files(
        StatusEntry(WEB, live(), report(Outcome.UNCHANGED)),
        StatusEntry(DB, failing, report(Outcome.FAILED, "timed out", key=DB)),
    )[README_PATH]

    assert text.startswith("# Release status\n")
    assert f"`{REVISION}`" in text
    rows = [line for line in text.splitlines() if line.startswith("| shop/")]
    assert rows == [
        "| shop/db | Failed | Failed | `0123456789ab` | StatefulSet shop/db is Failed: a \\| b |",
        f"| shop/web | Ready | Synced | `0123456789ab` | {READY_MESSAGE} |",
    ]


def test_the_graph_draws_dependency_to_dependent_and_colours_nodes_by_state() -> None:
    kafka = ReleaseKey("streaming/kafka")
    zookeeper = ReleaseKey("streaming/zookeeper")
    external = ReleaseKey("infra/registry")
    progressing = live(kafka, state=ReleaseState.PROGRESSING, message="Pending")

    text = files(
        StatusEntry(kafka, progressing, report(Outcome.APPLIED, key=kafka)),
        StatusEntry(zookeeper, live(zookeeper), report(Outcome.UNCHANGED, key=zookeeper)),
        dependencies={kafka: [zookeeper, external], zookeeper: []},
    )[README_PATH]

    graph = text.split("```mermaid\n", 1)[1].split("```", 1)[0].splitlines()
    assert graph[0] == "graph LR"
    assert '  r_streaming_2f_kafka["streaming/kafka"]' in graph
    assert '  r_infra_2f_registry["infra/registry"]' in graph
    assert "  r_streaming_2f_zookeeper --> r_streaming_2f_kafka" in graph
    assert "  r_infra_2f_registry --> r_streaming_2f_kafka" in graph
    assert "  classDef Ready fill:#d3f9d8,stroke:#2b8a3e,color:#000" in graph
    assert "  class r_streaming_2f_zookeeper Ready" in graph
    assert "  class r_streaming_2f_kafka Progressing" in graph
    assert not any("r_infra_2f_registry" in line for line in graph if line.startswith("  class "))


def test_node_ids_differ_for_keys_that_differ_only_in_punctuation() -> None:
    dotted, dashed = ReleaseKey("a/b.c"), ReleaseKey("a/b-c")

    text = files(StatusEntry(dotted, live(dotted), None), StatusEntry(dashed, live(dashed), None))[
        README_PATH
    ]

    assert '  r_a_2f_b_2e_c["a/b.c"]' in text
    assert '  r_a_2f_b_2d_c["a/b-c"]' in text


def test_no_secret_value_reaches_a_status_file() -> None:
    result = files(StatusEntry(WEB, live(outputs={"url": "https://web.shop"}), None))

    text = result["status/shop/web.yaml"]
    assert web_file(result)["outputs"] == {"url": "https://web.shop"}
    for inventory_detail in ("sha256:", "inputhash", "values", "configValues", "data:"):
        assert inventory_detail not in text
    secret = next(r for r in web_file(result)["resources"] if r["kind"] == "Secret")  # type: ignore[attr-defined]
    assert set(secret) == {"kind", "namespace", "name", "state", "reason", "message"}


UNREACHABLE = "https://git.example/shop.git (branch main): remote unreachable: HTTP 500"


def test_a_stale_source_is_noted_in_every_release_file_and_in_the_readme() -> None:
    stale = SourceState(REVISION, stale=True, error=UNREACHABLE)

    result = files(
        StatusEntry(WEB, live(), report(Outcome.UNCHANGED)),
        StatusEntry(DB, None, report(Outcome.FAILED, "chart not found", key=DB)),
        source=stale,
    )

    for path in ("status/shop/web.yaml", "status/shop/db.yaml"):
        document = yaml.safe_load(result[path])
        assert document["source"] == {"revision": REVISION, "stale": True, "error": UNREACHABLE}
    assert web_file(result)["state"] == "Ready"
    assert (
        f"**Source stale**: the last fetch failed, so this pass ran on the last good revision "
        f"`{REVISION}`: {UNREACHABLE}\n"
    ) in result[README_PATH]


def test_a_fresh_source_writes_the_same_files_as_none() -> None:
    entry = StatusEntry(WEB, live(), report(Outcome.APPLIED))

    fresh = files(entry, source=SourceState(REVISION))

    assert fresh == files(entry)
    assert "source" not in web_file(fresh)
    assert "stale" not in fresh[README_PATH].lower()


def test_the_files_go_back_to_fresh_once_the_source_is_reachable_again() -> None:
    entry = StatusEntry(WEB, live(), report(Outcome.UNCHANGED))
    stale = files(entry, source=SourceState(REVISION, stale=True, error=UNREACHABLE))

    recovered = files(
        entry, previous=stale, now=NOW + timedelta(minutes=3), source=SourceState(REVISION)
    )

    assert recovered == files(entry)


def test_a_release_whose_removal_is_withheld_keeps_its_file_saying_so_pass_after_pass() -> None:
    why = "its file left Git; its removal is withheld (...) until confirmRemoval names shop/web"
    withheld = StatusEntry(WEB, live(), report(Outcome.REMOVAL_WITHHELD, why))
    first = files(withheld)
    document = web_file(first)
    assert (document["state"], document["message"]) == ("RemovalWithheld", why)
    assert document["sync"] == {"revision": REVISION, "state": "RemovalWithheld", "message": why}
    assert len(document["resources"]) == 2  # type: ignore[arg-type]
    assert "| shop/web | RemovalWithheld | RemovalWithheld |" in first[README_PATH]

    later = files(withheld, previous=first, now=NOW + timedelta(minutes=5))
    assert later == first


def test_a_release_waiting_out_its_backoff_keeps_the_sync_of_its_last_attempt() -> None:
    failing = live(state=ReleaseState.FAILED, message="Deployment shop/web is Pending")
    attempt = files(StatusEntry(WEB, failing, report(Outcome.FAILED, "not Ready in time")))
    deferred = report(
        Outcome.DEFERRED, "failed 3 times in a row; next attempt after 12:04:00Z (backoff 2m0s)"
    )
    waiting = files(
        StatusEntry(WEB, failing, deferred), previous=attempt, now=NOW + timedelta(minutes=1)
    )
    assert waiting == attempt


def test_a_release_deferred_before_any_attempt_says_deferred() -> None:
    deferred = report(Outcome.DEFERRED, "the reconciler is stopping")
    sync = web_file(files(StatusEntry(WEB, live(), deferred)))["sync"]
    assert sync == {
        "revision": REVISION,
        "state": "Deferred",
        "message": "the reconciler is stopping",
    }


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_has_a_sync_state_in_its_own_word_unless_it_says_synced_or_not(
    outcome: Outcome,
) -> None:
    expected = {
        Outcome.APPLIED: "Synced",
        Outcome.UNCHANGED: "Synced",
        Outcome.PLANNED: "OutOfSync",
    }.get(outcome, outcome.value)

    assert SYNC_STATES[outcome] == expected


def test_the_sync_block_counts_what_the_pass_created_configured_deleted_and_left_alone() -> None:
    applied = report(
        Outcome.APPLIED,
        READY_MESSAGE,
        WEB,
        Action.CREATED,
        Action.CONFIGURED,
        Action.CONFIGURED,
        Action.DELETED,
        Action.UNCHANGED,
        Action.SKIPPED,
    )

    sync = web_file(files(StatusEntry(WEB, live(), applied)))["sync"]

    assert sync == {
        "revision": REVISION,
        "state": "Synced",
        "message": "",
        "changes": {"created": 1, "configured": 2, "deleted": 1, "unchanged": 2},
    }


def test_a_failed_pass_counts_what_it_did_before_it_failed() -> None:
    failed = report(Outcome.FAILED, "not Ready in time", WEB, Action.CREATED, Action.SKIPPED)

    sync = web_file(files(StatusEntry(WEB, None, failed)))["sync"]

    assert sync == {
        "revision": REVISION,
        "state": "Failed",
        "message": "not Ready in time",
        "changes": {"created": 1, "configured": 0, "deleted": 0, "unchanged": 1},
    }


@pytest.mark.parametrize("outcome", [Outcome.INVALID, Outcome.BLOCKED])
def test_a_release_the_pass_did_not_reach_the_objects_of_has_no_counts(outcome: Outcome) -> None:
    sync = web_file(files(StatusEntry(WEB, live(), report(outcome, "see why"))))["sync"]

    assert isinstance(sync, dict) and "changes" not in sync


def test_the_quiet_pass_after_an_apply_keeps_its_counts_and_writes_the_same_files() -> None:
    applied = files(StatusEntry(WEB, live(), report(Outcome.APPLIED, "", WEB, Action.CREATED)))

    quiet = files(
        StatusEntry(WEB, live(), report(Outcome.UNCHANGED, "", WEB, Action.SKIPPED)),
        previous=applied,
        now=NOW + timedelta(minutes=1),
    )

    assert quiet == applied


@pytest.mark.parametrize(
    ("earlier", "revision", "later", "counts"),
    [
        # a new revision that changes nothing of the release
        (Outcome.APPLIED, NEXT_REVISION, Outcome.UNCHANGED, (0, 0, 0, 1)),
        # a hand edit put back at the same revision
        (Outcome.APPLIED, REVISION, Outcome.APPLIED, (0, 1, 0, 0)),
        # a release failing before, unchanged now
        (Outcome.FAILED, REVISION, Outcome.UNCHANGED, (0, 0, 0, 1)),
    ],
)
def test_a_pass_counts_its_own_objects_unless_it_only_found_nothing_to_change_again(
    earlier: Outcome, revision: str, later: Outcome, counts: tuple[int, ...]
) -> None:
    first = files(StatusEntry(WEB, live(), report(earlier, "", WEB, Action.CREATED)))
    action = Action.CONFIGURED if later is Outcome.APPLIED else Action.UNCHANGED

    second = files(
        StatusEntry(WEB, live(), report(later, "", WEB, action)),
        previous=first,
        revision=revision,
    )

    sync = web_file(second)["sync"]
    assert isinstance(sync, dict)
    names = ("created", "configured", "deleted", "unchanged")
    assert sync["changes"] == dict(zip(names, counts, strict=True))


def test_a_release_waiting_out_its_backoff_keeps_the_counts_of_its_last_attempt() -> None:
    attempt = files(
        StatusEntry(WEB, None, report(Outcome.FAILED, "not Ready in time", WEB, Action.CREATED))
    )
    deferred = report(Outcome.DEFERRED, "failed 3 times in a row; next attempt after 12:04:00Z")

    waiting = files(StatusEntry(WEB, None, deferred), previous=attempt)

    assert web_file(waiting)["sync"] == web_file(attempt)["sync"]


@pytest.mark.parametrize(
    ("next_attempt", "retry"),
    [
        (NextAttempt(None), "waiting for a change"),
        (NextAttempt(NOW + timedelta(seconds=40)), "retrying with backoff"),
    ],
    ids=["permanent", "temporary"],
)
def test_a_failed_release_says_whether_the_loop_retries_it_or_waits_for_a_change(
    next_attempt: NextAttempt, retry: str
) -> None:
    failing = ReleaseReport(
        WEB, Outcome.FAILED, "chart web: render failed", next_attempt=next_attempt
    )
    sync = web_file(files(StatusEntry(WEB, None, failing)))["sync"]
    assert sync == {
        "revision": REVISION,
        "state": "Failed",
        "message": "chart web: render failed",
        "retry": retry,
    }


def test_the_files_of_another_shards_releases_are_kept_as_they_are_and_in_the_readme() -> None:
    theirs = "apiVersion: harmonia.dev/v1alpha1\nkind: ReleaseStatus\nname: db\nnamespace: shop\n"
    theirs += "state: Ready\nmessage: written by another replica\nrevision: abc\n"
    theirs += "sync: {state: Synced}\n"
    edited = "name: cache\n"
    previous = {
        "status/shop/db.yaml": theirs,
        "status/shop/cache.yaml": edited,
        "status/shop/gone.yaml": "state: Ready\n",
    }

    result = status_files(
        [StatusEntry(WEB, live(), report(Outcome.APPLIED))],
        revision=REVISION,
        dependencies={},
        previous=previous,
        now=NOW,
        kept=[DB, ReleaseKey("shop/cache"), ReleaseKey("shop/never-written")],
    )

    assert set(result) == {
        "status/shop/web.yaml",
        "status/shop/db.yaml",
        "status/shop/cache.yaml",
        README_PATH,
    }
    assert (result["status/shop/db.yaml"], result["status/shop/cache.yaml"]) == (theirs, edited)
    assert "| shop/db | Ready | Synced |" in result[README_PATH]
    assert "shop/cache" not in result[README_PATH]
    assert "| shop/web | Ready |" in result[README_PATH]
