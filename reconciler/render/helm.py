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
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import yaml

from reconciler.render.charts.helm_process import run_helm
from reconciler.render.model import (
    ChartOutput,
    Hook,
    KubeObject,
    RenderEnvironment,
    RenderError,
    ResolvedChart,
)
from reconciler.render.values_schema import check_values_schemas
from reconciler.types import JsonObject, JsonValue

HOOK_ANNOTATION = "helm.sh/hook"
HOOK_WEIGHT_ANNOTATION = "helm.sh/hook-weight"
HOOK_DELETE_POLICY_ANNOTATION = "helm.sh/hook-delete-policy"
DEFAULT_TIMEOUT = 120.0
"""Seconds `helm template` may take for one release."""

MASKED = "***"
_SECRET_KEY = re.compile(r"pass|secret|token|key|credential|auth|cert", re.IGNORECASE)
_MIN_MASKED_LENGTH = 4
_DOCUMENT_SEPARATOR = re.compile(r"^---(?:[ \t].*)?$", re.MULTILINE)
_SOURCE_COMMENT = re.compile(r"^# Source: (.+)$", re.MULTILINE)
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
MAX_DOCUMENT_VALUES = 1_000_000
"""More values than one object the API server could store (its requests stop at 3 MiB):
a manifest over it repeats anchored values by aliases (an alias bomb)."""


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
    with tempfile.TemporaryDirectory(prefix="harmonia-values-") as folder:
        values_file = Path(folder) / "values.json"
        values_file.write_text(json.dumps(values, sort_keys=True), encoding="utf-8")
        run = run_helm(
            env.helm,
            template_arguments(
                chart.root,
                release_name=release_name,
                namespace=namespace,
                values_file=values_file,
                env=env,
            ),
            timeout=timeout,
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
    values_file: Path,
    env: RenderEnvironment,
) -> list[str]:
    """The `helm template` command line (after the binary) for one release."""
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
        str(values_file),
    ]
    for api_version in env.api_versions:
        arguments += ["--api-versions", api_version]
    return arguments


try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml: slower, same result.
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _KubernetesYamlLoader(_SafeLoader):
    """YAML read as Kubernetes reads it (YAML to JSON): timestamps stay strings."""


_KubernetesYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_manifests(text: str, *, subject: str) -> tuple[KubeObject, ...]:
    """The objects of a multi-document YAML stream, in order; empty documents dropped."""
    objects: list[KubeObject] = []
    for chunk in _DOCUMENT_SEPARATOR.split(text):
        source_match = _SOURCE_COMMENT.search(chunk)
        where = f"{subject}: {source_match.group(1)}" if source_match else subject
        try:
            documents = list(yaml.load_all(chunk, Loader=_KubernetesYamlLoader))
        except yaml.YAMLError as error:
            raise RenderError(f"{where}: rendered invalid YAML: {error}") from None
        except RecursionError:
            raise RenderError(f"{where}: rendered YAML nested too deeply to read") from None
        for document in documents:
            if document is None:
                continue
            if not isinstance(document, dict):
                raise RenderError(f"{where}: rendered a document that is not a mapping")
            if not isinstance(document.get("apiVersion"), str) or not isinstance(
                document.get("kind"), str
            ):
                raise RenderError(f"{where}: rendered an object without apiVersion and kind")
            objects.append(_json_object(document, where=where))
    return tuple(objects)


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
    """`text` with every string value found under a secret-looking key replaced by ***."""
    secrets = sorted(set(_secret_strings(values)), key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASKED)
    return text


def _secret_strings(value: JsonValue, *, under_secret: bool = False) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _secret_strings(
                item, under_secret=under_secret or bool(_SECRET_KEY.search(key))
            )
    elif isinstance(value, list):
        for item in value:
            yield from _secret_strings(item, under_secret=under_secret)
    elif under_secret and isinstance(value, str) and len(value) >= _MIN_MASKED_LENGTH:
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


def _json_object(document: dict[object, object], *, where: str) -> KubeObject:
    try:
        converted = _JsonConversion(where).value(document)
    except RecursionError:
        raise RenderError(f"{where}: rendered an object nested too deeply") from None
    assert isinstance(converted, dict)
    return converted


class _JsonConversion:
    """A parsed YAML value as JSON holds it; non-string keys become strings, as in
    Kubernetes. Counts the values it writes: aliases share one parsed value, which
    the copy would otherwise repeat without bound."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.left = MAX_DOCUMENT_VALUES

    def value(self, value: object) -> JsonValue:
        self.left -= 1
        if self.left < 0:
            raise RenderError(
                f"{self.where}: rendered an object of over {MAX_DOCUMENT_VALUES} values "
                "(YAML aliases repeating values?)"
            )
        if isinstance(value, dict):
            return {_json_key(key): self.value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise RenderError(
            f"{self.where}: rendered a value JSON cannot hold ({type(value).__name__})"
        )


def _json_key(key: object) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)
