"""Leader election's pure decisions: who may take the Lease, what is written, MicroTime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reconciler.loop.lease import (
    LeaseSettings,
    format_micro_time,
    lease_body,
    may_acquire,
    parse_micro_time,
    released_body,
)
from reconciler.types import JsonObject

NOW = datetime(2026, 11, 23, 22, 0, 0, 123456, tzinfo=UTC)
SETTINGS = LeaseSettings("harmonia", identity="replica-a")


def lease(
    holder: str,
    *,
    renewed: timedelta,
    duration: int = 15,
    transitions: int = 3,
    acquired: datetime = NOW - timedelta(hours=1),
) -> JsonObject:
    """A Lease as the API server returns it, last renewed `renewed` before NOW."""
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "harmonia-leader", "namespace": "harmonia", "resourceVersion": "42"},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration,
            "acquireTime": format_micro_time(acquired),
            "renewTime": format_micro_time(NOW - renewed),
            "leaseTransitions": transitions,
        },
    }


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        pytest.param(None, True, id="no lease yet"),
        pytest.param(lease("replica-b", renewed=timedelta(seconds=20)), True, id="expired"),
        pytest.param(lease("replica-b", renewed=timedelta(seconds=15)), True, id="expires now"),
        pytest.param(lease("replica-b", renewed=timedelta(seconds=5)), False, id="held"),
        pytest.param(lease("replica-a", renewed=timedelta(seconds=5)), True, id="own"),
        pytest.param(lease("", renewed=timedelta(0), duration=1), True, id="released"),
        pytest.param(
            {"metadata": {"resourceVersion": "1"}, "spec": {"holderIdentity": "replica-b"}},
            True,
            id="holder without times",
        ),
    ],
)
def test_may_acquire_takes_what_is_free_and_respects_a_live_claim(
    current: JsonObject | None, expected: bool
) -> None:
    assert may_acquire(current, "replica-a", NOW) is expected


def test_a_first_lease_is_created_whole_with_no_transitions() -> None:
    body = lease_body(SETTINGS, None, NOW)
    assert body == {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "harmonia-leader", "namespace": "harmonia"},
        "spec": {
            "holderIdentity": "replica-a",
            "leaseDurationSeconds": 15,
            "acquireTime": "2026-11-23T22:00:00.123456Z",
            "renewTime": "2026-11-23T22:00:00.123456Z",
            "leaseTransitions": 0,
        },
    }


def test_renewing_an_own_lease_keeps_the_acquire_time_and_the_transitions() -> None:
    previous = lease("replica-a", renewed=timedelta(seconds=2))
    body = lease_body(SETTINGS, previous, NOW)
    spec = body["spec"]
    assert isinstance(spec, dict)
    assert body["metadata"] == {
        "name": "harmonia-leader",
        "namespace": "harmonia",
        "resourceVersion": "42",
    }
    assert spec["acquireTime"] == format_micro_time(NOW - timedelta(hours=1))
    assert spec["renewTime"] == format_micro_time(NOW)
    assert spec["leaseTransitions"] == 3


@pytest.mark.parametrize("holder", ["replica-b", ""], ids=["expired", "released"])
def test_taking_over_counts_a_transition_and_restarts_the_acquire_time(holder: str) -> None:
    previous = lease(holder, renewed=timedelta(seconds=30))
    spec = lease_body(SETTINGS, previous, NOW)["spec"]
    assert isinstance(spec, dict)
    assert spec["holderIdentity"] == "replica-a"
    assert spec["acquireTime"] == spec["renewTime"] == format_micro_time(NOW)
    assert spec["leaseTransitions"] == 4


def test_a_released_lease_has_no_holder_and_a_one_second_claim_at_the_held_version() -> None:
    held = lease("replica-a", renewed=timedelta(seconds=1))
    body = released_body(SETTINGS, held, NOW)
    assert body["metadata"] == {
        "name": "harmonia-leader",
        "namespace": "harmonia",
        "resourceVersion": "42",
    }
    assert body["spec"] == {
        "holderIdentity": "",
        "leaseDurationSeconds": 1,
        "acquireTime": format_micro_time(NOW),
        "renewTime": format_micro_time(NOW),
        "leaseTransitions": 3,
    }
    assert may_acquire(body, "replica-b", NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T22:00:00.123456Z", NOW),
        ("2026-11-23T22:00:00Z", NOW.replace(microsecond=0)),
        ("2026-11-23T23:00:00.123456+01:00", NOW),
    ],
    ids=["microseconds", "no fraction", "offset"],
)
def test_micro_time_parses_with_or_without_a_fraction(text: str, expected: datetime) -> None:
    assert parse_micro_time(text) == expected
    assert parse_micro_time(text).tzinfo is UTC


@pytest.mark.parametrize("text", ["2026-11-23T22:00:00", "yesterday"])
def test_micro_time_without_a_zone_or_a_date_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_micro_time(text)


def test_micro_time_is_written_in_utc_with_six_fraction_digits() -> None:
    local = NOW.astimezone(UTC).replace(microsecond=5).astimezone()
    assert format_micro_time(local) == "2026-11-23T22:00:00.000005Z"


def test_a_lease_whose_renew_time_is_garbage_counts_as_free() -> None:
    spec: JsonObject = {
        "holderIdentity": "replica-b",
        "leaseDurationSeconds": 15,
        "renewTime": "soon",
    }
    broken: JsonObject = {"metadata": {"resourceVersion": "7"}, "spec": spec}
    assert may_acquire(broken, "replica-a", NOW)


def test_default_identities_name_the_host_and_differ_between_replicas() -> None:
    first, second = LeaseSettings("ns").identity, LeaseSettings("ns").identity
    assert first != second
    assert first.rsplit("_", 1)[0] == second.rsplit("_", 1)[0] != ""


@pytest.mark.parametrize(
    ("duration", "renew_deadline", "retry_period"),
    [(10, 10, 2), (15, 2, 2), (15, 10, 0)],
    ids=["deadline not shorter than duration", "retry not shorter than deadline", "no retry"],
)
def test_settings_refuse_timings_that_cannot_keep_one_leader(
    duration: int, renew_deadline: int, retry_period: int
) -> None:
    with pytest.raises(ValueError, match="duration > renew_deadline > retry_period > 0"):
        LeaseSettings(
            "ns",
            duration=timedelta(seconds=duration),
            renew_deadline=timedelta(seconds=renew_deadline),
            retry_period=timedelta(seconds=retry_period),
        )


def test_a_fractional_duration_is_declared_rounded_up() -> None:
    settings = LeaseSettings(
        "ns",
        duration=timedelta(seconds=4.5),
        renew_deadline=timedelta(seconds=3),
        retry_period=timedelta(seconds=1),
    )
    assert settings.duration_seconds == 5
