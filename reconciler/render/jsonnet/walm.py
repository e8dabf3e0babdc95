"""WALM's Jsonnet charts: a Helm layout whose `template-jsonnet/` is evaluated as WALM did.

A chart engine of the rendering stage, on the core in engine.py. The main file, the
chart's `applib/` and the common library (ksonnet-lib, given as a library folder) sit
where WALM put them, so `../../../applib/...` imports resolve as they did, and the values
are the top-level argument `config`. What WALM did, and where that was read: the research
notes at the top of docs/jsonnet-charts.md.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from reconciler.render.jsonnet.engine import (
    chart_app_version,
    chart_subject,
    collect_objects,
    evaluate_chart,
    library_mounts,
    values_code,
)
from reconciler.render.jsonnet.layout import LayoutFile, Mount, VirtualLayout, mount_folder
from reconciler.render.model import ChartOutput, RenderEnvironment, RenderError, ResolvedChart
from reconciler.types import JsonObject

TEMPLATE_DIR = "template-jsonnet"
APPLIB_DIR = "applib"
COMMON_LIBRARY_AT = "applib/ksonnet-lib/"
"""Where WALM placed its common template folder (`jsonnetConfig.commonTemplateFilesPath`)."""
MAIN_SUFFIX = "main.jsonnet"
IGNORED_PREFIXES = (".", "_")
"""Entries of template-jsonnet/ that WALM left out, as Helm leaves out such sub-charts."""
TOP_LEVEL_ARGUMENT = "config"


def main_file_candidates(root: Path) -> list[str]:
    """Chart paths of the files WALM could take as the main file, sorted; links leading
    out of the chart are not followed, so a message listing these names no other file."""
    return [path for path in _jsonnet_files(root) if path.endswith(MAIN_SUFFIX)]


def _chart_folder(root: Path, name: str, *, skip_prefixes: tuple[str, ...] = ()) -> Mount:
    """The chart's folder `name`, its files at chart paths, confined to the chart."""
    return mount_folder(
        root / name,
        at=f"{name}/",
        display=f"{name}/",
        owner="the chart",
        within=root,
        skip_prefixes=skip_prefixes,
    )


def is_walm_chart(root: Path) -> bool:
    """Whether `root` is a WALM Jsonnet chart: Chart.yaml, and Jsonnet under
    template-jsonnet/.

    WALM looked for a `*main.jsonnet` there; a chart whose main file is named otherwise
    is WALM's all the same, so that it fails naming the file expected instead of
    rendering as another kind of chart (or as nothing).
    """
    return (root / "Chart.yaml").is_file() and bool(_jsonnet_files(root))


def _jsonnet_files(root: Path) -> list[str]:
    """Chart paths of the Jsonnet files under template-jsonnet/, sorted; links leading out
    of the chart are not followed, so a message listing them names no other file."""
    folder = _chart_folder(root, TEMPLATE_DIR, skip_prefixes=IGNORED_PREFIXES)
    return sorted(path for path in folder.files if path.endswith(".jsonnet"))


def render_walm_jsonnet(
    chart: ResolvedChart,
    *,
    release_name: str,
    namespace: str,
    values: JsonObject,
    env: RenderEnvironment,
) -> ChartOutput:
    """Render a WALM chart: its main file is called with `config` = `values`, which already
    hold the keys WALM set (values.reserved_values), in WALM's virtual layout:

    - `<release>/<appVersion>/template-jsonnet/...`: the chart's template-jsonnet/
    - `<release>/<appVersion>/values.yaml`: the chart's default values, as JSON
    - `applib/...`: the chart's applib/
    - `applib/ksonnet-lib/...`: each library folder's content (the first folder wins)
    """
    subject = chart_subject(chart, release_name=release_name, namespace=namespace)
    app_version = chart_app_version(chart.root, subject=subject)
    for what, segment in (("the release name", release_name), ("appVersion", app_version)):
        if segment in ("", ".", "..") or "/" in segment:
            raise RenderError(
                f"{subject}: {what} {segment!r} cannot be a folder of WALM's layout, where "
                "template-jsonnet/ is evaluated as <release>/<appVersion>/template-jsonnet/"
            )
    main = _main_file(chart.root, subject=subject)
    _refuse_helm_templates(chart.root, subject=subject)
    base = f"{release_name}/{app_version}/"
    defaults = json.dumps(chart.default_values, sort_keys=True, separators=(",", ":"))
    try:
        layout = VirtualLayout.of(
            *library_mounts(env.library_dirs, at=lambda _: COMMON_LIBRARY_AT),
            Mount({base + "values.yaml": LayoutFile("values.yaml", content=defaults.encode())}),
            *(
                mount_folder(
                    chart.root / folder,
                    at=at,
                    display=f"{folder}/",
                    owner="the chart",
                    within=chart.root,
                    skip_prefixes=skipped,
                )
                for folder, at, skipped in (
                    (TEMPLATE_DIR, f"{base}{TEMPLATE_DIR}/", IGNORED_PREFIXES),
                    (APPLIB_DIR, f"{APPLIB_DIR}/", ()),
                )
            ),
        )
    except OSError as error:
        raise RenderError(
            f"{subject}: cannot read the chart or a library folder: {error}"
        ) from None
    result = evaluate_chart(
        layout,
        base + main,
        subject=subject,
        helm=env.helm,
        tla_codes={TOP_LEVEL_ARGUMENT: values_code(values, subject=subject)},
    )
    return ChartOutput(objects=collect_objects(result, subject=subject))


def _main_file(root: Path, *, subject: str) -> str:
    candidates = main_file_candidates(root)
    if len(candidates) != 1:
        found = ", ".join(candidates or [f"none (among {', '.join(_jsonnet_files(root))})"])
        raise RenderError(
            f"{subject}: a WALM chart has exactly one {TEMPLATE_DIR}/...{MAIN_SUFFIX} "
            f"main file; found {found}"
        )
    return candidates[0]


def _refuse_helm_templates(root: Path, *, subject: str) -> None:
    """WALM rendered templates/ with Helm beside the Jsonnet; Harmonia does not mix them."""
    templates = _chart_folder(root, "templates")
    if templates.refused:
        raise RenderError(f"{subject}: {min(templates.refused.values())}")
    manifests = sorted(
        path
        for path in templates.files
        if PurePosixPath(path).name != "NOTES.txt" and not PurePosixPath(path).name.startswith("_")
    )
    if manifests:
        raise RenderError(
            f"{subject}: {', '.join(manifests)}: Helm templates beside {TEMPLATE_DIR}/ are "
            "not supported; write them in Jsonnet, or make a separate Helm chart"
        )
