"""WALM's Jsonnet native functions (`std.native`): parseYaml, loadConfigFiles, gotmplRender.

Called from inside a Jsonnet evaluation of the rendering stage; they read only the
virtual layout, never the disk beyond it.
"""

from __future__ import annotations

import hashlib
import json
import math
import posixpath
import re
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import yaml

from reconciler.render.helm.process import HELM_NOT_FOUND
from reconciler.render.jsonnet.layout import LayoutError, VirtualLayout
from reconciler.types import JsonObject, JsonValue


class NativeError(Exception):
    """A native function refused its arguments; Jsonnet reports it at the call."""


_GO_SCALARS = {
    "bool": (r"[yYnN]|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
             "yYnNtTfFoO"),
    "int": (r"[-+]?(?:0b[01_]+|0[0-7_]+|0|[1-9][0-9_]*|0x[0-9a-fA-F_]+)", "-+0123456789"),
    "float": (r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
              r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)", "-+0123456789."),
}  # fmt: skip


class _GoYamlLoader(yaml.SafeLoader):
    """YAML resolved as WALM's Go decoder (go-yaml v2) did: y/n are booleans, 1e3 is a
    number, timestamps and 1:20 stay strings."""

    def construct_go_bool(self, node: yaml.Node) -> bool:
        return str(self.construct_scalar(cast(yaml.ScalarNode, node))).lower() in _GO_TRUE

    def construct_text(self, node: yaml.Node) -> str:
        return str(self.construct_scalar(cast(yaml.ScalarNode, node)))


_GO_TRUE = {"y", "yes", "true", "on"}
_GoYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag.rpartition(":")[2] not in _GO_SCALARS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _kind, (_pattern, _firsts) in _GO_SCALARS.items():
    _GoYamlLoader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_kind}", re.compile(f"^(?:{_pattern})$"), list(_firsts)
    )
_GoYamlLoader.add_constructor("tag:yaml.org,2002:bool", _GoYamlLoader.construct_go_bool)
_GoYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _GoYamlLoader.construct_text)
_GoYamlLoader.add_constructor("tag:yaml.org,2002:value", _GoYamlLoader.construct_text)


def _yaml_documents(text: str) -> list[str]:
    """The documents of a stream split as Kubernetes' YAML reader splits them: at lines
    that are `---` alone; a document with no bytes at all is skipped."""
    documents: list[str] = []
    current: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("---") and not line[3:].strip():
            if current:
                documents.append("".join(current))
            current = []
        else:
            current.append(line)
    if current:
        documents.append("".join(current))
    return documents


def _json_ready(value: object) -> JsonValue:
    if isinstance(value, dict):
        return {_json_key(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise NativeError(f"{value} cannot be written in JSON")
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise NativeError(f"a YAML {type(value).__name__} has no JSON form")


def _json_key(key: object) -> str:
    if isinstance(key, bool) or key is None:
        return json.dumps(key)
    return str(key)


def parse_yaml_stream(text: JsonValue) -> list[JsonValue]:
    """`std.native('parseYaml')(text)`: every document of a YAML stream, as a list."""
    if not isinstance(text, str):
        raise NativeError("parseYaml: its argument must be a string")
    try:
        return [_json_ready(yaml.load(doc, Loader=_GoYamlLoader)) for doc in _yaml_documents(text)]
    except yaml.YAMLError as error:
        raise NativeError(f"parseYaml: {error}") from None


def _field(config: Mapping[str, JsonValue], name: str, kind: type, default: Any) -> Any:
    """A field of one of volConfigs; absent or null is `default`, as Go left it zero."""
    value = config.get(name)
    if value is None:
        return default
    if not isinstance(value, kind) or isinstance(value, bool):
        raise NativeError(f"loadConfigFiles: {name} must be a {kind.__name__}")
    return value


def load_config_files(
    layout: VirtualLayout,
    name: JsonValue,
    mount_path: JsonValue,
    vol_configs: JsonValue,
    main_path: JsonValue,
) -> JsonObject:
    """`std.native('loadConfigFiles')`: a ConfigMap's data and the volume mounting it.

    Each of `vol_configs` gives `configMapKey` and either `fileData` or a `fileLocation`
    read from the layout, relative to `main_path`'s folder (`std.thisFile`).
    """
    if not isinstance(name, str) or not isinstance(mount_path, str):
        raise NativeError("loadConfigFiles: name and mountPath must be strings")
    if not isinstance(main_path, str) or not isinstance(vol_configs, list):
        raise NativeError("loadConfigFiles: volConfigs must be a list and mainPath a string")
    data: JsonObject = {}
    volumes: list[JsonValue] = []
    every_content = hashlib.md5(usedforsecurity=False)
    for config in vol_configs:
        if not isinstance(config, dict):
            raise NativeError("loadConfigFiles: each of volConfigs must be an object")
        key = _field(config, "configMapKey", str, "")
        location = _field(config, "fileLocation", str, "")
        content = _field(config, "fileData", str, "").encode()
        if not content:
            wanted = location.lstrip("/") if main_path else location
            try:
                found = layout.locate(wanted, base=posixpath.dirname(main_path))
            except LayoutError as error:
                raise NativeError(f"loadConfigFiles: fileLocation {location!r}: {error}") from None
            content = layout.files[found].read()
        data[key] = content.decode("utf-8", errors="replace")
        every_content.update(content)
        mode = _field(config, "volConfigMapMode", int, 0) or 0o644
        volumes.append(
            {"key": key, "path": _field(config, "volConfigMapSubPath", str, ""), "mode": mode}
        )
    return {
        "name": name,
        "configMapsData": data,
        "volumes": volumes,
        "volumeMount": {"name": name, "mountPath": mount_path},
        "volumeMounts": [{"name": name, "mountPath": mount_path, "subPath": ""}],
        "md5Checksum": every_content.hexdigest(),
    }


_GO_TEMPLATE_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: gotmpl\nversion: 0.0.0\n",
    "templates/result.yaml": (
        "apiVersion: v1\nkind: GoTemplateResult\n"
        "text: {{ tpl .Values.template .Values.context | toJson }}\n"
    ),
}


def render_go_template(
    helm: Path | None, template: JsonValue, context: JsonValue, return_type: JsonValue
) -> JsonValue:
    """`std.native('gotmplRender')`: Go's text/template, run by helm's `tpl`.

    Returns the text, or its first YAML document when `return_type` is "json".
    """
    if not isinstance(template, str) or not isinstance(return_type, str):
        raise NativeError("gotmplRender: tmplContent and returnType must be strings")
    if helm is None:
        raise NativeError(f"gotmplRender: {HELM_NOT_FOUND}")
    with tempfile.TemporaryDirectory(prefix="harmonia-gotmpl-") as scratch:
        chart = Path(scratch, "chart")
        for name, text in _GO_TEMPLATE_CHART.items():
            (chart / name).parent.mkdir(parents=True, exist_ok=True)
            (chart / name).write_text(text)
        values = Path(scratch, "values.json")
        values.write_text(json.dumps({"template": template, "context": context}))
        homes = {
            f"HELM_{kind}_HOME": str(Path(scratch, kind)) for kind in ("CACHE", "CONFIG", "DATA")
        }
        command = [str(helm), "template", "gotmpl", str(chart), "--values", str(values)]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, env={"HOME": scratch, **homes}, timeout=60
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise NativeError(f"gotmplRender: helm did not run: {error}") from None
    if done.returncode != 0:
        problem = (done.stderr.strip().splitlines() or ["helm failed"])[0]
        raise NativeError(f"gotmplRender: {problem.rpartition('error calling tpl: ')[2]}")
    rendered = next(
        (
            doc["text"]
            for doc in yaml.safe_load_all(done.stdout)
            if isinstance(doc, dict) and doc.get("kind") == "GoTemplateResult"
        ),
        None,
    )
    if rendered is None:
        raise NativeError(f"gotmplRender: helm printed no result: {done.stdout[:200]!r}")
    if return_type != "json":
        return str(rendered)
    documents = parse_yaml_stream(rendered)
    if not documents:
        raise NativeError("gotmplRender: the rendered text holds no YAML document")
    return documents[0]


def confd_unsupported(*_: JsonValue) -> JsonValue:
    raise NativeError(
        "renderConfdFiles is not supported: it needs confd's template functions; render "
        "such files in the container (as WALM's own charts do) or with gotmplRender"
    )
