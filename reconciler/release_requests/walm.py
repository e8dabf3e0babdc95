"""Reads a bare WALM release request body as a Harmonia release document.

Loading, between the WALM and Harmonia schema checks; what Harmonia cannot honour is an error.
"""

from __future__ import annotations

from reconciler.release_requests.build import parse_json_text
from reconciler.release_requests.diagnostics import Diagnostic, JsonPath, SourceMap
from reconciler.release_requests.model import API_VERSION
from reconciler.types import JsonObject, JsonValue

_UNSUPPORTED = {
    ("isomateConfig",): "WALM's isomateConfig",
    ("releasePrettyParams",): "WALM's releasePrettyParams (deprecated in WALM)",
    ("metaInfoParams", "customParams"): "WALM's metaInfoParams.customParams",
}
_COPIED = ("name", "namespace", "repoName", "chartName", "chartVersion")
_COPIED_IF_SET = ("configValues", "dependencies", "releaseLabels")
_RESOURCE_NUMBERS = (
    "requestsCpu",
    "limitsCpu",
    "requestsMemory",
    "limitsMemory",
    "requestsGpu",
    "limitsGpu",
)
_BASE_FIELDS = ("image", "priority", "replicas", "env", "envMap", "useHostNetwork")


def walm_release_document(
    body: JsonObject, source: SourceMap
) -> tuple[JsonObject, tuple[Diagnostic, ...]]:
    """The Harmonia release document for a WALM body that passed the WALM schema."""
    problems = [
        source.diagnostic(path, f"{what} is not supported by Harmonia", "remove it", at_key=True)
        for path, what in _UNSUPPORTED.items()
        if _lookup(body, path) not in (None, {}, "")
    ]
    document: JsonObject = {"apiVersion": API_VERSION, "kind": "Release"}
    document |= {key: body[key] for key in _COPIED if body.get(key) not in (None, "")}
    document |= {key: body[key] for key in _COPIED_IF_SET if body.get(key)}
    image = body.get("chartImage")
    if isinstance(image, str) and image:
        document["chartImage"] = image if image.startswith("oci://") else f"oci://{image}"
    plugins = [_plugin(item) for item in _objects(body.get("plugins"))]
    if plugins:
        document["plugins"] = list(plugins)
    meta = body.get("metaInfoParams")
    if isinstance(meta, dict):
        translated = _meta_info_params(meta, ("metaInfoParams",), source, problems)
        if translated:
            document["metaInfoParams"] = translated
    return document, tuple(problems)


def _lookup(body: JsonObject, path: JsonPath) -> JsonValue:
    value: JsonValue = body
    for key in path:
        value = value.get(str(key)) if isinstance(value, dict) else None
    return value


def _objects(value: JsonValue) -> list[JsonObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _set_fields(item: JsonObject, keys: tuple[str, ...]) -> JsonObject:
    return {key: item[key] for key in keys if item.get(key) is not None}


def _plugin(item: JsonObject) -> JsonValue:
    plugin: JsonObject = {"name": item.get("name", "")}
    plugin |= {key: item[key] for key in ("args", "version") if item.get(key)}
    if item.get("disable"):
        plugin["disable"] = True
    if isinstance(item.get("priority"), int):
        plugin["priority"] = item["priority"]
    return plugin


def _meta_info_params(
    meta: JsonObject, path: JsonPath, source: SourceMap, problems: list[Diagnostic]
) -> JsonObject:
    translated: JsonObject = {}
    params = _params(meta.get("params"), (*path, "params"), source, problems)
    if params:
        translated["params"] = params
    roles = [
        _role(role, (*path, "roles", index), source, problems)
        for index, role in enumerate(_objects(meta.get("roles")))
    ]
    if roles:
        translated["roles"] = list(roles)
    return translated


def _params(
    value: JsonValue, path: JsonPath, source: SourceMap, problems: list[Diagnostic]
) -> list[JsonValue]:
    """WALM's values are JSON text ("3", "\\"text\\""); Harmonia's are YAML values."""
    params: list[JsonValue] = []
    for index, item in enumerate(_objects(value)):
        param: JsonObject = {"name": item.get("name", "")}
        text = item.get("value")
        if isinstance(text, str):
            where = (*path, index, "value")
            param["value"] = parse_json_text(text, where, source, problems, what="param value")
        if item.get("type"):
            param["type"] = item["type"]
        params.append(param)
    return params


def _role(
    role: JsonObject, path: JsonPath, source: SourceMap, problems: list[Diagnostic]
) -> JsonValue:
    translated: JsonObject = {"name": role.get("name", "")}
    base = role.get("baseConfig")
    if isinstance(base, dict):
        translated_base = _set_fields(base, _BASE_FIELDS)
        others = _params(base.get("others"), (*path, "baseConfig", "others"), source, problems)
        if others:
            translated_base["others"] = others
        translated["baseConfig"] = translated_base
    resources = role.get("resources")
    if isinstance(resources, dict):
        translated_resources = _set_fields(resources, _RESOURCE_NUMBERS)
        storage = [_storage(item) for item in _objects(resources.get("storageResources"))]
        if storage:
            translated_resources["storageResources"] = list(storage)
        translated["resources"] = translated_resources
    return translated


def _storage(item: JsonObject) -> JsonValue:
    storage: JsonObject = {"name": item.get("name", "")}
    value = item.get("value")
    if isinstance(value, dict):
        storage |= _set_fields(value, ("storageClass", "diskReplicas"))
        if value.get("accessModes"):
            storage["accessModes"] = value["accessModes"]
        size = value.get("size")
        if isinstance(size, int) and not isinstance(size, bool):
            storage["size"] = f"{size}Gi"
    return storage
