"""What kind of chart a resolved folder holds, its default values and its metainfo.

Between chart resolution (which only fetches and unpacks) and the engines: the
kind picks the engine, the defaults are the lowest values layer, the metainfo
maps metaInfoParams and names where dependency outputs go.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.release_requests.yaml_source import read_yaml_file
from reconciler.render.charts import LocalChart
from reconciler.render.jsonnet.engine import is_plain_jsonnet_chart
from reconciler.render.jsonnet.walm import is_walm_chart
from reconciler.render.manifests.sops_manifests import sops_manifests
from reconciler.render.model import ChartKind, RenderError, ResolvedChart
from reconciler.render.values.metainfo import read_metainfo
from reconciler.types import JsonObject

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def chart_kind(root: Path) -> ChartKind:
    """WALM's layout first (it also has Chart.yaml), then Helm, Jsonnet, Kustomize, plain."""
    if is_walm_chart(root):
        return ChartKind.WALM_JSONNET
    if (root / "Chart.yaml").is_file() and (root / "templates").is_dir():
        return ChartKind.HELM
    if is_plain_jsonnet_chart(root):
        return ChartKind.JSONNET
    if any((root / name).is_file() for name in KUSTOMIZATION_FILES):
        return ChartKind.KUSTOMIZE
    return ChartKind.PLAIN


def default_values(root: Path, *, subject: str) -> JsonObject:
    """The chart's `values.yaml`, or nothing for charts without one."""
    path = root / "values.yaml"
    if not path.is_file():
        return {}
    read = read_yaml_file(path, display_name=f"{subject}: values.yaml")
    if read.document is None or read.problems:
        raise RenderError("; ".join(problem.render() for problem in read.problems))
    data = read.document.data
    if not isinstance(data, dict):
        raise RenderError(f"{subject}: values.yaml is not a mapping")
    return data


def describe_chart(local: LocalChart, *, subject: str) -> ResolvedChart:
    kind = chart_kind(local.root)
    takes_values = kind not in (ChartKind.PLAIN, ChartKind.KUSTOMIZE)
    return ResolvedChart(
        root=local.root,
        kind=kind,
        name=local.name,
        version=local.version,
        digest=local.digest,
        default_values=default_values(local.root, subject=subject) if takes_values else {},
        metainfo=read_metainfo(local.root, display_name=f"{subject}: transwarp-meta/metainfo.yaml"),
        sops_manifests=sops_manifests(local.root, kind, subject=subject),
    )
