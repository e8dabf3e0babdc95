"""Jsonnet charts: the plain layout, and the evaluation core that WALM's layout shares.

A chart engine of the rendering stage. A chart's Jsonnet runs in a virtual layout made of
the chart's files and the declared library folders only: an import that leaves them is
refused and the disk beyond them is never read. WALM's native functions are provided, and
the result becomes the objects to apply. `walm_jsonnet.py` builds WALM's layout on this core.
"""

from __future__ import annotations

import hashlib
import json
import math
import posixpath
import re
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any, cast

import _jsonnet
import yaml

from reconciler.render.charts.errors import InvalidChart
from reconciler.render.charts.folder import chart_identity, read_chart_yaml
from reconciler.render.model import (
    ChartOutput,
    KubeObject,
    RenderEnvironment,
    RenderError,
    ResolvedChart,
)
from reconciler.types import JsonObject, JsonValue

PLAIN_MAIN_FILE = "main.jsonnet"
LIBRARY_MOUNT = "@library-{number}/"
"""Where the plain layout places library folder N (searched like a Jsonnet `-J` path)."""
_NO_STRINGS: Mapping[str, str] = MappingProxyType({})
_MAX_TRACE = 20


class LayoutError(Exception):
    """A path does not name a file of the layout; the message says why."""


@dataclass(frozen=True)
class LayoutFile:
    """One file of a virtual layout: a real file, or content made for the layout."""

    display: str
    """How messages name it: its path in the chart or in its library folder."""
    source: Path | None = None
    content: bytes = b""

    def read(self) -> bytes:
        return self.source.read_bytes() if self.source is not None else self.content


@dataclass(frozen=True)
class Mount:
    """Files placed at virtual paths, and the links refused there."""

    files: Mapping[str, LayoutFile]
    refused: Mapping[str, str] = field(default_factory=dict)
    """Virtual path of a link leading out of its folder -> why it is refused."""


def mount_folder(
    source: Path,
    *,
    at: str,
    display: str,
    owner: str,
    within: Path | None = None,
    skip_prefixes: tuple[str, ...] = (),
) -> Mount:
    """Every file under `source` at `at` + its relative path (nothing if it is absent).

    A link is followed only while it stays in `within` (default `source`); `display`
    prefixes relative paths in messages, `owner` names the folder ("the chart").
    """
    files: dict[str, LayoutFile] = {}
    refused: dict[str, str] = {}
    boundary = (within or source).resolve()

    def visit(folder: Path, relative: str, walked: frozenset[Path]) -> None:
        for entry in sorted(folder.iterdir(), key=lambda path: path.name):
            path = relative + entry.name
            if path.startswith(skip_prefixes):
                continue
            try:
                real = entry.resolve()
            except RuntimeError:  # a link loop: nothing to read there
                continue
            if not real.is_relative_to(boundary):
                refused[at + path] = f"{display}{path} is a symbolic link leading outside {owner}"
            elif real.is_dir() and real not in walked:
                visit(entry, path + "/", walked | {real})
            elif real.is_file():
                files[at + path] = LayoutFile(display=display + path, source=real)

    if source.is_dir():
        visit(source, "", frozenset({source.resolve()}))
    return Mount(files, refused)


@dataclass(frozen=True)
class VirtualLayout:
    """The files a chart's Jsonnet may read, by virtual POSIX path."""

    files: Mapping[str, LayoutFile]
    refused: Mapping[str, str]
    search_dirs: tuple[str, ...] = ()
    """Virtual folders tried, in order, when a path is not found beside the importing file."""

    @classmethod
    def of(cls, *mounts: Mount, search_dirs: tuple[str, ...] = ()) -> VirtualLayout:
        """The mounts together; where two place something at one path, the first wins."""
        files: dict[str, LayoutFile] = {}
        refused: dict[str, str] = {}
        for mount in mounts:
            for path, file in mount.files.items():
                files.setdefault(path, file)
            for path, reason in mount.refused.items():
                refused.setdefault(path, reason)
        return cls(files, refused, search_dirs)

    def locate(self, wanted: str, *, base: str = "") -> str:
        """The virtual path of the file `wanted` names from folder `base`."""
        if PurePosixPath(wanted).is_absolute():
            raise LayoutError("an absolute path; paths stay inside the chart and its libraries")
        direct = posixpath.normpath(posixpath.join(base, wanted))
        if direct == ".." or direct.startswith("../"):
            raise LayoutError("it leads outside the chart and its library folders")
        searched = ((folder, posixpath.normpath(folder + wanted)) for folder in self.search_dirs)
        candidates = [direct, *(path for folder, path in searched if path.startswith(folder))]
        for candidate in candidates:
            if candidate in self.files:
                return candidate
        for candidate in candidates:
            parts = candidate.split("/")
            for end in range(len(parts), 0, -1):
                reason = self.refused.get("/".join(parts[:end]))
                if reason is not None:
                    raise LayoutError(reason)
        raise LayoutError("no such file in the chart or its library folders")


# --- WALM's native functions ------------------------------------------------------------


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
    helm: Path, template: JsonValue, context: JsonValue, return_type: JsonValue
) -> JsonValue:
    """`std.native('gotmplRender')`: Go's text/template, run by helm's `tpl`.

    Returns the text, or its first YAML document when `return_type` is "json".
    """
    if not isinstance(template, str) or not isinstance(return_type, str):
        raise NativeError("gotmplRender: tmplContent and returnType must be strings")
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


def _confd_unsupported(*_: JsonValue) -> JsonValue:
    raise NativeError(
        "renderConfdFiles is not supported: it needs confd's template functions; render "
        "such files in the container (as WALM's own charts do) or with gotmplRender"
    )


# --- evaluation -------------------------------------------------------------------------

_Native = Callable[..., JsonValue]
_POSITION = re.compile(r"(?P<path>[^\s:()]+):(?P<span>\d+:\d+(?:-\d+)?|\(\d+:\d+\)-\(\d+:\d+\))")


class _Evaluation:
    """One evaluation's import callback and native functions.

    The C++ Jsonnet passes only primitives to native functions, while WALM's take
    objects and lists (go-jsonnet allowed it). So a file calling `std.native` gets a
    one-line prelude on its first line: a `std` whose `native(name)` passes the arguments
    as one JSON text. Messages are given back the columns that prelude took.
    """

    def __init__(self, layout: VirtualLayout, helm: Path) -> None:
        self.layout = layout
        natives: dict[str, tuple[tuple[str, ...], _Native]] = {
            "parseYaml": (("yaml",), parse_yaml_stream),
            "loadConfigFiles": (
                ("name", "mountPath", "volConfigs", "mainPath"),
                lambda *args: load_config_files(layout, *args),
            ),
            "gotmplRender": (
                ("tmplContent", "context", "returnType"),
                lambda *args: render_go_template(helm, *args),
            ),
            "renderConfdFiles": (
                ("name", "confdKV", "confdFilesConfig", "mainPath"),
                _confd_unsupported,
            ),
        }
        self.native_callbacks: dict[str, tuple[tuple[str, ...], _Native]] = dict(natives)
        for name, (_, function) in natives.items():
            self.native_callbacks[f"harmonia.{name}"] = (("arguments",), _spread(function))
        cases = " else ".join(
            f"if name == '{name}' then function({', '.join(params)}) __harmonia_std.native("
            f"'harmonia.{name}')(__harmonia_std.manifestJsonMinified([{', '.join(params)}]))"
            for name, (params, _) in natives.items()
        )
        self.prelude = (
            "local __harmonia_std = std; local std = __harmonia_std + { native(name):: "
            f"{cases} else __harmonia_std.native(name) }}; "
        ).encode()
        self.with_prelude: set[str] = set()

    def source(self, path: str) -> bytes:
        content = self.layout.files[path].read()
        if path.endswith((".jsonnet", ".libsonnet")) and b"std.native" in content:
            self.with_prelude.add(path)
            return self.prelude + content
        return content

    def import_file(self, base: str, wanted: str) -> tuple[str, bytes]:
        path = self.layout.locate(wanted, base=base)
        return path, self.source(path)

    def readable(self, text: str) -> str:
        """`text` with virtual paths shown as the chart's, and columns without the prelude."""

        def rewrite(match: re.Match[str]) -> str:
            file = self.layout.files.get(match["path"])
            if file is None:
                return match[0]
            span = match["span"]
            first_line = re.fullmatch(r"(\(?1:)(\d+)(-\d+)?(.*)", span)
            if match["path"] in self.with_prelude and first_line is not None:
                start = int(first_line[2]) - len(self.prelude)
                if start < 1:
                    return f"{file.display}:1 (std.native)"
                end = int(first_line[3][1:]) - len(self.prelude) if first_line[3] else None
                span = f"{first_line[1]}{start}{'' if end is None else f'-{end}'}{first_line[4]}"
            return f"{file.display}:{span}"

        return _POSITION.sub(rewrite, text)


def _spread(function: _Native) -> _Native:
    return lambda arguments: function(*json.loads(arguments))


def evaluate_chart(
    layout: VirtualLayout,
    main: str,
    *,
    subject: str,
    helm: Path,
    tla_codes: Mapping[str, str] = _NO_STRINGS,
    ext_codes: Mapping[str, str] = _NO_STRINGS,
    ext_vars: Mapping[str, str] = _NO_STRINGS,
) -> JsonValue:
    """The value of the layout's file `main`; a Jsonnet error becomes a RenderError."""
    try:
        layout.locate(main)
    except LayoutError as error:
        raise RenderError(f"{subject}: the main file: {error}") from None
    evaluation = _Evaluation(layout, helm)
    try:
        output = _jsonnet.evaluate_snippet(
            main,
            evaluation.source(main).decode("utf-8"),
            import_callback=evaluation.import_file,
            native_callbacks=evaluation.native_callbacks,
            tla_codes=dict(tla_codes),
            ext_codes=dict(ext_codes),
            ext_vars=dict(ext_vars),
            max_trace=_MAX_TRACE,
        )
    except (RuntimeError, UnicodeDecodeError, OSError) as error:
        text = evaluation.readable(str(error))
        raise RenderError(
            _jsonnet_problem(text, subject=subject, main=layout.files[main])
        ) from None
    parsed: JsonValue = json.loads(output)
    return parsed


def _jsonnet_problem(text: str, *, subject: str, main: LayoutFile) -> str:
    """`subject: file:line: what went wrong`, then Jsonnet's stack trace."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    headline, *trace = lines or ["Jsonnet failed without a message"]
    position = _POSITION.search(text)
    if position is None:
        where = main.display
    else:
        where = f"{position['path']}:{position['span'].strip('(').split(':')[0]}"
        headline = headline.replace(f"{position[0]}: ", "", 1)
    return "\n  ".join([f"{subject}: {where}: {headline}", *trace])


# --- results ----------------------------------------------------------------------------


def collect_objects(result: JsonValue, *, subject: str) -> tuple[KubeObject, ...]:
    """The objects a main file returned, by file name then position.

    Accepted: a list of objects, an object of file name -> object or list of objects,
    or one object with `kind`. Anything else is refused, naming the item.
    """
    items: list[tuple[str, JsonValue]]
    if isinstance(result, list):
        items = [(f"item {index}", item) for index, item in enumerate(result)]
    elif isinstance(result, dict) and "kind" in result:
        items = [("the result", result)]
    elif isinstance(result, dict):
        items = []
        for name in sorted(result):
            value = result[name]
            if isinstance(value, list):
                items.extend((f"{name}[{index}]", item) for index, item in enumerate(value))
            else:
                items.append((name, value))
    else:
        raise RenderError(
            f"{subject}: the main file returned {_kind_of(result)}; expected a list of "
            "objects, an object of file name -> object(s), or one object with kind"
        )
    for where, item in items:
        if not (isinstance(item, dict) and _named(item, "apiVersion") and _named(item, "kind")):
            raise RenderError(
                f"{subject}: {where} is {_kind_of(item)}, not a Kubernetes object "
                "(an object with apiVersion and kind)"
            )
    return tuple(item for _, item in items if isinstance(item, dict))


def _named(item: JsonObject, key: str) -> bool:
    value = item.get(key)
    return isinstance(value, str) and value != ""


def _kind_of(value: JsonValue) -> str:
    if isinstance(value, dict):
        return "an object without a string apiVersion and kind"
    names = {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def chart_subject(chart: ResolvedChart, *, release_name: str, namespace: str) -> str:
    return f"release {namespace}/{release_name}: chart {chart.name} {chart.version}"


def values_code(values: JsonObject, *, subject: str) -> str:
    """The values as Jsonnet code (JSON), for a top-level argument or external variable."""
    try:
        return json.dumps(values, sort_keys=True, allow_nan=False)
    except ValueError as error:
        raise RenderError(f"{subject}: the values cannot be given to Jsonnet: {error}") from None


def chart_app_version(root: Path, *, subject: str) -> str:
    """`appVersion` from the chart's Chart.yaml, "" when it has none."""
    if not (root / "Chart.yaml").is_file():
        return ""
    try:
        value = read_chart_yaml(root, subject=subject).get("appVersion")
    except InvalidChart as error:
        raise RenderError(str(error)) from None
    return "" if value is None else str(value)


def library_mounts(library_dirs: tuple[Path, ...], *, at: Callable[[int], str]) -> list[Mount]:
    """Each library folder mounted where `at(number)` says (numbers from 1)."""
    return [
        mount_folder(
            folder, at=at(number), display=f"{folder.name}/", owner=f"library folder {folder}"
        )
        for number, folder in enumerate(library_dirs, start=1)
    ]


# --- the plain layout -------------------------------------------------------------------


def plain_main_file(root: Path, chart_name: str) -> str | None:
    """`main.jsonnet` at the chart's root, else `<chart name>.jsonnet` there."""
    for name in (PLAIN_MAIN_FILE, f"{chart_name}.jsonnet"):
        if (root / name).is_file():
            return name
    return None


def is_plain_jsonnet_chart(root: Path) -> bool:
    """Whether `root` holds a plain Jsonnet chart (its name from Chart.yaml, else the folder's).

    A WALM chart has no such file at its root; ask `is_walm_chart` first all the same.
    """
    try:
        name, _ = chart_identity(root, subject=str(root))
    except InvalidChart:
        name = root.name
    return plain_main_file(root, name) is not None


def render_jsonnet(
    chart: ResolvedChart,
    *,
    release_name: str,
    namespace: str,
    values: JsonObject,
    env: RenderEnvironment,
) -> ChartOutput:
    """Render a plain Jsonnet chart: its main file gets the values as the top-level argument
    `values` and the external variable `values`, the release as `releaseName`/`namespace`.

    Imports resolve beside the importing file, then in each library folder in order.
    """
    subject = chart_subject(chart, release_name=release_name, namespace=namespace)
    main = plain_main_file(chart.root, chart.name)
    if main is None:
        raise RenderError(
            f"{subject}: no main file: expected {PLAIN_MAIN_FILE} or {chart.name}.jsonnet "
            "at the chart's root"
        )
    try:
        chart_files = mount_folder(chart.root, at="", display="", owner="the chart")
        libraries = library_mounts(env.library_dirs, at=lambda n: LIBRARY_MOUNT.format(number=n))
    except OSError as error:
        raise RenderError(
            f"{subject}: cannot read the chart or a library folder: {error}"
        ) from None
    search_dirs = tuple(LIBRARY_MOUNT.format(number=n) for n in range(1, len(libraries) + 1))
    layout = VirtualLayout.of(chart_files, *libraries, search_dirs=search_dirs)
    code = values_code(values, subject=subject)
    result = evaluate_chart(
        layout,
        main,
        subject=subject,
        helm=env.helm,
        tla_codes={"values": code},
        ext_codes={"values": code},
        ext_vars={"releaseName": release_name, "namespace": namespace},
    )
    return ChartOutput(objects=collect_objects(result, subject=subject))
