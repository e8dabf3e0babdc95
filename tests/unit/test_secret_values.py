"""The pass's Secret plaintext, and what hides it: redacted messages and masked outputs."""

from __future__ import annotations

import base64

import pytest

from reconciler.render.model import RenderedRelease
from reconciler.render.secrets.masking import MASK
from reconciler.render.secrets.redaction import (
    public_outputs,
    redacted,
    secret_output_names,
    values_of_secrets,
)
from reconciler.types import ReleaseKey

PASSWORD = "hunter2-longer"


def rendered(
    outputs: dict[str, str | int | float | bool], secret: frozenset[str]
) -> RenderedRelease:
    return RenderedRelease(
        key=ReleaseKey("db/main"),
        objects=(),
        hooks=(),
        outputs=outputs,
        values={},
        input_hash="",
        secret_outputs=secret,
    )


def test_a_message_quoting_a_secret_value_shows_it_masked_longest_first() -> None:
    secrets = frozenset({PASSWORD, "hunter2", "ab"})
    message = f'ConfigMap/ns/x apply failed: Invalid value: "{PASSWORD}/x"; hunter2; ab'
    assert (
        redacted(message, secrets) == 'ConfigMap/ns/x apply failed: Invalid value: "***/x"; ***; ab'
    )


def test_values_of_secrets_are_read_from_string_data_and_decoded_data() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "data": {"a": base64.b64encode(PASSWORD.encode()).decode()},
        "stringData": {"b": "token-1234", "port": 5432},
    }
    found = values_of_secrets([secret])
    assert {PASSWORD, "token-1234", "5432"} <= found


@pytest.mark.parametrize(
    ("value", "secret"), [(PASSWORD, True), (5432, True), (True, False), ("db.svc", False)]
)
def test_an_output_is_secret_when_a_secret_holds_it_as_text(
    value: str | int | bool, secret: bool
) -> None:
    names = secret_output_names({"out": value}, frozenset({PASSWORD, "5432", "True"}))
    assert (names == {"out"}) is secret


def test_an_output_once_masked_stays_masked_while_it_is_published() -> None:
    release = rendered({"password": PASSWORD, "host": "db.svc"}, frozenset())
    assert public_outputs(release) == {"password": PASSWORD, "host": "db.svc"}
    before = {"password": MASK, "gone": MASK}
    assert public_outputs(release, masked_before=before) == {"password": MASK, "host": "db.svc"}
    secret = rendered({"password": PASSWORD, "host": "db.svc"}, frozenset({"password"}))
    assert public_outputs(secret) == {"password": MASK, "host": "db.svc"}


def test_an_output_inside_a_secrets_longer_text_is_secret_when_it_is_long_enough() -> None:
    url = f"postgres://app:{PASSWORD}@db:5432/app"
    outputs = {"password": PASSWORD, "host": "db", "port": 5432}
    assert secret_output_names(outputs, frozenset({url})) == {"password"}


def test_a_line_wrapped_data_value_is_decoded_as_the_api_server_decodes_it() -> None:
    encoded = base64.b64encode(PASSWORD.encode()).decode()
    wrapped = "\n".join(encoded[i : i + 8] for i in range(0, len(encoded), 8)) + "\n"
    secret = {"apiVersion": "v1", "kind": "Secret", "data": {"k": wrapped}}
    assert PASSWORD in values_of_secrets([secret])
