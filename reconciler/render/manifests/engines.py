"""Engines for charts that take no values: a folder of plain manifests, and a
Kustomize folder built by `kubectl kustomize`.

They sit where the Helm and Jsonnet engines sit; what they return goes through
the same outputs extraction, plugins and ownership as any other chart.
"""

from __future__ import annotations

import subprocess

from reconciler.render.helm.engine import split_hooks
from reconciler.render.manifests.kustomization import check_kustomization
from reconciler.render.manifests.parse import parse_manifests
from reconciler.render.manifests.sops_manifests import manifest_files
from reconciler.render.model import (
    ChartOutput,
    KubeObject,
    RenderEnvironment,
    RenderError,
    ResolvedChart,
)
from reconciler.types import JsonObject

KUSTOMIZE_TIMEOUT = 120.0


def _subject(chart: ResolvedChart, release_name: str, namespace: str) -> str:
    return f"release {namespace}/{release_name}: chart {chart.name}"


def render_plain(
    chart: ResolvedChart,
    *,
    release_name: str,
    namespace: str,
    values: JsonObject,
    env: RenderEnvironment,
) -> ChartOutput:
    """Every manifest file under the folder, in path order (values do not apply)."""
    subject = _subject(chart, release_name, namespace)
    objects: list[KubeObject] = []
    for path in manifest_files(chart.root):
        where = f"{subject}: {path.relative_to(chart.root)}"
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise RenderError(f"{where}: not UTF-8 text") from None
        objects.extend(parse_manifests(text, subject=where))
    return split_hooks(tuple(objects))


def render_kustomize(
    chart: ResolvedChart,
    *,
    release_name: str,
    namespace: str,
    values: JsonObject,
    env: RenderEnvironment,
) -> ChartOutput:
    """`kubectl kustomize` of the folder, once every path its kustomizations name is known
    to stay inside it (`check_kustomization`): kustomize itself would fetch remotes."""
    subject = _subject(chart, release_name, namespace)
    if env.kubectl is None:
        raise RenderError(f"{subject}: a Kustomize folder needs kubectl, and none is configured")
    check_kustomization(chart.root, subject=subject)
    try:
        built = subprocess.run(
            [str(env.kubectl), "kustomize", str(chart.root)],
            capture_output=True,
            text=True,
            timeout=KUSTOMIZE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RenderError(
            f"{subject}: kubectl kustomize took over {KUSTOMIZE_TIMEOUT:.0f}s"
        ) from None
    if built.returncode != 0:
        raise RenderError(f"{subject}: kubectl kustomize failed: {built.stderr.strip()}")
    return split_hooks(parse_manifests(built.stdout, subject=subject))
