"""Jsonnet charts: the plain layout, and the evaluation core that WALM's layout shares.

A chart engine of the rendering stage. A chart's Jsonnet runs in a virtual layout made of
the chart's files and the declared library folders only: an import that leaves them is
refused and the disk beyond them is never read. WALM's native functions are provided, and
the result becomes the objects to apply. `walm.py` builds WALM's layout on this core.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

import _jsonnet

from reconciler.render.charts.errors import InvalidChart
from reconciler.render.charts.folder import read_chart_yaml
from reconciler.render.jsonnet.layout import (
    LayoutError,
    LayoutFile,
    Mount,
    VirtualLayout,
    mount_folder,
)
from reconciler.render.jsonnet.natives import (
    confd_unsupported,
    load_config_files,
    parse_yaml_stream,
    render_go_template,
)
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

    def __init__(self, layout: VirtualLayout, helm: Path | None) -> None:
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
                confd_unsupported,
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
    helm: Path | None,
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
    """Whether `root` holds a plain Jsonnet chart: a `.jsonnet` file at its root.

    Any such file counts, not only the main file: a chart whose main file is named
    otherwise must fail naming the file expected, not render as an empty plain folder.
    A WALM chart has no such file at its root; ask `is_walm_chart` first all the same.
    """
    return any(path.is_file() for path in root.glob("*.jsonnet"))


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
        found = ", ".join(sorted(path.name for path in chart.root.glob("*.jsonnet")))
        raise RenderError(
            f"{subject}: no main file: expected {PLAIN_MAIN_FILE} or {chart.name}.jsonnet "
            f"at the chart's root (found {found or 'no .jsonnet file'})"
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
