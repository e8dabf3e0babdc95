"""Builds model values from documents that passed their JSON Schema (loading, third step).

Also checks what a schema cannot say: names unique in a list, plugin args and times that parse.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime
from typing import TypeVar

from reconciler.release_requests.diagnostics import (
    Diagnostic,
    JsonPath,
    SourceMap,
    format_json_path,
)
from reconciler.release_requests.model import (
    ChartImage,
    ChartPath,
    ChartSource,
    EnvironmentSettings,
    EnvVar,
    IgnoreDifference,
    MetaInfoParams,
    MetaParam,
    Plugin,
    Release,
    ReleaseDefaults,
    RepoChart,
    RepositoryConfig,
    RoleBaseConfig,
    RoleConfig,
    RoleResources,
    SourceFormat,
    StorageResource,
)
from reconciler.types import JsonObject, JsonValue, ReleaseKey, release_key

_T = TypeVar("_T")


class _Fields:
    """Typed reads of a schema-valid mapping (absent or mistyped fields read as None)."""

    def __init__(self, data: Mapping[str, JsonValue]) -> None:
        self.data = data

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        return value if isinstance(value, str) else None

    def integer(self, key: str) -> int | None:
        value = self.number(key)
        return None if value is None else int(value)

    def number(self, key: str) -> float | None:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return value

    def flag(self, key: str) -> bool | None:
        value = self.data.get(key)
        return value if isinstance(value, bool) else None

    def mapping(self, key: str) -> JsonObject | None:
        value = self.data.get(key)
        return value if isinstance(value, dict) else None

    def items(self, key: str) -> list[JsonObject]:
        value = self.data.get(key)
        return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        return (
            tuple(item for item in value if isinstance(item, str))
            if isinstance(value, list)
            else ()
        )

    def string_map(self, key: str) -> dict[str, str]:
        value = self.mapping(key) or {}
        return {name: item for name, item in value.items() if isinstance(item, str)}


def build_release(
    document: JsonObject,
    source: SourceMap,
    *,
    defaults: ReleaseDefaults,
    source_format: SourceFormat = SourceFormat.HARMONIA,
) -> Release | tuple[Diagnostic, ...]:
    """The release a schema-valid release document describes, or what is still wrong."""
    fields = _Fields(document)
    problems = _duplicates(fields, source)
    plugins = tuple(
        _plugin(item, ("plugins", index), source, problems)
        for index, item in enumerate(fields.items("plugins"))
    )
    restarted_at = _timestamp(fields.text("restartedAt"), source, problems)
    if problems:
        return tuple(problems)
    namespace = fields.text("namespace") or ""
    dependencies = fields.string_map("dependencies")
    return Release(
        name=fields.text("name") or "",
        namespace=namespace,
        chart=_chart(fields),
        source=source,
        format=source_format,
        description=fields.text("description") or "",
        config_values=fields.mapping("configValues") or {},
        values_files=fields.strings("valuesFiles"),
        meta_info_params=_meta_info_params(_Fields(fields.mapping("metaInfoParams") or {})),
        dependencies={alias: _qualify(target, namespace) for alias, target in dependencies.items()},
        release_labels=fields.string_map("releaseLabels"),
        plugins=plugins,
        paused=bool(fields.flag("paused")),
        restarted_at=restarted_at,
        prune=_or(fields.flag("prune"), defaults.prune),
        delete_pvcs=_or(fields.flag("deletePvcs"), defaults.delete_pvcs),
        timeout_sec=_or(fields.integer("timeoutSec"), defaults.timeout_sec),
        ignore_differences=tuple(
            _ignore_difference(item) for item in fields.items("ignoreDifferences")
        ),
        force=bool(fields.flag("force")),
        adopt=bool(fields.flag("adopt")),
        self_heal=_or(fields.flag("selfHeal"), defaults.self_heal),
    )


def _or(value: _T | None, default: _T) -> _T:
    return default if value is None else value


def _qualify(target: str, namespace: str) -> ReleaseKey:
    return ReleaseKey(target) if "/" in target else release_key(namespace, target)


def _chart(fields: _Fields) -> ChartSource:
    path = fields.text("chartPath")
    if path is not None:
        return ChartPath(path)
    image = fields.text("chartImage")
    if image is not None:
        return ChartImage(image)
    return RepoChart(
        repo_name=fields.text("repoName") or "",
        chart_name=fields.text("chartName") or "",
        chart_version=fields.text("chartVersion") or "",
    )


def _plugin(
    item: JsonObject, path: JsonPath, source: SourceMap, problems: list[Diagnostic]
) -> Plugin:
    fields = _Fields(item)
    args: JsonValue = item.get("args")
    if isinstance(args, str):
        args = parse_json_text(args, (*path, "args"), source, problems, what="plugin args")
    return Plugin(
        name=fields.text("name") or "",
        args=args,
        version=fields.text("version"),
        disable=bool(fields.flag("disable")),
        priority=_or(fields.integer("priority"), 0),
    )


def parse_json_text(
    text: str, path: JsonPath, source: SourceMap, problems: list[Diagnostic], *, what: str
) -> JsonValue:
    """WALM kept some values as JSON text; empty text means no value, as in WALM."""
    if not text.strip():
        return None
    try:
        value: JsonValue = json.loads(text)
    except json.JSONDecodeError as error:
        problems.append(
            source.diagnostic(
                path,
                f"{what}: not valid JSON text ({error.msg} at column {error.colno})",
                'write JSON text (a string needs inner quotes: "\\"text\\""), or a YAML value',
            )
        )
        return None
    return value


def _timestamp(text: str | None, source: SourceMap, problems: list[Diagnostic]) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.upper())
    except ValueError as error:
        problems.append(
            source.diagnostic(
                ("restartedAt",), f"not a valid time: {error}", 'e.g. "2026-11-23T10:00:00Z"'
            )
        )
        return None


def _duplicates(fields: _Fields, source: SourceMap) -> list[Diagnostic]:
    """Lists whose entries are keyed by name must not name one thing twice."""
    lists: list[tuple[JsonPath, list[JsonObject], str]] = [
        (("plugins",), fields.items("plugins"), "plugin")
    ]
    meta = _Fields(fields.mapping("metaInfoParams") or {})
    lists.append((("metaInfoParams", "params"), meta.items("params"), "param"))
    lists.append((("metaInfoParams", "roles"), meta.items("roles"), "role"))
    for index, role in enumerate(meta.items("roles")):
        role_path: JsonPath = ("metaInfoParams", "roles", index)
        base = _Fields(_Fields(role).mapping("baseConfig") or {})
        resources = _Fields(_Fields(role).mapping("resources") or {})
        lists.append(((*role_path, "baseConfig", "env"), base.items("env"), "environment variable"))
        lists.append(((*role_path, "baseConfig", "others"), base.items("others"), "param"))
        lists.append(
            (
                (*role_path, "resources", "storageResources"),
                resources.items("storageResources"),
                "storage resource",
            )
        )
    return [
        problem for path, items, what in lists for problem in _repeated(items, path, source, what)
    ]


def _repeated(
    items: list[JsonObject], path: JsonPath, source: SourceMap, what: str
) -> list[Diagnostic]:
    first: dict[str, int] = {}
    problems = []
    for index, item in enumerate(items):
        name = item.get("name")
        if not isinstance(name, str):
            continue
        if name in first:
            earlier = format_json_path((*path, first[name]))
            problems.append(
                source.diagnostic(
                    (*path, index, "name"),
                    f"{what} '{name}' is listed twice (first at {earlier})",
                    f"keep one {what} entry per name",
                )
            )
        else:
            first[name] = index
    return problems


def _meta_info_params(fields: _Fields) -> MetaInfoParams:
    return MetaInfoParams(
        params=tuple(_param(item) for item in fields.items("params")),
        roles=tuple(_role(_Fields(item)) for item in fields.items("roles")),
    )


def _param(item: JsonObject) -> MetaParam:
    fields = _Fields(item)
    return MetaParam(
        name=fields.text("name") or "", value=item.get("value"), type=fields.text("type")
    )


def _role(fields: _Fields) -> RoleConfig:
    base = fields.mapping("baseConfig")
    resources = fields.mapping("resources")
    return RoleConfig(
        name=fields.text("name") or "",
        base_config=None if base is None else _base_config(_Fields(base)),
        resources=None if resources is None else _resources(_Fields(resources)),
    )


def _base_config(fields: _Fields) -> RoleBaseConfig:
    return RoleBaseConfig(
        image=fields.text("image"),
        priority=fields.integer("priority"),
        replicas=fields.integer("replicas"),
        env=tuple(
            EnvVar(name=_Fields(item).text("name") or "", value=_Fields(item).text("value") or "")
            for item in fields.items("env")
        ),
        env_map=fields.string_map("envMap"),
        use_host_network=fields.flag("useHostNetwork"),
        others=tuple(_param(item) for item in fields.items("others")),
    )


def _resources(fields: _Fields) -> RoleResources:
    return RoleResources(
        requests_cpu=fields.number("requestsCpu"),
        limits_cpu=fields.number("limitsCpu"),
        requests_memory=fields.integer("requestsMemory"),
        limits_memory=fields.integer("limitsMemory"),
        requests_gpu=fields.number("requestsGpu"),
        limits_gpu=fields.number("limitsGpu"),
        storage_resources=tuple(
            _storage(_Fields(item)) for item in fields.items("storageResources")
        ),
    )


def _storage(fields: _Fields) -> StorageResource:
    return StorageResource(
        name=fields.text("name") or "",
        storage_class=fields.text("storageClass"),
        size=fields.text("size"),
        access_modes=fields.strings("accessModes"),
        disk_replicas=fields.integer("diskReplicas"),
    )


def _ignore_difference(item: JsonObject) -> IgnoreDifference:
    fields = _Fields(item)
    return IgnoreDifference(
        kind=fields.text("kind") or "",
        json_pointers=fields.strings("jsonPointers"),
        group=fields.text("group") or "",
        name=fields.text("name"),
        namespace=fields.text("namespace"),
    )


def build_repository_config(document: JsonObject, source: SourceMap) -> RepositoryConfig:
    """The settings a schema-valid `harmonia.yaml` describes."""
    fields = _Fields(document)
    defaults = _Fields(fields.mapping("defaults") or {})
    built_in = ReleaseDefaults()
    narrowed = fields.data.get("allowedNamespaces")
    return RepositoryConfig(
        source=source,
        releases_dir=fields.text("releasesDir") or RepositoryConfig.releases_dir,
        chart_repositories=fields.string_map("chartRepositories"),
        kube_version=fields.text("kubeVersion"),
        api_versions=fields.strings("apiVersions"),
        defaults=ReleaseDefaults(
            timeout_sec=_or(defaults.integer("timeoutSec"), built_in.timeout_sec),
            prune=_or(defaults.flag("prune"), built_in.prune),
            delete_pvcs=_or(defaults.flag("deletePvcs"), built_in.delete_pvcs),
            self_heal=_or(defaults.flag("selfHeal"), built_in.self_heal),
        ),
        status_branch=fields.text("statusBranch") or RepositoryConfig.status_branch,
        library_dirs=fields.strings("libraryDirs"),
        allowed_namespaces=None if narrowed is None else fields.strings("allowedNamespaces"),
        allow_cluster_scoped=fields.flag("allowClusterScoped"),
        strict_secrets=fields.flag("strictSecrets") is True,
        confirm_removal=frozenset(map(ReleaseKey, fields.strings("confirmRemoval"))),
        environments={
            name: _environment(name, _Fields(item if isinstance(item, dict) else {}))
            for name, item in (fields.mapping("environments") or {}).items()
        },
    )


def _environment(name: str, fields: _Fields) -> EnvironmentSettings:
    def listed(key: str) -> tuple[str, ...] | None:
        return fields.strings(key) if key in fields.data else None

    return EnvironmentSettings(
        name=name,
        kube_version=fields.text("kubeVersion"),
        api_versions=listed("apiVersions"),
        allowed_namespaces=listed("allowedNamespaces"),
        allow_cluster_scoped=fields.flag("allowClusterScoped"),
        status_branch=fields.text("statusBranch"),
    )


_ENVIRONMENT_FIELDS = ("kubeVersion", "apiVersions", "allowedNamespaces", "allowClusterScoped")


def environment_config(config: RepositoryConfig, name: str) -> RepositoryConfig:
    """The settings as environment `name` sees them: each of its own replaces the
    repository's. The source map then places a replaced field at the environment's entry,
    so a policy problem with it points there."""
    chosen = config.environments[name]
    source = config.source
    if source is not None:
        prefix = ("environments", name)
        moved = {
            path[2:]: node
            for path, node in source.nodes.items()
            if path[:2] == prefix and len(path) > 2 and path[2] in _ENVIRONMENT_FIELDS
        }
        source = SourceMap(source.file, {**source.nodes, **moved})
    return dataclasses.replace(
        config,
        source=source,
        kube_version=_or(chosen.kube_version, config.kube_version),
        api_versions=_or(chosen.api_versions, config.api_versions),
        allowed_namespaces=_or(chosen.allowed_namespaces, config.allowed_namespaces),
        allow_cluster_scoped=_or(chosen.allow_cluster_scoped, config.allow_cluster_scoped),
        status_branch=_or(chosen.status_branch, config.status_branch),
        environment=name,
    )
