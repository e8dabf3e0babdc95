"""Turns jsonschema's errors into short messages and hints a person can act on.

Part of schema validation: the schemas' titles and descriptions, "did you mean", positions.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from reconciler.release_requests.diagnostics import Diagnostic, JsonPath, SourceMap

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}
_DOCS_HINT = "see docs/release-format.md"
_MAX_LISTED_FIELDS = 8


Misspelling = tuple[JsonPath, str]
"""A mapping's path and a known field that one of its unknown keys probably misspells."""


def explain_errors(
    errors: Iterable[ValidationError], source: SourceMap, validator: Draft202012Validator
) -> list[Diagnostic]:
    """The diagnostics for a document's errors. A misspelt field is reported once, as
    misspelt, and not again as missing."""
    found = list(errors)
    misspelt = {
        (tuple(error.absolute_path), guess)
        for error in found
        if error.validator == "additionalProperties"
        for _, guess in _unknown_keys(error)
        if guess
    }
    return [item for error in found for item in explain(error, source, validator, misspelt)]


def explain(
    error: ValidationError,
    source: SourceMap,
    validator: Draft202012Validator,
    misspelt: Collection[Misspelling] = (),
) -> list[Diagnostic]:
    """The diagnostics for one jsonschema error."""
    path: JsonPath = tuple(error.absolute_path)
    keyword = str(error.validator)
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    if "propertyNames" in error.schema_path:
        return [_bad_key(error, source, path, schema)]
    if keyword == "additionalProperties":
        return _unknown_fields(error, source, path, schema)
    if keyword == "required":
        return _missing_fields(error, source, path, schema, misspelt)
    if keyword == "dependentRequired":
        return [_fields_that_go_together(error, source, path)]
    if keyword in ("oneOf", "anyOf"):
        return _alternatives(error, source, path, validator, misspelt)
    message, hint = _describe(keyword, error, source, path, schema)
    return [source.diagnostic(path, message, hint)]


def _describe(
    keyword: str, error: ValidationError, source: SourceMap, path: JsonPath, schema: dict[str, Any]
) -> tuple[str, str]:
    instance = error.instance
    expected = error.validator_value
    title = schema.get("title")
    hint = str(schema.get("description") or _DOCS_HINT)
    if keyword == "type":
        types = [expected] if isinstance(expected, str) else list(expected)
        return _type_message(types, instance), _type_hint(types, instance, source, path, hint)
    if keyword == "const":
        return f"must be {_show(expected)}", hint
    if keyword == "enum":
        choices = ", ".join(_show(choice) for choice in expected)
        guess = _closest(str(instance), [str(choice) for choice in expected])
        return f"must be one of {choices}", f"did you mean {guess}?" if guess else hint
    if keyword == "pattern":
        noun = f"a valid {title}" if title else f"matching {expected}"
        return f"{_show(instance)} is not {noun}", hint
    if keyword == "not":
        forbidden: dict[str, Any] = expected if isinstance(expected, dict) else {}
        what = forbidden.get("title", "value not allowed here")
        return f"{_show(instance)} is a {what}", str(forbidden.get("description") or hint)
    return _bounds_message(keyword, expected, error.message), hint


def _bounds_message(keyword: str, limit: Any, fallback: str) -> str:
    messages = {
        "minLength": "must not be empty" if limit == 1 else f"needs at least {limit} characters",
        "maxLength": f"is longer than {limit} characters",
        "minimum": f"must be at least {limit}",
        "maximum": f"must be at most {limit}",
        "exclusiveMinimum": f"must be more than {limit}",
        "exclusiveMaximum": f"must be less than {limit}",
        "minItems": f"needs at least {limit} item{'s' if limit != 1 else ''}",
        "maxItems": f"takes at most {limit} items",
        "uniqueItems": "lists the same item twice",
    }
    return messages.get(keyword, fallback)


def _type_message(types: Sequence[str], instance: Any) -> str:
    wanted = " or ".join(_TYPE_NAMES.get(name, name) for name in types)
    return f"expected {wanted}, got {_kind_of(instance)}"


def _type_hint(
    types: Sequence[str], instance: Any, source: SourceMap, path: JsonPath, fallback: str
) -> str:
    written = source.nodes.get(path)
    text = written.scalar if written and written.scalar is not None else _show(instance)
    if instance is None:
        return "give it a value, or remove the field"
    if "string" in types and isinstance(instance, bool | int | float):
        return f'quote it: "{text}"'
    if isinstance(instance, str) and {"integer", "number"} & set(types) and _is_number(instance):
        return f"remove the quotes: {instance}"
    if isinstance(instance, str) and "boolean" in types and instance in ("true", "false"):
        return f"remove the quotes: {instance}"
    if "array" in types and "object" not in types:
        return "write a list: one '- item' line per item, or [a, b]"
    if "object" in types:
        return "write a mapping: indented 'key: value' lines, or {key: value}"
    return fallback


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _kind_of(instance: Any) -> str:
    if instance is None:
        return "null (an empty value)"
    if isinstance(instance, bool):
        return f"boolean {_show(instance)}"
    if isinstance(instance, int | float):
        return f"number {_show(instance)}"
    if isinstance(instance, str):
        return f"string {_show(instance)}"
    return "a list" if isinstance(instance, list) else "a mapping"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _closest(word: str, choices: Sequence[str]) -> str | None:
    """The choice `word` most likely misspells, if any is close."""
    lowered = {choice.lower(): choice for choice in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.75)
    return lowered[close[0]] if close else None


def _unknown_keys(error: ValidationError) -> list[tuple[str, str | None]]:
    """The keys of an `additionalProperties: false` error, each with the field it misspells."""
    known = list(error.schema.get("properties", {})) if isinstance(error.schema, dict) else []
    return [(key, _closest(key, known)) for key in error.instance if key not in known]


def _unknown_fields(
    error: ValidationError, source: SourceMap, path: JsonPath, schema: dict[str, Any]
) -> list[Diagnostic]:
    known = list(schema.get("properties", {}))
    found = []
    for key, guess in _unknown_keys(error):
        if guess:
            hint = f"did you mean '{guess}'?"
        elif known and len(known) <= _MAX_LISTED_FIELDS:
            hint = "known fields: " + ", ".join(known)
        else:
            hint = f"remove it; {_DOCS_HINT} for the fields"
        found.append(source.diagnostic((*path, key), f"unknown field '{key}'", hint, at_key=True))
    return found


def _missing_fields(
    error: ValidationError,
    source: SourceMap,
    path: JsonPath,
    schema: dict[str, Any],
    misspelt: Collection[Misspelling],
) -> list[Diagnostic]:
    properties = schema.get("properties", {})
    found = []
    for name in error.validator_value:
        if name in error.instance or (path, name) in misspelt:
            continue
        description = properties.get(name, {}).get("description")
        hint = f"add '{name}': {description}" if description else f"add '{name}'"
        found.append(source.diagnostic(path, f"missing required field '{name}'", hint))
    return found


def _fields_that_go_together(
    error: ValidationError, source: SourceMap, path: JsonPath
) -> Diagnostic:
    groups: dict[str, list[str]] = error.validator_value
    instance = error.instance
    present = [
        field
        for field, needs in groups.items()
        if field in instance and any(need not in instance for need in needs)
    ]
    missing = sorted({need for field in present for need in groups[field] if need not in instance})
    verb = "needs" if len(present) == 1 else "need"
    return source.diagnostic(
        (*path, present[0]),
        f"{' and '.join(present)} {verb} {' and '.join(missing)} too",
        f"set {', '.join(sorted({*present, *missing}))} together",
        at_key=True,
    )


def _alternatives(
    error: ValidationError,
    source: SourceMap,
    path: JsonPath,
    validator: Draft202012Validator,
    misspelt: Collection[Misspelling],
) -> list[Diagnostic]:
    branches: list[dict[str, Any]] = error.validator_value
    if not all("title" in branch for branch in branches):
        return _best_alternative(error, source, validator, misspelt)
    titles = [branch["title"] for branch in branches]
    matched = [
        branch for branch in branches if validator.evolve(schema=branch).is_valid(error.instance)
    ]
    if not matched:
        fields = {field for branch in branches for field in _branch_fields(branch)}
        if any((path, field) in misspelt for field in fields):
            return []
        return [source.diagnostic(path, f"needs one of: {', '.join(titles)}", "add exactly one")]
    present = [key for key in _branch_fields(matched[1]) if key in error.instance]
    return [
        source.diagnostic(
            (*path, *present[:1]),
            f"sets both {matched[0]['title']} and {matched[1]['title']}",
            f"keep exactly one of: {', '.join(titles)}",
            at_key=True,
        )
    ]


def _branch_fields(branch: dict[str, Any]) -> list[str]:
    nested = [name for option in branch.get("anyOf", []) for name in option.get("required", [])]
    return [*branch.get("required", []), *nested]


def _best_alternative(
    error: ValidationError,
    source: SourceMap,
    validator: Draft202012Validator,
    misspelt: Collection[Misspelling],
) -> list[Diagnostic]:
    """For `X or null` style alternatives: one merged type error, else the closest branch's."""
    context = error.context or []
    if context and all(sub.validator == "type" and not sub.path for sub in context):
        types = [name for sub in context for name in _as_list(sub.validator_value)]
        merged = ValidationError(
            "", validator="type", validator_value=types, instance=error.instance, schema={}
        )
        merged.path.extend(error.absolute_path)
        return explain(merged, source, validator)
    relevant = [sub for sub in context if sub.validator_value != "null"]
    chosen = best_match(relevant or context)
    return explain(chosen, source, validator, misspelt) if chosen else []


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _bad_key(
    error: ValidationError, source: SourceMap, path: JsonPath, schema: dict[str, Any]
) -> Diagnostic:
    key = str(error.instance)
    if error.validator == "not":
        reserved: dict[str, Any] = error.validator_value
        message = f"key {_show(key)} is a {reserved.get('title', 'reserved key')}"
        hint = str(reserved.get("description") or _DOCS_HINT)
    else:
        message = f"key {_show(key)} is not a valid {schema.get('title', 'key here')}"
        hint = str(schema.get("description") or _DOCS_HINT)
    return source.diagnostic((*path, key), message, hint, at_key=True)
