"""A release's outputs: the ReleaseConfig object its chart renders, taken out of the manifests.

Right after a chart engine renders (the Contracts' outputs): the object of kind
`ReleaseConfig` is never applied; its `spec.outputConfig` becomes the flat map handed to
the release's dependents. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from reconciler.render.model import KubeObject, Outputs, OutputValue, RenderError
from reconciler.render.ownership import object_label
from reconciler.types import JsonValue

RELEASE_CONFIG_KIND = "ReleaseConfig"
RELEASE_CONFIG_API_VERSIONS = ("apiextensions.transwarp.io/v1beta1", "harmonia.dev/v1alpha1")
"""WALM's ReleaseConfig, and Harmonia's own of the same shape."""
_RELEASE_CONFIG_GROUPS = tuple(version.split("/")[0] for version in RELEASE_CONFIG_API_VERSIONS)


def _is_release_config(obj: KubeObject) -> bool:
    api_version = obj.get("apiVersion")
    return (
        obj.get("kind") == RELEASE_CONFIG_KIND
        and isinstance(api_version, str)
        and api_version.split("/")[0] in _RELEASE_CONFIG_GROUPS
    )


def extract_outputs(objects: Sequence[KubeObject]) -> tuple[tuple[KubeObject, ...], Outputs]:
    """The objects without the release's ReleaseConfig, and its outputs (keys sorted).

    No ReleaseConfig means no outputs. Two, an unknown version of one, or an
    `outputConfig` that is not a flat map of strings, numbers and booleans is an error.
    """
    found = [obj for obj in objects if _is_release_config(obj)]
    remaining = tuple(obj for obj in objects if not _is_release_config(obj))
    if not found:
        return remaining, {}
    if len(found) > 1:
        names = ", ".join(object_label(obj) for obj in found)
        raise RenderError(
            f"{len(found)} ReleaseConfig objects rendered ({names}); a release has one"
        )
    (release_config,) = found
    label = object_label(release_config)
    if release_config.get("apiVersion") not in RELEASE_CONFIG_API_VERSIONS:
        raise RenderError(
            f"{label}: apiVersion {release_config.get('apiVersion')} is not supported; "
            f"use {' or '.join(RELEASE_CONFIG_API_VERSIONS)}"
        )
    spec = release_config.get("spec")
    output_config = spec.get("outputConfig") if isinstance(spec, dict) else None
    if output_config is None:
        return remaining, {}
    if not isinstance(output_config, dict):
        raise RenderError(f"{label}: spec.outputConfig must be a mapping of outputs")
    outputs = {key: _output(label, key, output_config[key]) for key in sorted(output_config)}
    return remaining, outputs


def _output(label: str, key: str, value: JsonValue) -> OutputValue:
    where = f"{label}: spec.outputConfig.{key}"
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
