"""A release's outputs: the ReleaseConfig its chart renders, or WALM's older dummy Service.

Right after a chart engine renders (the Contracts' outputs): the object of kind
`ReleaseConfig` is never applied; its `spec.outputConfig` becomes the flat map handed to
the release's dependents. WALM's older charts published outputs instead as JSON in the
`transwarp.meta` annotation of a headless "dummy" Service labelled `transwarp.meta: "true"`;
that Service stays among the objects (it is a real Service) and is read the same way. The
same reading serves releases WALM installed, from their live objects. Pure.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.render.model import (
    DependedRelease,
    KubeObject,
    Outputs,
    OutputValue,
    RenderError,
)
from reconciler.render.ownership import object_label
from reconciler.types import JsonValue, ReleaseKey

RELEASE_CONFIG_KIND = "ReleaseConfig"
RELEASE_CONFIG_API_VERSIONS = ("apiextensions.transwarp.io/v1beta1", "harmonia.dev/v1alpha1")
"""WALM's ReleaseConfig, and Harmonia's own of the same shape."""
_RELEASE_CONFIG_GROUPS = tuple(version.split("/")[0] for version in RELEASE_CONFIG_API_VERSIONS)

DUMMY_SERVICE_LABEL = "transwarp.meta"
"""Label (value "true") and annotation (the outputs as JSON) of WALM's dummy Service."""
DUMMY_SERVICE_RELEASE_LABEL = "release"
"""The label naming the release a dummy Service belongs to (as WALM read it)."""
DUMMY_SERVICE_CHART_LABEL = "chart"
_PROVIDES = "provides"
_IMMEDIATE_VALUE = "immediate_value"


def _is_release_config(obj: KubeObject) -> bool:
    api_version = obj.get("apiVersion")
    return (
        obj.get("kind") == RELEASE_CONFIG_KIND
        and isinstance(api_version, str)
        and api_version.split("/")[0] in _RELEASE_CONFIG_GROUPS
    )


def _metadata_map(obj: KubeObject, key: str) -> Mapping[str, Any]:
    metadata: Any = obj.get("metadata")
    found = metadata.get(key) if isinstance(metadata, dict) else None
    return found if isinstance(found, dict) else {}


def is_dummy_service(obj: KubeObject) -> bool:
    """A core Service labelled `transwarp.meta: "true"` with a `transwarp.meta` annotation.

    WALM also asked for a `transwarp.install` label; Harmonia does not, since it sets no
    random `Transwarp_Install_ID` for the charts to put there.
    """
    annotation = _metadata_map(obj, "annotations").get(DUMMY_SERVICE_LABEL)
    return (
        obj.get("apiVersion") == "v1"
        and obj.get("kind") == "Service"
        and _metadata_map(obj, "labels").get(DUMMY_SERVICE_LABEL) == "true"
        and isinstance(annotation, str)
        and annotation.strip() != ""
    )


def extract_outputs(objects: Sequence[KubeObject]) -> tuple[tuple[KubeObject, ...], Outputs]:
    """The objects without the release's ReleaseConfig, and its outputs (keys sorted).

    No ReleaseConfig and no dummy Service means no outputs. Two of them (of either kind),
    an unknown ReleaseConfig version, or outputs that are not a flat map of strings,
    numbers and booleans is an error. The dummy Service stays among the objects.
    """
    release_configs = [obj for obj in objects if _is_release_config(obj)]
    remaining = tuple(obj for obj in objects if not _is_release_config(obj))
    dummies = [obj for obj in remaining if is_dummy_service(obj)]
    if len(release_configs) > 1:
        names = ", ".join(object_label(obj) for obj in release_configs)
        raise RenderError(
            f"{len(release_configs)} ReleaseConfig objects rendered ({names}); a release has one"
        )
    if (release_configs and dummies) or len(dummies) > 1:
        names = ", ".join(object_label(obj) for obj in [*release_configs, *dummies])
        raise RenderError(
            f"{names} all publish outputs; a release publishes them once, in one "
            "ReleaseConfig or in one Service labelled transwarp.meta"
        )
    if release_configs:
        return remaining, _release_config_outputs(release_configs[0])
    if dummies:
        return remaining, _dummy_service_outputs(dummies[0])
    return remaining, {}


def published_release(obj: KubeObject, release: ReleaseKey) -> DependedRelease:
    """What a live WALM object says of `release`: a ReleaseConfig (its outputs, chart
    name and version) or a dummy Service (its outputs, and its `chart` label)."""
    _, outputs = extract_outputs([obj])
    if _is_release_config(obj):
        spec: Any = obj.get("spec")
        spec = spec if isinstance(spec, dict) else {}
        chart_name, chart_version = spec.get("chartName"), spec.get("chartVersion")
    else:
        chart_name = _metadata_map(obj, "labels").get(DUMMY_SERVICE_CHART_LABEL)
        chart_version = None
    return DependedRelease(
        key=release,
        outputs=outputs,
        chart_name=chart_name if isinstance(chart_name, str) else "",
        chart_version=chart_version if isinstance(chart_version, str) else "",
    )


def _release_config_outputs(release_config: KubeObject) -> Outputs:
    label = object_label(release_config)
    if release_config.get("apiVersion") not in RELEASE_CONFIG_API_VERSIONS:
        raise RenderError(
            f"{label}: apiVersion {release_config.get('apiVersion')} is not supported; "
            f"use {' or '.join(RELEASE_CONFIG_API_VERSIONS)}"
        )
    spec = release_config.get("spec")
    output_config = spec.get("outputConfig") if isinstance(spec, dict) else None
    if output_config is None:
        return {}
    return _flat_outputs(f"{label}: spec.outputConfig", output_config)


def _dummy_service_outputs(service: KubeObject) -> Outputs:
    where = f"{object_label(service)}: annotation {DUMMY_SERVICE_LABEL}"
    text = str(_metadata_map(service, "annotations")[DUMMY_SERVICE_LABEL])
    try:
        meta: JsonValue = json.loads(text)
    except ValueError as error:
        raise RenderError(f"{where} is not JSON: {error}") from None
    return _flat_outputs(where, meta)


def _flat_outputs(where: str, config: JsonValue) -> Outputs:
    if not isinstance(config, dict):
        raise RenderError(f"{where} must be a mapping of outputs")
    where, config = _unwrapped_provides(where, config)
    return {key: _output(f"{where}.{key}", config[key]) for key in sorted(config)}


def _unwrapped_provides(where: str, config: dict[str, JsonValue]) -> tuple[str, dict[str, Any]]:
    """WALM's v1 charts published `{"provides": {NAME: {"immediate_value": {...}}}}`
    (its DependencyMeta): the one provide's value is the outputs. A dependent then got it
    under its aliasConfigVar, which the charts made the provide's NAME."""
    provides = config.get(_PROVIDES)
    if set(config) != {_PROVIDES} or not isinstance(provides, dict):
        return where, config
    where = f"{where}.{_PROVIDES}"
    if len(provides) != 1:
        raise RenderError(
            f"{where}: {len(provides)} provides ({', '.join(sorted(provides)) or 'none'}); "
            "Harmonia reads one flat map of outputs: publish one provide, or a ReleaseConfig"
        )
    ((name, provide),) = provides.items()
    value = provide.get(_IMMEDIATE_VALUE) if isinstance(provide, dict) else None
    if not isinstance(value, dict):
        raise RenderError(
            f"{where}.{name}: only an immediate_value mapping can be read (WALM's provides "
            "that point at other objects are not supported); publish the values themselves"
        )
    return f"{where}.{name}.{_IMMEDIATE_VALUE}", value


def _output(where: str, value: JsonValue) -> OutputValue:
    if isinstance(value, dict | list):
        raise RenderError(
            f"{where}: outputs are a flat map of strings, numbers and booleans; "
            "publish nested data as separate keys or as a JSON string"
        )
    if value is None:
        raise RenderError(f"{where}: has no value; give a string, number or boolean")
    if isinstance(value, float) and not math.isfinite(value):
        raise RenderError(f"{where}: {value} is not a finite number")
    return value
