"""The loop's Prometheus metrics, read back from their text exposition."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from reconciler.diff.changeset import Action, ChangeSet, ObjectChange
from reconciler.loop.metrics import Metrics
from reconciler.objects import ObjectRef
from reconciler.reconcile import Outcome, PassReport, ReleaseReport
from reconciler.types import ReleaseKey


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, keyed by name and sorted labels."""
    body, _content_type = metrics.exposition()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, tuple(sorted(labels.items()))))


def changes(release: str, *actions: Action, dry_run: bool = False) -> ChangeSet:
    return ChangeSet(
        ReleaseKey(release),
        tuple(
            ObjectChange(ObjectRef("v1", "ConfigMap", "shop", f"cm-{i}"), action, "test")
            for i, action in enumerate(actions)
        ),
        dry_run=dry_run,
    )


def release(
    key: str, outcome: Outcome, change_set: ChangeSet | None = None
) -> tuple[ReleaseKey, ReleaseReport]:
    return ReleaseKey(key), ReleaseReport(ReleaseKey(key), outcome, changes=change_set)


def pass_report(*entries: tuple[ReleaseKey, ReleaseReport], revision: str = "abc123") -> PassReport:
    return PassReport(revision, dict(entries))


def test_a_new_registry_has_every_labelled_series_at_zero() -> None:
    metrics = Metrics()
    assert value(metrics, "harmonia_passes_total", result="succeeded") == 0
    assert value(metrics, "harmonia_passes_total", result="failed") == 0
    assert value(metrics, "harmonia_objects_applied_total", action="created") == 0
    assert value(metrics, "harmonia_objects_pruned_total") == 0
    assert value(metrics, "harmonia_errors_total", kind="status_push") == 0
    assert value(metrics, "harmonia_git_fetch_total", result="failed") == 0
    assert value(metrics, "harmonia_releases", state="Invalid") == 0
    assert value(metrics, "harmonia_leader") == 0


def test_two_metrics_values_keep_separate_registries() -> None:
    first, second = Metrics(), Metrics()
    first.count_error("git")
    assert value(first, "harmonia_errors_total", kind="git") == 1
    assert value(second, "harmonia_errors_total", kind="git") == 0


def test_a_pass_counts_created_configured_and_deleted_objects() -> None:
    metrics = Metrics()
    report = pass_report(
        release(
            "shop/web",
            Outcome.APPLIED,
            changes("shop/web", Action.CREATED, Action.CREATED, Action.CONFIGURED, Action.DELETED),
        ),
        release("shop/db", Outcome.UNCHANGED, changes("shop/db", Action.UNCHANGED)),
        release("shop/old", Outcome.REMOVED, changes("shop/old", Action.DELETED, Action.DELETED)),
    )
    metrics.observe_pass(report, 12.5)
    assert value(metrics, "harmonia_objects_applied_total", action="created") == 2
    assert value(metrics, "harmonia_objects_applied_total", action="configured") == 1
    assert value(metrics, "harmonia_objects_pruned_total") == 3
    assert value(metrics, "harmonia_passes_total", result="succeeded") == 1
    assert value(metrics, "harmonia_pass_duration_seconds_count") == 1
    assert value(metrics, "harmonia_pass_duration_seconds_sum") == 12.5
    assert value(metrics, "harmonia_pass_duration_seconds_bucket", le="30.0") == 1
    assert value(metrics, "harmonia_pass_duration_seconds_bucket", le="10.0") == 0


def test_a_dry_run_pass_counts_no_objects() -> None:
    metrics = Metrics()
    planned = changes("shop/web", Action.CREATED, Action.DELETED, dry_run=True)
    metrics.observe_pass(pass_report(release("shop/web", Outcome.PLANNED, planned)), 1.0)
    assert value(metrics, "harmonia_objects_applied_total", action="created") == 0
    assert value(metrics, "harmonia_objects_pruned_total") == 0


def test_failed_and_invalid_releases_count_errors_and_fail_the_pass() -> None:
    metrics = Metrics()
    report = pass_report(
        release("shop/web", Outcome.FAILED, changes("shop/web", Action.CONFIGURED)),
        release("shop/chart", Outcome.FAILED),
        release("shop/typo", Outcome.INVALID),
        release("shop/after", Outcome.BLOCKED),
    )
    metrics.observe_pass(report, 2.0, render_failed={ReleaseKey("shop/chart")})
    assert value(metrics, "harmonia_errors_total", kind="apply") == 1
    assert value(metrics, "harmonia_errors_total", kind="render") == 1
    assert value(metrics, "harmonia_errors_total", kind="invalid") == 1
    assert value(metrics, "harmonia_passes_total", result="failed") == 1
    assert value(metrics, "harmonia_passes_total", result="succeeded") == 0


def test_only_the_last_revision_is_reported_and_the_pass_time_is_set() -> None:
    metrics = Metrics()
    metrics.observe_pass(pass_report(revision="1111"), 1.0)
    metrics.observe_pass(pass_report(revision="2222"), 1.0)
    metrics.observe_pass(pass_report(revision="2222"), 1.0)
    assert value(metrics, "harmonia_last_applied_revision_info", revision="2222") == 1
    assert value(metrics, "harmonia_last_applied_revision_info", revision="1111") is None
    assert (value(metrics, "harmonia_last_pass_timestamp_seconds") or 0) > 1.7e9


def test_release_states_set_every_known_state_so_none_goes_stale() -> None:
    metrics = Metrics()
    metrics.set_release_states({"Ready": 3, "Degraded": 1})
    metrics.set_release_states({"Ready": 4})
    assert value(metrics, "harmonia_releases", state="Ready") == 4
    assert value(metrics, "harmonia_releases", state="Degraded") == 0
    for state in ("Progressing", "Failed", "Paused", "Blocked", "Invalid"):
        assert value(metrics, "harmonia_releases", state=state) == 0


def test_fetches_are_timed_and_counted_by_result() -> None:
    metrics = Metrics()
    metrics.observe_fetch(0.3, ok=True)
    metrics.observe_fetch(4.0, ok=False)
    assert value(metrics, "harmonia_git_fetch_total", result="succeeded") == 1
    assert value(metrics, "harmonia_git_fetch_total", result="failed") == 1
    assert value(metrics, "harmonia_git_fetch_duration_seconds_count") == 2
    assert value(metrics, "harmonia_git_fetch_duration_seconds_bucket", le="0.5") == 1


def test_leadership_is_a_zero_or_one_gauge() -> None:
    metrics = Metrics()
    metrics.set_leader(True)
    assert value(metrics, "harmonia_leader") == 1
    metrics.set_leader(False)
    assert value(metrics, "harmonia_leader") == 0


def test_an_unknown_error_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="error kind 'oops'"):
        Metrics().count_error("oops")


def test_the_exposition_is_prometheus_text_with_its_content_type() -> None:
    body, content_type = Metrics().exposition()
    assert content_type.startswith("text/plain; version=")
    assert b"# TYPE harmonia_passes_total counter" in body
    assert b"# TYPE harmonia_pass_duration_seconds histogram" in body


def test_a_crashed_pass_counts_as_a_failed_pass_and_a_crash_error() -> None:
    metrics = Metrics()
    assert value(metrics, "harmonia_errors_total", kind="crash") == 0

    metrics.observe_unfinished("crash")

    assert value(metrics, "harmonia_passes_total", result="failed") == 1
    assert value(metrics, "harmonia_errors_total", kind="crash") == 1
    assert value(metrics, "harmonia_last_pass_timestamp_seconds") == 0


def test_each_clients_requests_are_read_by_verb_at_every_scrape() -> None:
    metrics = Metrics()
    sent = {"list": 3, "watch": 7}
    metrics.count_requests("watch", lambda: sent)
    metrics.count_requests("pass", lambda: {"patch": 2})

    assert value(metrics, "harmonia_kube_requests_total", client="watch", verb="list") == 3
    sent["watch"] = 8
    assert value(metrics, "harmonia_kube_requests_total", client="watch", verb="watch") == 8
    assert value(metrics, "harmonia_kube_requests_total", client="pass", verb="patch") == 2
