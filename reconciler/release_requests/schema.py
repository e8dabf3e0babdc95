"""Validates documents against the JSON Schemas in `schemas/`, the one source of truth.

Loading's second step, after YAML reading: data in, `Diagnostic`s out.
"""

from __future__ import annotations

import functools
import json
from enum import StrEnum
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from reconciler.release_requests.diagnostics import Diagnostic, SourceMap
from reconciler.release_requests.schema_messages import explain_errors
from reconciler.types import JsonObject


class Schema(StrEnum):
    RELEASE = "release.schema.json"
    WALM_RELEASE_REQUEST = "walm-release-request.schema.json"
    RELEASE_OVERLAY = "release-overlay.schema.json"
    REPOSITORY = "harmonia.schema.json"
    RECONCILER_CONFIG = "reconciler-config.schema.json"


def schema_folder() -> Traversable:
    """Where the loader reads the schemas: the package's `schemas` folder.

    In Git that is a symlink to the repository's `schemas/`, which editors use through
    `$schema` comments; setuptools copies the files behind it into the wheel (package data
    in pyproject.toml). So there is one copy, and a test checks the loader resolves to it.
    """
    return resources.files(__package__) / "schemas"


@functools.cache
def schema_documents() -> dict[str, Any]:
    folder = schema_folder()
    return {
        entry.name: json.loads(entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".schema.json")
    }


@functools.cache
def _validator(schema: Schema) -> Draft202012Validator:
    documents = schema_documents()
    # Schemas refer to each other by file name, as editors resolve them next to each other.
    registry: Registry[Any] = Registry().with_resources(
        (name, Resource.from_contents(contents)) for name, contents in documents.items()
    )
    return Draft202012Validator(documents[schema.value], registry=registry)


def schema_fields(schema: Schema) -> frozenset[str]:
    """The top-level field names a schema knows."""
    return frozenset(schema_documents()[schema.value]["properties"])


def validate_document(
    data: JsonObject, source: SourceMap, schema: Schema
) -> tuple[Diagnostic, ...]:
    """Every schema violation in `data`, one diagnostic per problem, in file order."""
    validator = _validator(schema)
    found = set(explain_errors(validator.iter_errors(data), source, validator))
    return tuple(sorted(found, key=Diagnostic.sort_key))
