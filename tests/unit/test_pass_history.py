"""The catalog's short history of each release's passes: newest first, bounded, and
forgetting the releases a whole pass no longer reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.diff.changeset import Action, ChangeSet, ObjectChange
from reconciler.loop.pass_history import KEPT_PASSES, PassHistory
from reconciler.objects import ObjectRef
from reconciler.outcome import Outcome
from reconciler.reconcile import PassReport, ReleaseReport
from reconciler.types import release_key

WEB = release_key("shop", "web")
DB = release_key("shop", "db")
START = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def pass_over(revision: str, *keys: str) -> PassReport:
    reports = {key: ReleaseReport(key, Outcome.UNCHANGED, "all Ready", seconds=0.5) for key in keys}
    return PassReport(revision, reports)  # type: ignore[arg-type]


def test_the_history_keeps_the_last_ten_passes_of_a_release_newest_first() -> None:
    history = PassHistory()
    for number in range(KEPT_PASSES + 3):
        history.record(
            pass_over(f"rev-{number}", WEB), time=START + timedelta(minutes=number), whole=True
        )

    lines = [line.to_json() for line in history.of(WEB)]
    assert len(lines) == KEPT_PASSES == 10
    assert [line["revision"] for line in lines] == [f"rev-{n}" for n in range(12, 2, -1)]
    assert lines[0] == {
        "time": "2026-12-07T02:12:00Z",
        "revision": "rev-12",
        "outcome": "Unchanged",
        "seconds": 0.5,
        "message": "all Ready",
    }


def test_a_whole_pass_forgets_releases_it_no_longer_reports_and_a_partial_one_does_not() -> None:
    history = PassHistory()
    history.record(pass_over("rev-1", WEB, DB), time=START, whole=True)
    history.record(pass_over("rev-2", WEB), time=START, whole=False)
    assert len(list(history.of(DB))) == 1 and len(list(history.of(WEB))) == 2

    history.record(pass_over("rev-3", WEB), time=START, whole=True)
    assert list(history.of(DB)) == []


def test_a_pass_line_says_what_changed_and_why() -> None:
    ref = ObjectRef("v1", "ConfigMap", "shop", "settings")
    changes = ChangeSet(WEB, (ObjectChange(ref, Action.CONFIGURED, "differs at /data"),))
    report = ReleaseReport(WEB, Outcome.APPLIED, "all 1 resources Ready", changes)
    history = PassHistory()
    history.record(PassReport("rev", {WEB: report}), time=START, whole=True)

    (line,) = history.of(WEB)
    assert line.to_json()["message"] == "1 configured; all 1 resources Ready"
    assert line.to_json()["seconds"] is None


def test_the_last_change_stays_through_passes_that_change_nothing_and_goes_with_the_release() -> (
    None
):
    ref = ObjectRef("v1", "ConfigMap", "shop", "settings")
    configured = ChangeSet(WEB, (ObjectChange(ref, Action.CONFIGURED, "differs at /data"),))
    skipped = ChangeSet(WEB, (ObjectChange(ref, Action.SKIPPED, "unchanged since the last apply"),))
    history = PassHistory()
    applied = ReleaseReport(WEB, Outcome.APPLIED, "", configured)
    history.record(PassReport("rev-1", {WEB: applied}), time=START, whole=True)
    for number in range(2, 5):
        quiet = ReleaseReport(WEB, Outcome.UNCHANGED, "", skipped)
        history.record(PassReport(f"rev-{number}", {WEB: quiet}), time=START, whole=True)

    change = history.last_change(WEB)
    assert change is not None and change.report is applied
    body = change.to_json()
    assert body["revision"] == "rev-1" and body["outcome"] == "Applied"
    assert body["changes"]["counts"]["configured"] == 1  # type: ignore[index,call-overload]

    history.record(PassReport("rev-5", {}), time=START, whole=True)
    assert history.last_change(WEB) is None
