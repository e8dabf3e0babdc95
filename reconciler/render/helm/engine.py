"""The Helm engine: a resolved Helm chart rendered by the real `helm template`.

Sits after chart resolution and values merging, before plugins and ownership
metadata. Helm runs isolated and never reaches a cluster: the Kubernetes and
API versions come from the `RenderEnvironment` (the Contracts), and the chart's
values schemas are checked first, so that validating the values fetches nothing.
Its output is parsed as Kubernetes reads YAML, and hooks are set apart for the
apply step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from reconciler.render.helm.process import run_helm
from reconciler.render.helm.renderer import TemplateRequest, renderer_for, warn_fallback_once
from reconciler.render.helm.values_schema import check_values_schemas
from reconciler.render.manifests.parse import parse_manifests
from reconciler.render.model import (
    ChartOutput,
    Hook,
    KubeObject,
    RenderEnvironment,
    RenderError,
    ResolvedChart,
)
from reconciler.render.secrets.redaction import MIN_EMBEDDED_SECRET, MIN_REDACTED_LENGTH, redacted
from reconciler.types import JsonObject, JsonValue

HOOK_ANNOTATION = "helm.sh/hook"
HOOK_WEIGHT_ANNOTATION = "helm.sh/hook-weight"
HOOK_DELETE_POLICY_ANNOTATION = "helm.sh/hook-delete-policy"
DEFAULT_TIMEOUT = 120.0
"""Seconds `helm template` may take for one release."""

_SECRET_KEY = re.compile(r"pass|secret|token|key|credential|auth|cert", re.IGNORECASE)


def render_helm(
    chart: ResolvedChart,
    *,
    release_name: str,
    namespace: str,
    values: JsonObject,
    env: RenderEnvironment,
    timeout: float = DEFAULT_TIMEOUT,
) -> ChartOutput:
    """Objects and hooks of `chart` rendered with exactly `values` (already merged)."""
    subject = f"release {namespace}/{release_name}: chart {chart.name} {chart.version}"
    check_values_schemas(chart.root, digest=chart.digest, subject=subject)
    # The values go on stdin: they may hold decrypted secrets, which never touch the disk.
    document = json.dumps(values, sort_keys=True)
    if env.renderer is not None:
        request = TemplateRequest(
            chart=chart.root,
            release_name=release_name,
            namespace=namespace,
            values=document,
            kube_version=env.kube_version,
            api_versions=env.api_versions,
        )
        run = renderer_for(env.renderer).template(request, timeout=timeout)
    else:
        warn_fallback_once(env.helm)
        run = run_helm(
            env.helm,
            template_arguments(chart.root, release_name=release_name, namespace=namespace, env=env),
            timeout=timeout,
            stdin=document,
        )
    if not run.ok:
        message = masked(run.error, values)
        raise RenderError(f"{subject}: helm template failed: {message}")
    return split_hooks(parse_manifests(run.stdout, subject=subject))


def template_arguments(
    chart_root: Path,
    *,
    release_name: str,
    namespace: str,
    env: RenderEnvironment,
) -> list[str]:
    """The `helm template` command line (after the binary) for one release, its values
    read from stdin."""
    arguments = [
        "template",
        release_name,
        str(chart_root),
        "--namespace",
        namespace,
        "--kube-version",
        env.kube_version,
        "--include-crds",
        "--values",
        "-",
    ]
    for api_version in env.api_versions:
        arguments += ["--api-versions", api_version]
    return arguments


def split_hooks(objects: tuple[KubeObject, ...]) -> ChartOutput:
    """Hooks set apart (with events, weight, delete policies); test hooks left out."""
    kept: list[KubeObject] = []
    hooks: list[Hook] = []
    for kube_object in objects:
        annotations = _annotations(kube_object)
        if HOOK_ANNOTATION not in annotations:
            kept.append(kube_object)
            continue
        events = _listed(annotations[HOOK_ANNOTATION])
        if any(event.startswith("test") for event in events):
            continue
        hooks.append(
            Hook(
                object=kube_object,
                events=events,
                weight=_hook_weight(annotations.get(HOOK_WEIGHT_ANNOTATION)),
                delete_policies=_listed(annotations.get(HOOK_DELETE_POLICY_ANNOTATION)),
            )
        )
    return ChartOutput(objects=tuple(kept), hooks=tuple(hooks))


def masked(text: str, values: JsonObject) -> str:
    """`text` (helm's own error) with the release's values in it replaced by ***: every
    string value under a secret-looking key, and every other of MIN_EMBEDDED_SECRET
    characters or more (a chart's `fail` may quote any value, and a Secret may hold it;
    a failed render has no Secrets to tell which)."""
    return redacted(text, frozenset(_secret_strings(values)))


def _secret_strings(value: JsonValue, *, under_secret: bool = False) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _secret_strings(
                item, under_secret=under_secret or bool(_SECRET_KEY.search(key))
            )
    elif isinstance(value, list):
        for item in value:
            yield from _secret_strings(item, under_secret=under_secret)
    elif isinstance(value, str) and len(value) >= (
        MIN_REDACTED_LENGTH if under_secret else MIN_EMBEDDED_SECRET
    ):
        yield value


def _annotations(kube_object: KubeObject) -> Mapping[str, JsonValue]:
    metadata = kube_object.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    return annotations if isinstance(annotations, dict) else {}


def _listed(value: JsonValue) -> tuple[str, ...]:
    if not isinstance(value, str):
        return ()
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _hook_weight(value: JsonValue) -> int:
    """Helm's reading: an integer, and 0 when absent or not a number."""
    try:
        return int(str(value).strip()) if value is not None else 0
    except ValueError:
        return 0
