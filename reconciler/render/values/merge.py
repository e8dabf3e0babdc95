"""The values a chart is rendered with: every source merged in Harmonia's precedence.

Between the dependency graph (which hands over the dependencies' outputs) and the chart
engines: chart values.yaml < valuesFiles < dependency outputs < configValues <
metaInfoParams (mapped through the chart's metainfo) < the reserved keys Harmonia sets.
Pure functions; inputs are never changed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from reconciler.release_requests.model import MetaInfoParams, MetaParam, RoleConfig, StorageResource
from reconciler.render.model import Outputs
from reconciler.render.values.metainfo import (
    DEPENDENCIES_KEY,
    METAINFO_FILE,
    ChartMetaInfo,
    MetaField,
    MetaInfoError,
    MetaRole,
    MetaStorageField,
)
from reconciler.types import JsonObject, JsonValue

__all__ = [
    "DEPENDENCIES_KEY",
    "RESERVED_KEYS",
    "ReleaseIdentity",
    "compute_values",
    "cores_text",
    "deep_merge",
    "inject_dependency_outputs",
    "meta_info_values",
    "overridden_reserved_keys",
    "reserved_values",
]

RESERVED_KEYS = (
    "helmReleaseName",
    "helmReleaseNamespace",
    "chartName",
    "chartVersion",
    "chartAppVersion",
    "Transwarp_Install_Namespace",
    "Customized_Namespace",
    "HelmAdditionalValues",
)
"""Top-level keys WALM set for Jsonnet charts after the user's values, so users cannot set them."""


def deep_merge(base: Mapping[str, JsonValue], override: Mapping[str, JsonValue]) -> JsonObject:
    """`override` over `base`: mappings merge key by key, lists and scalars replace.

    A null in `override` replaces too (Helm later drops such a key from the chart's
    defaults). The result shares nothing with either input.
    """
    merged = copy.deepcopy(dict(base))
    _merge_into(merged, override)
    return merged


def _merge_into(target: JsonObject, override: Mapping[str, JsonValue]) -> None:
    for key, value in override.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            _merge_into(current, value)
        else:
            target[key] = copy.deepcopy(value)


@dataclass(frozen=True)
class ReleaseIdentity:
    """What the reserved keys say: the release, its chart, and its dependencies."""

    name: str
    namespace: str
    chart_name: str
    chart_version: str
    chart_app_version: str = ""
    dependencies: Mapping[str, str] = field(default_factory=dict)
    """Alias -> the release depended on, `namespace/name`."""


def reserved_values(identity: ReleaseIdentity) -> JsonObject:
    """WALM's system values for Jsonnet charts (both layouts), set last.

    Helm charts get none: `.Release` and `.Chart` already carry these and cannot be
    overridden, and extra top-level keys would break a chart whose values.schema.json
    forbids unknown keys.
    """
    return {
        "helmReleaseName": identity.name,
        "helmReleaseNamespace": identity.namespace,
        "chartName": identity.chart_name,
        "chartVersion": identity.chart_version,
        "chartAppVersion": identity.chart_app_version,
        "Transwarp_Install_Namespace": identity.namespace,
        "Customized_Namespace": identity.namespace,
        "HelmAdditionalValues": {
            "dependencies": dict(sorted(identity.dependencies.items())),
            "HelmNativeValues": {
                "chartName": identity.chart_name,
                "chartVersion": identity.chart_version,
                "appVersion": identity.chart_app_version,
                "releaseName": identity.name,
                "releaseNamespace": identity.namespace,
            },
        },
    }


def compute_values(
    *,
    chart_defaults: JsonObject,
    values_files: Sequence[JsonObject],
    dependency_outputs: JsonObject,
    config_values: JsonObject,
    meta_info_values: JsonObject,
    reserved: JsonObject,
) -> JsonObject:
    """The values to render with, lowest precedence first; `reserved` keys replace all.

    `reserved` is `reserved_values(...)` for Jsonnet charts and `{}` for Helm charts.
    """
    layers = (chart_defaults, *values_files, dependency_outputs, config_values, meta_info_values)
    merged: JsonObject = {}
    for layer in layers:
        _merge_into(merged, layer)
    # Replaced whole, not merged: nothing a user writes under a reserved key survives.
    merged.update(copy.deepcopy(reserved))
    return merged


def overridden_reserved_keys(values: JsonObject, reserved: JsonObject) -> tuple[str, ...]:
    """The reserved keys a user's values set, for a warning: Harmonia's values win."""
    return tuple(key for key in reserved if key in values)


def inject_dependency_outputs(
    outputs_by_alias: Mapping[str, Outputs], *, metainfo: ChartMetaInfo | None
) -> JsonObject:
    """Each dependency's outputs under the key its dependent's chart expects.

    As WALM: the chart metainfo dependency whose `name` is the release file's alias
    names the top-level key (`aliasConfigVar`); without one, the outputs go under
    `dependencies.<alias>` (the Contracts).
    """
    injected: JsonObject = {}
    undeclared: JsonObject = {}
    for alias, outputs in sorted(outputs_by_alias.items()):
        declared = metainfo.dependency(alias) if metainfo is not None else None
        values: JsonObject = dict(sorted(outputs.items()))
        if declared is not None and declared.alias_config_var:
            injected[declared.alias_config_var] = values
        else:
            undeclared[alias] = values
    if undeclared:
        injected[DEPENDENCIES_KEY] = undeclared
    return injected


def meta_info_values(params: MetaInfoParams, metainfo: ChartMetaInfo | None) -> JsonObject:
    """metaInfoParams as values: each field set at its metainfo `mapKey`, in WALM's units.

    CPU and GPU are written as strings of cores ("0.5", WALM's `%g`), memory as
    "<MiB>Mi", storage as an object (`size`, `storageClass`, `accessModes`,
    `diskReplicas`; only the fields given) that merges over the chart's. A role, param
    or field the metainfo does not declare is an error naming it.
    """
    if not params.params and not params.roles:
        return {}
    if metainfo is None:
        raise MetaInfoError(
            f"metaInfoParams: the chart has no {METAINFO_FILE.as_posix()} to map them; "
            "use configValues instead"
        )
    builder = _ValuesBuilder()
    builder.params("metaInfoParams.params", params.params, metainfo.params, "param")
    for role_params in params.roles:
        role = metainfo.role(role_params.name)
        where = f"metaInfoParams.roles[{role_params.name}]"
        if role is None:
            known = ", ".join(item.name for item in metainfo.roles) or "none"
            builder.problems.append(
                f"{where}: the chart's metainfo declares no role '{role_params.name}' "
                f"(roles: {known})"
            )
            continue
        builder.role(where, role_params, role)
    if builder.problems:
        raise MetaInfoError("; ".join(builder.problems))
    return builder.values


def cores_text(cores: float) -> str:
    """Cores as WALM wrote them (Go's `%g`): 2 -> "2", 0.5 -> "0.5"."""
    return str(int(cores)) if float(cores).is_integer() else repr(float(cores))


_Named = TypeVar("_Named", MetaField, MetaStorageField)


def _by_name(items: Sequence[_Named], name: str) -> _Named | None:
    return next((item for item in items if item.name == name), None)


class _ValuesBuilder:
    def __init__(self) -> None:
        self.values: JsonObject = {}
        self.problems: list[str] = []

    def set(self, path: tuple[str, ...], value: JsonValue) -> None:
        """Replace what is at `path` (as WALM's sjson did), making the maps above it."""
        target = self.values
        for key in path[:-1]:
            child = target.get(key)
            if not isinstance(child, dict):
                child = target[key] = {}
            target = child
        target[path[-1]] = value

    def declared(
        self, where: str, name: str, fields: Sequence[MetaField], what: str
    ) -> MetaField | None:
        found = _by_name(fields, name)
        if found is None:
            known = ", ".join(field.name for field in fields) or "none"
            self.problems.append(
                f"{where}: the chart's metainfo declares no {what} '{name}' ({what}s: {known})"
            )
        return found

    def params(
        self, where: str, given: Sequence[MetaParam], fields: Sequence[MetaField], what: str
    ) -> None:
        for param in given:
            field = self.declared(f"{where}[{param.name}]", param.name, fields, what)
            if field is not None:
                self.set(field.path, param.value)

    def field(self, where: str, fields: Sequence[MetaField], name: str, value: JsonValue) -> None:
        found = _by_name(fields, name)
        if found is None:
            self.problems.append(
                f"{where}.{name}: the chart's metainfo gives no mapKey for it, so it cannot be set"
            )
            return
        self.set(found.path, value)

    def role(self, where: str, given: RoleConfig, role: MetaRole) -> None:
        base, resources = given.base_config, given.resources
        if base is not None:
            base_where = f"{where}.baseConfig"
            base_values: tuple[tuple[str, JsonValue], ...] = (
                ("image", base.image),
                ("priority", base.priority),
                ("replicas", base.replicas),
                ("env", [{"name": env.name, "value": env.value} for env in base.env] or None),
                ("envMap", dict(base.env_map) or None),
                ("useHostNetwork", base.use_host_network),
            )
            for name, value in base_values:
                if value is not None:
                    self.field(base_where, role.base_config, name, value)
            self.params(f"{base_where}.others", base.others, role.others, "other")
        if resources is not None:
            resources_where = f"{where}.resources"
            resource_values: tuple[tuple[str, float | None, str], ...] = (
                ("requestsCpu", resources.requests_cpu, ""),
                ("limitsCpu", resources.limits_cpu, ""),
                ("requestsMemory", resources.requests_memory, "Mi"),
                ("limitsMemory", resources.limits_memory, "Mi"),
                ("requestsGpu", resources.requests_gpu, ""),
                ("limitsGpu", resources.limits_gpu, ""),
            )
            for name, amount, unit in resource_values:
                if amount is not None:
                    text = f"{int(amount)}{unit}" if unit else cores_text(amount)
                    self.field(resources_where, role.resources, name, text)
            for storage in resources.storage_resources:
                self.storage(f"{resources_where}.storageResources", storage, role.storage)

    def storage(
        self, where: str, storage: StorageResource, declared: Sequence[MetaStorageField]
    ) -> None:
        mapping = _by_name(declared, storage.name)
        if mapping is None:
            known = ", ".join(item.name for item in declared) or "none"
            self.problems.append(
                f"{where}[{storage.name}]: the chart's metainfo declares no storage "
                f"'{storage.name}' (storage: {known})"
            )
            return
        fields: tuple[tuple[str, JsonValue], ...] = (
            ("size", storage.size),
            ("storageClass", storage.storage_class),
            ("accessModes", list(storage.access_modes) or None),
            ("diskReplicas", storage.disk_replicas),
        )
        self.set(mapping.path, {key: value for key, value in fields if value is not None})
        first_access_mode = storage.access_modes[0] if storage.access_modes else None
        separate: tuple[tuple[tuple[str, ...] | None, str | None], ...] = (
            (mapping.size_path, storage.size),
            (mapping.storage_class_path, storage.storage_class),
            (mapping.access_mode_path, first_access_mode),
        )
        for path, part in separate:
            if path is not None and part is not None:
                self.set(path, part)
