"""One outcome vocabulary: the review, the inventory record and the Events speak the words
of `reconciler.outcome`, and fail on its one definition of failing."""

from __future__ import annotations

import json

import pytest

from reconciler.apply.inventory import (
    InventoryRecord,
    last_result,
    record_from_configmap,
)
from reconciler.health import ReleaseState
from reconciler.loop.events import DRIFT_CORRECTED, EVENTFUL, release_notices
from reconciler.outcome import FAILING, Outcome
from reconciler.reconcile import ReleaseReport
from reconciler.review.model import FAILING as REVIEW_FAILING
from reconciler.review.model import NOT_RENDERED, ReleaseChange
from reconciler.types import ReleaseKey

WEB = ReleaseKey("shop/web")

DESIGN_EVENT_VOCABULARY = frozenset(
    {
        "Applied",
        "Ready",
        "Progressing",
        "Degraded",
        "Failed",
        "Blocked",
        "Invalid",
        "Removed",
        "RemovalWithheld",
        "DriftCorrected",
        "Paused",
        "Resumed",
        "SecretWarning",
    }
)
"""DESIGN.md's one event vocabulary for release state changes (a contract: not changed here)."""


def test_the_review_names_a_release_it_does_not_render_by_the_outcome_of_a_pass() -> None:
    assert {change.outcome for change in NOT_RENDERED} == FAILING
    for change in NOT_RENDERED:
        assert change.outcome is not None
        assert change.value == change.outcome.value.lower()
        assert ReleaseChange.not_rendered(change.outcome) is change


@pytest.mark.parametrize(
    "change",
    [ReleaseChange.ADDED, ReleaseChange.REMOVED, ReleaseChange.CHANGED, ReleaseChange.UNCHANGED],
)
def test_a_change_of_the_diff_stands_for_no_outcome(change: ReleaseChange) -> None:
    assert change.outcome is None


@pytest.mark.parametrize(
    "outcome", [Outcome.APPLIED, Outcome.UNCHANGED, Outcome.PLANNED, Outcome.REMOVED]
)
def test_an_outcome_of_a_release_that_rendered_is_no_review_problem(outcome: Outcome) -> None:
    assert ReleaseChange.not_rendered(outcome) is None


def test_the_review_fails_on_the_one_definition_of_failing_but_for_blocked() -> None:
    assert {change.outcome for change in REVIEW_FAILING} == FAILING - {Outcome.BLOCKED}
    assert ReleaseChange.BLOCKED in NOT_RENDERED and ReleaseChange.BLOCKED not in REVIEW_FAILING


def test_the_inventory_result_is_the_outcome_word_a_previous_version_wrote() -> None:
    assert last_result(Outcome.APPLIED) == "Applied"
    assert last_result(Outcome.FAILED, "Deployment shop/web is Pending") == (
        "Failed: Deployment shop/web is Pending"
    )


@pytest.mark.parametrize("result", ["Applied", "Applying", "Failed: hook shop/migrate failed"])
def test_a_record_written_by_the_previous_version_reads_with_its_result(result: str) -> None:
    written = {
        "release": WEB,
        "source": "https://git.example/shop.git",
        "revision": "abc",
        "input_hash": "sha256:x",
        "entries": [],
        "result": result,
        "time": "2026-03-01T12:00:00+00:00",
    }
    configmap = InventoryRecord(WEB, "", "", "", ()).to_configmap()
    configmap["data"] = {"inventory.json": json.dumps(written)}

    assert record_from_configmap(configmap).result == result


def test_the_outcomes_events_name_and_the_release_states_are_words_of_the_design_contract() -> None:
    assert {str(outcome) for outcome in EVENTFUL} <= DESIGN_EVENT_VOCABULARY
    assert {str(state) for state in ReleaseState} <= DESIGN_EVENT_VOCABULARY
    assert DRIFT_CORRECTED in DESIGN_EVENT_VOCABULARY


@pytest.mark.parametrize("outcome", sorted(EVENTFUL))
def test_an_event_of_an_outcome_is_named_by_the_outcome(outcome: Outcome) -> None:
    notices = release_notices(ReleaseReport(WEB, outcome, "why"), revision="abc")

    assert [notice.reason for notice in notices] == [str(outcome)]


def test_a_record_names_the_replica_that_applied_it_only_under_sharding() -> None:
    plain = InventoryRecord(WEB, "", "", "", ()).to_configmap()
    sharded = InventoryRecord(WEB, "", "", "", (), applied_by="shard-a").to_configmap()

    assert "applied_by" not in plain["data"]["inventory.json"]  # type: ignore[index]
    assert record_from_configmap(plain).applied_by == ""
    assert record_from_configmap(sharded).applied_by == "shard-a"
