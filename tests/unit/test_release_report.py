"""A release's report said in one line: the outcome, the seconds it took when the pass
worked on it, what changed and why; the log and the CLI print this after its name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reconciler.diff import Action, ChangeSet, ObjectChange
from reconciler.objects import ObjectRef
from reconciler.outcome import Failure
from reconciler.reconcile import Outcome, ReleaseReport
from reconciler.reconcile.report import NextAttempt
from reconciler.types import ReleaseKey

KEY = ReleaseKey("shop/web")
CREATED = ChangeSet(
    KEY, (ObjectChange(ObjectRef("v1", "ConfigMap", "shop", "a"), Action.CREATED, "new"),)
)


@pytest.mark.parametrize(
    ("report", "line"),
    [
        (
            ReleaseReport(KEY, Outcome.APPLIED, "all 1 resources Ready", CREATED, seconds=1.24),
            "Applied (1.2s): 1 created; all 1 resources Ready",
        ),
        (
            ReleaseReport(KEY, Outcome.INVALID, "releases/shop/web.yaml:3: bad"),
            "Invalid: releases/shop/web.yaml:3: bad",
        ),
        (ReleaseReport(KEY, Outcome.UNCHANGED, seconds=0.04), "Unchanged (0.0s)"),
        (
            ReleaseReport(KEY, Outcome.FAILED, "chart web: bad", failure=Failure.PERMANENT),
            "Failed: chart web: bad [permanent]",
        ),
        (
            ReleaseReport(
                KEY,
                Outcome.FAILED,
                "not Ready",
                failure=Failure.TEMPORARY,
                next_attempt=NextAttempt(datetime(2026, 12, 6, 17, 40, 12, tzinfo=UTC)),
            ),
            "Failed: not Ready [temporary: retrying at 17:40:12Z]",
        ),
    ],
)
def test_a_report_describes_its_outcome_time_changes_and_reason(
    report: ReleaseReport, line: str
) -> None:
    assert report.describe() == line


def test_the_seconds_are_in_the_json_only_when_the_pass_worked_on_the_release() -> None:
    assert ReleaseReport(KEY, Outcome.BLOCKED, "why").to_json() == {
        "release": KEY,
        "outcome": "Blocked",
        "message": "why",
    }
    assert ReleaseReport(KEY, Outcome.UNCHANGED, seconds=0.12345).to_json()["seconds"] == 0.123
