"""The error contract as the loop obeys it (loop/retries.py): a temporary failure is
retried with backoff and wants a pass when its backoff ends; a permanent one is held,
not attempted, until a new commit or new outputs of a dependency; Blocked follows its
dependency. Pure: the time is given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.loop.backoff import BackoffPolicy
from reconciler.loop.retries import Retries
from reconciler.outcome import Failure, Outcome
from reconciler.reconcile.report import NextAttempt, PassReport, ReleaseReport
from reconciler.reconcile.schedule import gate
from reconciler.render.model import DependedRelease
from reconciler.render.pipeline import ReleaseProblem
from reconciler.types import ReleaseKey

NOW = datetime(2026, 12, 6, 18, 0, 0, tzinfo=UTC)
WEB = ReleaseKey("shop/web")
DB = ReleaseKey("shop/db")
POLICY = BackoffPolicy(base=timedelta(seconds=10), cap=timedelta(seconds=40))


def outputs(host: str) -> dict[str, DependedRelease]:
    return {"db": DependedRelease(DB, {"host": host})}


def one_pass(
    retries: Retries,
    entry: ReleaseReport,
    *,
    depended: dict[str, DependedRelease],
    now: datetime = NOW,
    render_failed: bool = False,
) -> tuple[ReleaseProblem | None, ReleaseReport]:
    """The render's question, then the pass's report as the loop annotates it."""
    retries.begin_pass()
    held = retries.hold(entry.release, depended)
    report = PassReport("abc", {entry.release: retries.held().get(entry.release, entry)})
    failed = frozenset({entry.release}) if render_failed else frozenset()
    annotated = retries.after_pass(report, render_failed=failed, now=now)
    return held, annotated.releases[entry.release]


def render_failure() -> ReleaseReport:
    return ReleaseReport(WEB, Outcome.FAILED, "chart web: bad template", failure=Failure.PERMANENT)


def test_a_temporary_failure_is_retried_with_backoff_and_a_pass_is_due_when_it_ends() -> None:
    retries = Retries(POLICY)
    late = ReleaseReport(WEB, Outcome.FAILED, "not Ready", failure=Failure.TEMPORARY)

    _held, first = one_pass(retries, late, depended={})
    assert first.next_attempt == NextAttempt(NOW + timedelta(seconds=10))
    assert retries.next_due(NOW) == NOW + timedelta(seconds=10)
    assert WEB in retries.deferred(NOW + timedelta(seconds=5))
    assert retries.deferred(NOW + timedelta(seconds=10)) == {}

    _held, second = one_pass(retries, late, depended={}, now=NOW + timedelta(seconds=10))
    assert second.next_attempt == NextAttempt(NOW + timedelta(seconds=30))
    assert first.describe().endswith("[temporary: retrying at 18:00:10Z]")

    applied = ReleaseReport(WEB, Outcome.APPLIED)
    one_pass(retries, applied, depended={}, now=NOW + timedelta(seconds=30))
    assert retries.next_due(NOW + timedelta(seconds=30)) is None


def test_a_permanent_render_failure_is_not_rendered_again_until_new_dependency_outputs() -> None:
    retries = Retries(POLICY)
    held, first = one_pass(retries, render_failure(), depended=outputs("a"), render_failed=True)
    assert held is None
    assert first.next_attempt == NextAttempt(None)
    assert "[permanent: waiting for a change]" in first.describe()
    assert retries.next_due(NOW) is None, "a permanent failure wants no retry"

    for _ in range(3):
        held, again = one_pass(retries, render_failure(), depended=outputs("a"), render_failed=True)
        assert held == ReleaseProblem("chart web: bad template")
        assert again.next_attempt == NextAttempt(None)

    held, _report = one_pass(retries, render_failure(), depended=outputs("b"), render_failed=True)
    assert held is None, "new outputs of a dependency: rendered again"


def test_a_permanent_apply_failure_is_held_as_it_failed_until_a_new_commit() -> None:
    retries = Retries(POLICY)
    refused = ReleaseReport(
        WEB, Outcome.FAILED, "ConfigMap/shop/web apply failed: no", failure=Failure.PERMANENT
    )
    one_pass(retries, refused, depended=outputs("a"))

    retries.begin_pass()
    assert retries.hold(WEB, outputs("a")) is None, "rendered for its dependents"
    assert retries.held() == {WEB: refused}

    retries.new_revision()
    retries.begin_pass()
    assert retries.hold(WEB, outputs("a")) is None
    assert retries.held() == {}


def test_a_failing_pass_is_retried_with_growing_backoff_until_one_runs() -> None:
    retries = Retries(POLICY)
    assert retries.pass_failed(NOW) == NOW + timedelta(seconds=10)
    assert retries.pass_failed(NOW) == NOW + timedelta(seconds=20)
    assert retries.next_due(NOW) == NOW + timedelta(seconds=20)
    retries.pass_done()
    assert retries.next_due(NOW) is None


def test_a_blocked_release_is_neither_deferred_nor_held_and_fails_as_its_dependency_does() -> None:
    late = ReleaseReport(DB, Outcome.FAILED, "not Ready", failure=Failure.TEMPORARY)
    blocked = gate(WEB, [DB], reports={DB: late}, changed=set())
    assert blocked is not None
    assert (blocked.outcome, blocked.failure) == (Outcome.BLOCKED, Failure.TEMPORARY)
    refused = ReleaseReport(DB, Outcome.FAILED, "refused", failure=Failure.PERMANENT)
    blocked_for_good = gate(WEB, [DB], reports={DB: refused}, changed=set())
    assert blocked_for_good is not None
    assert blocked_for_good.failure is Failure.PERMANENT

    retries = Retries(POLICY)
    _held, reported = one_pass(retries, blocked, depended=outputs("a"))
    assert reported.next_attempt is None
    assert retries.deferred(NOW) == {}
    assert retries.held() == {}


def test_the_next_attempt_reads_as_a_wait_for_a_change_or_a_time() -> None:
    assert NextAttempt(None).describe(NOW) == "waiting for a change"
    soon = NextAttempt(NOW + timedelta(seconds=40))
    assert soon.describe(NOW) == "retrying in 40s (at 18:00:40Z)"
    assert soon.describe() == "retrying at 18:00:40Z"
    assert (NextAttempt(None).summary(), soon.summary()) == (
        "waiting for a change",
        "retrying with backoff",
    )
