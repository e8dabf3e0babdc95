"""A Secret's values kept out of what the API server says about it.

The API server's refusal of an object may quote the rejected value (`.stringData.pin:
expected string, got &value.valueUnstructured{Value:8080}`); the kube client passes its
message through here before it becomes an error that logs, status files and metrics
carry. Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from reconciler.secret_data import decoded_data
from reconciler.types import JsonObject, JsonValue

MASK = "***"
SECRET_FIELDS = ("data", "stringData")

_UNSTRUCTURED_VALUE = re.compile(r"(valueUnstructured\{Value:).*\}")
"""How server-side apply prints a value of the wrong type, whatever its type: the
rendering of numbers and maps is Go's, not one this module could predict."""


def without_secret_values(message: str, sent: JsonObject) -> str:
    """`message` with every value of `sent`'s `data` and `stringData` masked, when `sent`
    is a Secret (as written, JSON-escaped, and for `data` base64-decoded); other objects'
    messages unchanged. Whole words only, so a short value does not maim the text."""
    if sent.get("kind") != "Secret":
        return message
    message = _UNSTRUCTURED_VALUE.sub(lambda match: f"{match.group(1)}{MASK}}}", message)
    values = {text for field in SECRET_FIELDS for text in _texts(sent.get(field), field)}
    for value in sorted(values - {""}, key=len, reverse=True):
        message = re.sub(rf"(?<![\w]){re.escape(value)}(?![\w])", MASK, message)
    return message


def _texts(value: JsonValue, field: str) -> Iterator[str]:
    """Every way a value under `field` may be spelled in a message."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _texts(item, field)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item, field)
    elif isinstance(value, str):
        yield value
        yield json.dumps(value)[1:-1]
        decoded = decoded_data(value) if field == "data" else None
        if decoded is not None:
            yield decoded
            yield json.dumps(decoded)[1:-1]
    elif isinstance(value, bool):
        yield json.dumps(value)
    elif isinstance(value, int | float):
        yield json.dumps(value)
        if isinstance(value, float) and value.is_integer():
            yield str(int(value))
