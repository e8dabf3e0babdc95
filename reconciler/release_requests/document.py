"""A release as its file would say it: the model turned back into a release document.

The inverse of `build.build_release`, for readers that show a release request (the
JSON API): the file's field names (`configValues`, `metaInfoParams`, ...). Pure, no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime

from reconciler.release_requests.model import (
    API_VERSION,
    ChartImage,
    ChartPath,
    ChartSource,
    Release,
)
from reconciler.types import JsonObject, JsonValue

_WRITTEN_APART = frozenset({"name", "namespace", "chart", "source", "format", "encrypted"})
"""Release fields that are not one field of the document (or not in it at all): a
partly encrypted file shows its `configValues` as ciphertext tokens, without the SOPS
metadata."""


def release_document(release: Release) -> JsonObject:
    """The Harmonia release document of `release`, every field written out (defaults
    included); loading it gives back an equal release."""
    document: JsonObject = {
        "apiVersion": API_VERSION,
        "kind": "Release",
        "name": release.name,
        "namespace": release.namespace,
        **chart_fields(release.chart),
    }
    for item in dataclasses.fields(release):
        value = getattr(release, item.name)
        if item.name not in _WRITTEN_APART and value is not None:
            document[_camel(item.name)] = _as_json(value)
    return document


def chart_fields(chart: ChartSource) -> JsonObject:
    """The document fields naming the chart: `chartPath`, `chartImage`, or the
    `repoName`/`chartName`/`chartVersion` triple."""
    if isinstance(chart, ChartPath):
        return {"chartPath": chart.path}
    if isinstance(chart, ChartImage):
        return {"chartImage": chart.reference}
    return {
        "repoName": chart.repo_name,
        "chartName": chart.chart_name,
        "chartVersion": chart.chart_version,
    }


def _camel(field_name: str) -> str:
    """The file's name for a model field: `meta_info_params` -> `metaInfoParams`."""
    first, *rest = field_name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def _as_json(value: object) -> JsonValue:
    """A model value as the document writes it; unset (None) nested fields are left out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            _camel(item.name): _as_json(getattr(value, item.name))
            for item in dataclasses.fields(value)
            if getattr(value, item.name) is not None
        }
    if isinstance(value, Mapping):
        return {str(key): _as_json(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_as_json(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"release document: cannot write a {type(value).__name__}")
