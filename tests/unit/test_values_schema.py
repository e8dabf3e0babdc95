"""The check of a chart's values.schema.json before helm reads it: what helm's validator
would load from outside the document is refused, what stays inside it passes.

The cases helm really fetches are proven against the real helm and a loopback listener
in tests/render/test_values_schema.py; these are the rule itself, fast.
"""

from __future__ import annotations

import json

import pytest

from reconciler.render.helm.values_schema import schema_problem
from reconciler.types import JsonValue


def problem(document: JsonValue) -> str | None:
    return schema_problem(json.dumps(document).encode())


@pytest.mark.parametrize(
    "document",
    [
        {"$ref": "#/$defs/port"},
        {"$ref": "#"},
        {"$ref": ""},
        {"$ref": "#anchor"},
        {"properties": {"a": {"$dynamicRef": "#meta"}, "b": {"$recursiveRef": "#"}}},
        {"$schema": "http://json-schema.org/draft-07/schema#"},
        {"$schema": "https://json-schema.org/draft/2020-12/schema"},
        {"$schema": "http://json-schema.org/draft/2019-09/schema#"},
        {"$schema": "http://json-schema.org/draft-06/schema"},
        {"$schema": "http://json-schema.org/draft-04/schema#", "id": "http://example.com/x"},
        {"$schema": "http://json-schema.org/schema#"},
        {"$id": "https://example.com/charts/web/values.schema.json"},
        {"$id": "http://example.com:8080/a/b.json#"},
        {"$id": "urn:example:web-values"},
        {"$id": "defs/port.json"},
        {"$id": "#port"},
        {"properties": {"$ref": {"type": "string"}, "id": {"type": "string"}}},
        {"properties": {"a": {"default": {"id": "not a schema id in 2020-12"}}}},
    ],
)
def test_a_schema_naming_only_its_own_document_passes(document: JsonValue) -> None:
    assert problem(document) is None


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"properties": {"a": {"$ref": "http://127.0.0.1:8080/ssrf-probe.json"}}},
            "$ref 'http://127.0.0.1:8080/ssrf-probe.json' at #/properties/a leads outside "
            "the chart: helm would fetch it to check the values; copy what it names into "
            "this file (under $defs) and refer to it as '#/$defs/...'",
        ),
        ({"$ref": "file:///etc/passwd"}, "$ref 'file:///etc/passwd' at # leads outside"),
        ({"$ref": "other.json#/a"}, "$ref 'other.json#/a' at # leads outside"),
        ({"$ref": " #/a"}, "$ref ' #/a' at # leads outside"),
        ({"$ref": "urn:x:y"}, "$ref 'urn:x:y' at # leads outside"),
        ({"items": [{"$dynamicRef": "https://x/d.json"}]}, "$dynamicRef 'https://x/d.json' at "),
        ({"not": {"$recursiveRef": "x.json"}}, "$recursiveRef 'x.json' at #/not leads outside"),
        (
            {"$schema": "http://127.0.0.1:8080/meta.json"},
            "$schema 'http://127.0.0.1:8080/meta.json' at # is not a JSON Schema draft helm "
            "carries (draft-04, -06, -07, 2019-09, 2020-12): helm would fetch it",
        ),
        ({"$schema": "http://json-schema.org/draft-03/schema#"}, "$schema 'http://json-sch"),
        ({"$schema": "http://json-schema.org/draft-07/schema#/x"}, "is not a JSON Schema draft"),
        (
            {"$id": "http://127.0.0.1:8080/x.json?", "$ref": "#/$defs/s"},
            "$id 'http://127.0.0.1:8080/x.json?' at # is not a plain http(s) URL, URN or "
            "relative path (without '?', '%', '.' or '..' segments): helm's URL handling "
            "could turn a reference under it into a fetch",
        ),
        ({"$id": "file:/etc/passwd", "$ref": "#"}, "$id 'file:/etc/passwd' at # is not a plain"),
        ({"$id": "file:///etc/passwd"}, "$id 'file:///etc/passwd' at # is not a plain"),
        ({"$id": "http://h/a/../b.json"}, "is not a plain"),
        ({"$id": "http://h/%61.json"}, "is not a plain"),
        ({"$id": "//evil.example/x.json"}, "is not a plain"),
        (
            {"$schema": "http://json-schema.org/draft-04/schema#", "items": {"id": "file:/x"}},
            "id 'file:/x' at #/items is not a plain",
        ),
        ({"$defs": {"a/b": {"$ref": "http://x"}}}, "$ref 'http://x' at #/$defs/a~1b leads"),
    ],
)
def test_a_schema_that_would_make_helm_reach_out_is_refused_naming_the_keyword(
    document: JsonValue, expected: str
) -> None:
    found = problem(document)
    assert found is not None
    assert expected in found


def test_a_schema_that_is_not_json_or_nested_too_deeply_is_refused() -> None:
    assert (schema_problem(b"{") or "").startswith("not a JSON document: ")
    assert schema_problem(b"[" * 100_000) == "nested too deeply to read"
