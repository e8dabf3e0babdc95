"""The API server's answers as the error tree: which mean an unreachable cluster (the pass
stops) and which are one object's refusal (its release fails), and when a 429 is retried."""

from __future__ import annotations

import json

import pytest

from reconciler.kube.errors import (
    RATE_LIMIT_TRIES,
    RATE_LIMIT_WAIT_CAP,
    ClusterUnreachable,
    Conflict,
    Forbidden,
    Invalid,
    KubeError,
    NotFound,
    StaleObject,
    from_status,
    rate_limit_wait,
)

SUBJECT = "ConfigMap/shop/web apply failed"
TYPED_PATCH = (
    "failed to create typed patch object (shop/web; /v1, Kind=ConfigMap): "
    ".data.port: expected string, got &value.valueUnstructured{Value:8080}"
)


def status_body(message: str, code: int, reason: str = "") -> str:
    return json.dumps(
        {"kind": "Status", "status": "Failure", "message": message, "reason": reason, "code": code}
    )


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_only_gateways_timeouts_and_rate_limits_mean_the_cluster_is_unreachable(
    status: int,
) -> None:
    error = from_status(SUBJECT, status, status_body("try later", status))
    assert isinstance(error, ClusterUnreachable)
    assert error.temporary


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, KubeError),
        (403, Forbidden),
        (404, NotFound),
        (409, StaleObject),
        (413, KubeError),
        (422, Invalid),
        (500, KubeError),
        (501, KubeError),
    ],
)
def test_every_other_answer_is_the_objects_refusal_and_not_temporary(
    status: int, kind: type[KubeError]
) -> None:
    error = from_status(SUBJECT, status, status_body("no", status))
    assert type(error) is kind
    assert not error.temporary


@pytest.mark.parametrize(
    "message",
    [
        "rpc error: code = Unavailable desc = error reading from server: EOF",
        "etcdserver: request timed out",
        "Timeout: request did not complete within requested timeout - context deadline exceeded",
    ],
)
def test_a_500_saying_the_storage_did_not_answer_means_the_cluster_is_unreachable(
    message: str,
) -> None:
    error = from_status(SUBJECT, 500, status_body(message, 500, "InternalError"))
    assert isinstance(error, ClusterUnreachable)
    assert error.temporary


def test_an_admission_webhook_that_timed_out_fails_the_object_not_the_pass() -> None:
    message = (
        'Internal error occurred: failed calling webhook "hang.example.com": failed to call '
        'webhook: Post "https://hook.svc:443/validate?timeout=2s": context deadline exceeded'
    )
    error = from_status(SUBJECT, 500, status_body(message, 500, "InternalError"))
    assert not isinstance(error, ClusterUnreachable)
    assert not error.temporary


def test_a_500_from_server_side_apply_fails_the_object_with_the_api_servers_message() -> None:
    error = from_status(SUBJECT, 500, status_body(TYPED_PATCH, 500))

    assert not isinstance(error, ClusterUnreachable)
    assert str(error) == f"{SUBJECT}: {TYPED_PATCH}"


def test_a_conflict_with_causes_names_the_other_managers() -> None:
    body = json.dumps(
        {
            "reason": "Conflict",
            "message": "Apply failed with 1 conflict",
            "details": {"causes": [{"field": ".data.a", "message": 'conflict with "kubectl"'}]},
        }
    )
    error = from_status(SUBJECT, 409, body)
    assert isinstance(error, Conflict)
    assert str(error) == (
        f"{SUBJECT}: apply conflicts with other field managers: .data.a is owned by kubectl"
    )


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [(None, 1.0), ("3", 3.0), ("0", 0.0), ("soon", 1.0), ("nan", 1.0), ("3600", 10.0)],
)
def test_a_429_is_retried_after_the_wait_the_server_asks_for_within_a_cap(
    retry_after: str | None, wait: float
) -> None:
    assert rate_limit_wait(429, retry_after, attempt=0) == wait
    assert RATE_LIMIT_WAIT_CAP == 10.0


def test_a_429_is_tried_at_most_four_times_and_other_answers_never_retried() -> None:
    tries = [rate_limit_wait(429, "1", attempt=attempt) for attempt in range(RATE_LIMIT_TRIES)]
    assert tries == [1.0] * (RATE_LIMIT_TRIES - 1) + [None]
    assert RATE_LIMIT_TRIES == 4
    for status in (400, 500, 503, 504):
        assert rate_limit_wait(status, "1", attempt=0) is None
