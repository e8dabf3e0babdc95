"""A release's values: its chart's defaults, values files, dependency outputs and
configValues merged, with each SOPS value opened only where sops decrypted it.

The first part of `release.prepare`: the engine gets the opened values; the render
cache key is computed over the sealed ones (ciphertext tokens, marked where opened), so
no stored hash covers plaintext.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from reconciler.release_requests import Release
from reconciler.release_requests.yaml_source import read_yaml_file
from reconciler.render.charts import ChartSourceError
from reconciler.render.charts.confine import path_inside
from reconciler.render.jsonnet.engine import chart_app_version
from reconciler.render.model import ChartKind, Outputs, RenderError, ResolvedChart
from reconciler.render.values.merge import (
    ReleaseIdentity,
    compute_values,
    inject_dependency_outputs,
    meta_info_values,
    reserved_values,
)
from reconciler.sops import is_sops_document, substituted_object, without_metadata
from reconciler.types import JsonObject, JsonValue

JSONNET_KINDS = (ChartKind.JSONNET, ChartKind.WALM_JSONNET)

TokenResolver = Callable[[JsonObject, str, str], Mapping[str, JsonValue]]
"""The token map of a SOPS document (`SecretSource.tokens`, memoised), given how its
errors name it (`release shop/web: valuesFiles values/web.yaml`) and its file."""


@dataclass(frozen=True)
class SealedValues:
    """A release's merged values with its SOPS values still encrypted (`sealed`: what the
    render cache key is computed over, so no stored hash covers plaintext; each token
    its layer opens is marked so), the values the engine gets (`values`), and the token
    map that opened them. A token is opened only in the layer sops read it from: one
    copied into a plain layer (a values file, the chart's defaults, a dependency's
    output) stays ciphertext, as sops would leave it."""

    sealed: JsonObject
    values: JsonObject
    tokens: Mapping[str, JsonValue]


@dataclass(frozen=True)
class _ValuesLayer:
    """One values file: sealed (each SOPS value its token, marked as opened) and opened."""

    sealed: JsonObject
    opened: JsonObject


_OPENED_MARK = "opened:"
"""Before a token in the sealed values where its layer opens it: the render cache key
then tells an opened token from the same token copied into a plain layer (which stays
ciphertext), so the one is never answered with the other's render."""


def _marked(tokens: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    return {token: _OPENED_MARK + token for token in tokens}


def _values_files(
    release: Release, *, root: Path, subject: str, resolve: TokenResolver
) -> tuple[list[_ValuesLayer], dict[str, JsonValue]]:
    """The values files as layers, each opened by its own token map, and their tokens."""
    layers: list[_ValuesLayer] = []
    tokens: dict[str, JsonValue] = {}
    for relative in release.values_files:
        try:
            path = path_inside(root, relative, base=root, subject=f"{subject}: valuesFiles")
        except ChartSourceError as error:
            raise RenderError(str(error)) from None
        read = read_yaml_file(path, display_name=relative)
        if read.document is None or read.problems:
            raise RenderError(f"{subject}: " + "; ".join(p.render() for p in read.problems))
        data = read.document.data
        if not isinstance(data, dict):
            raise RenderError(f"{subject}: valuesFiles {relative} is not a mapping")
        if is_sops_document(data):
            found = resolve(data, f"{subject}: valuesFiles {relative}", relative)
            tokens.update(found)
            content = without_metadata(data)
            layers.append(
                _ValuesLayer(
                    substituted_object(content, _marked(found)), substituted_object(content, found)
                )
            )
        else:
            layers.append(_ValuesLayer(data, data))
    return layers, tokens


def release_values(
    release: Release,
    chart: ResolvedChart,
    *,
    dependency_outputs: Mapping[str, Outputs],
    repository_root: Path,
    resolve: TokenResolver,
) -> SealedValues:
    """The merged values, lowest to highest precedence, then Harmonia's reserved keys;
    SOPS values (of the values files and the release file) opened by `resolve`."""
    subject = f"release {release.key}"
    identity = ReleaseIdentity(
        name=release.name,
        namespace=release.namespace,
        chart_name=chart.name,
        chart_version=chart.version,
        chart_app_version=(
            chart_app_version(chart.root, subject=subject) if chart.kind in JSONNET_KINDS else ""
        ),
        dependencies={alias: str(target) for alias, target in release.dependencies.items()},
    )
    try:
        meta_values = meta_info_values(release.meta_info_params, chart.metainfo)
    except RenderError as error:
        raise RenderError(f"{subject}: {error}") from None
    layers, tokens = _values_files(release, root=repository_root, subject=subject, resolve=resolve)
    sealed_config = config_values = release.config_values
    if release.encrypted is not None:
        found = resolve(release.encrypted, f"{subject}: {release.source.file}", release.source.file)
        tokens.update(found)
        sealed_config = substituted_object(config_values, _marked(found))
        config_values = substituted_object(config_values, found)

    def merged(values_files: list[JsonObject], config: JsonObject) -> JsonObject:
        return compute_values(
            chart_defaults=chart.default_values,
            values_files=values_files,
            dependency_outputs=inject_dependency_outputs(
                dependency_outputs, metainfo=chart.metainfo
            ),
            config_values=config,
            meta_info_values=meta_values,
            reserved=reserved_values(identity) if chart.kind in JSONNET_KINDS else {},
        )

    sealed = merged([layer.sealed for layer in layers], sealed_config)
    if not tokens:
        return SealedValues(sealed, sealed, tokens)
    return SealedValues(sealed, merged([layer.opened for layer in layers], config_values), tokens)
