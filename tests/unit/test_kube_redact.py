"""A Secret's values kept out of the API server's messages about it."""

from __future__ import annotations

import base64
import json

import pytest

from reconciler.kube.errors import from_status
from reconciler.kube.redact import without_secret_values
from reconciler.types import JsonObject, JsonValue

PREFIX = "failed to create typed patch object (shop/db; /v1, Kind=Secret): "


def secret(**fields: JsonValue) -> JsonObject:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, **fields}


@pytest.mark.parametrize(
    ("fields", "message", "shown"),
    [
        (
            {"stringData": {"pin": 73519864}},
            ".stringData.pin: expected string, got &value.valueUnstructured{Value:73519864}",
            ".stringData.pin: expected string, got &value.valueUnstructured{Value:***}",
        ),
        (
            {"stringData": {"pin": 1.5e10}},
            ".stringData.pin: expected string, got &value.valueUnstructured{Value:15000000000}",
            ".stringData.pin: expected string, got &value.valueUnstructured{Value:***}",
        ),
        (
            {"stringData": {"a": {"b": "hushhush"}}},
            ".stringData.a: expected string, got &value.valueUnstructured{Value:map[string]"
            'interface {}{"b":"hushhush"}}',
            ".stringData.a: expected string, got &value.valueUnstructured{Value:***}",
        ),
        (
            {"stringData": {"user": "admin:hunter2"}},
            'Secret "db" is invalid: x: Invalid value: "admin:hunter2": not allowed',
            'Secret "db" is invalid: x: Invalid value: "***": not allowed',
        ),
        (
            {"data": {"token": base64.b64encode(b"s3cr3t-token").decode()}},
            'Invalid value: "s3cr3t-token" and "czNjcjN0LXRva2Vu"',
            'Invalid value: "***" and "***"',
        ),
        (
            {"stringData": {"quoted": 'say "hi"\n'}},
            'Invalid value: "say \\"hi\\"\\n"',
            'Invalid value: "***"',
        ),
        (
            # base64 as `base64` prints it, wrapped: the API server stores it decoded.
            {"data": {"token": "czNjcjN0LXRv\na2Vu"}},
            'Invalid value: "s3cr3t-token"',
            'Invalid value: "***"',
        ),
    ],
    ids=["number", "float", "map", "string", "data-base64", "escaped", "data-wrapped"],
)
def test_a_secrets_values_never_reach_the_message(
    fields: dict[str, JsonValue], message: str, shown: str
) -> None:
    assert without_secret_values(PREFIX + message, secret(**fields)) == PREFIX + shown


def test_a_short_value_masks_only_whole_words() -> None:
    message = 'Secret "db" in v1 is invalid: data[a]: Invalid value: "1": too short'
    assert without_secret_values(message, secret(stringData={"a": "1"})) == (
        'Secret "db" in v1 is invalid: data[a]: Invalid value: "***": too short'
    )


def test_other_kinds_keep_the_api_servers_message_as_written() -> None:
    config_map: JsonObject = {"kind": "ConfigMap", "data": {"port": 8080}}
    message = ".data.port: expected string, got &value.valueUnstructured{Value:8080}"
    assert without_secret_values(message, config_map) == message


def test_the_error_for_a_refused_secret_carries_no_value() -> None:
    body = json.dumps(
        {
            "message": PREFIX
            + ".stringData.pin: expected string, got &value.valueUnstructured{Value:73519864}",
            "code": 500,
        }
    )
    error = from_status(
        "Secret/shop/db apply failed", 500, body, sent=secret(stringData={"pin": 73519864})
    )
    assert "73519864" not in str(error)
    assert str(error).startswith("Secret/shop/db apply failed: failed to create typed patch")
