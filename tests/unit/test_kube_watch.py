"""The reflector's pure parts: how long it waits before reconnecting, and the API
server's 410 read as an expired watch."""

from __future__ import annotations

import json

import pytest

from reconciler.kube.client import Listing
from reconciler.kube.errors import Expired, from_status
from reconciler.kube.watch import (
    RETRY_BASE_SECONDS,
    RETRY_CAP_SECONDS,
    Change,
    Reflector,
    WatchScope,
    latest_writers,
    retry_delay,
)


def test_reconnecting_waits_twice_as_long_after_each_failure_up_to_the_cap() -> None:
    delays = [retry_delay(failures, jitter=0) for failures in range(1, 12)]
    assert delays[:3] == [RETRY_BASE_SECONDS, 2 * RETRY_BASE_SECONDS, 4 * RETRY_BASE_SECONDS]
    assert max(delays) == RETRY_CAP_SECONDS == delays[-1]


def test_jitter_stretches_a_wait_by_at_most_a_half() -> None:
    assert retry_delay(1, jitter=1) == RETRY_BASE_SECONDS * 1.5
    assert retry_delay(30, jitter=1) == RETRY_CAP_SECONDS * 1.5


def test_a_410_status_is_an_expired_watch() -> None:
    body = {
        "kind": "Status",
        "code": 410,
        "reason": "Expired",
        "message": "too old resource version: 1 (28118)",
    }
    error = from_status("ConfigMap watch", 410, json.dumps(body))
    assert isinstance(error, Expired) and not error.temporary
    assert str(error) == "ConfigMap watch: too old resource version: 1 (28118)"


def test_a_scope_names_its_kind_namespace_and_selector() -> None:
    assert str(WatchScope("v1", "ConfigMap", "shop", "a=b")) == "ConfigMap (v1) in shop (a=b)"
    assert str(WatchScope("rbac.authorization.k8s.io/v1", "ClusterRole")) == (
        "ClusterRole (rbac.authorization.k8s.io/v1)"
    )


def test_a_handler_that_fails_is_logged_and_the_reflector_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(_change: Change) -> None:
        raise RuntimeError("a bug in the handler")

    reflector = Reflector(None, WatchScope("v1", "ConfigMap", "shop"), on_change=broken)  # type: ignore[arg-type]
    change = Change(reflector.scope, "ADDED", {"metadata": {"name": "a"}})
    reflector._notify(change)
    assert "handling a change failed" in caplog.text


def managed_fields(*entries: tuple[str, str]) -> dict[str, object]:
    fields = [{"manager": manager, "time": time, "operation": "Apply"} for manager, time in entries]
    return {"metadata": {"name": "a", "managedFields": fields}}


def test_the_latest_writers_are_the_managers_of_the_latest_time() -> None:
    assert latest_writers(
        managed_fields(
            ("kubectl-edit", "2026-12-06T10:00:00Z"), ("harmonia", "2026-12-06T10:00:05Z")
        )
    ) == {"harmonia"}
    same_second = managed_fields(
        ("harmonia", "2026-12-06T10:00:05Z"), ("kubectl-edit", "2026-12-06T10:00:05Z")
    )
    assert latest_writers(same_second) == {"harmonia", "kubectl-edit"}
    assert latest_writers({"metadata": {"name": "a"}}) == frozenset()


def test_a_reflector_retrying_a_failed_watch_is_not_read() -> None:
    listing = Listing([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}], "7")
    reflector = Reflector(None, WatchScope("v1", "ConfigMap", "shop"), resume=listing)  # type: ignore[arg-type]
    assert reflector.current and reflector.objects() is not None
    reflector.problem = "ConfigMap watch: the cluster did not answer"
    assert not reflector.current and reflector.objects() is None
