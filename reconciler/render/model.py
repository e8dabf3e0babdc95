"""Plain data shared by the rendering stage: what a chart engine is given and returns.

Rendering sits between the dependency graph and the diff: a release request plus
its dependencies' outputs become the exact objects to apply. No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from reconciler.types import JsonObject, ReleaseKey

if TYPE_CHECKING:
    # metainfo.py reads the file into these types and imports RenderError from here.
    from reconciler.render.values.metainfo import ChartMetaInfo

KubeObject: TypeAlias = JsonObject
"""One Kubernetes object as a JSON-compatible dict (apiVersion, kind, metadata, ...)."""

OutputValue: TypeAlias = str | int | float | bool
Outputs: TypeAlias = Mapping[str, OutputValue]
"""A release's published outputs (the Contracts' flat map, WALM's `outputConfig`)."""


class ChartKind(StrEnum):
    HELM = "helm"
    JSONNET = "jsonnet"
    """A plain Jsonnet chart: one main `.jsonnet` file taking the values."""
    WALM_JSONNET = "walm-jsonnet"
    """A WALM chart: Helm layout whose templates are Jsonnet evaluated as WALM did."""
    PLAIN = "plain"
    """A folder of YAML manifests."""
    KUSTOMIZE = "kustomize"


@dataclass(frozen=True)
class ResolvedChart:
    """A chart on local disk, ready for its engine."""

    root: Path
    kind: ChartKind
    name: str
    version: str
    digest: str
    """A content hash of every file of the chart: part of the render cache key."""
    default_values: JsonObject = field(default_factory=dict)
    metainfo: ChartMetaInfo | None = None
    sops_manifests: tuple[SopsManifest, ...] = ()
    """The SOPS documents among a plain or Kustomize chart's manifests (ciphertext)."""


@dataclass(frozen=True)
class SopsManifest:
    """A manifest file of a chart that is a SOPS document, as found in the file."""

    path: str
    """Relative to the chart folder."""
    document: JsonObject


@dataclass(frozen=True)
class RenderEnvironment:
    """What the target cluster offers, and the tools rendering runs.

    `kube_version`/`api_versions` come from the cluster when reachable, else from
    `harmonia.yaml` (the Contracts), so a pull-request diff renders what apply will.
    """

    kube_version: str
    api_versions: tuple[str, ...]
    helm: Path | None
    """None when no helm was found: only what needs it fails (HELM_NOT_FOUND)."""
    kubectl: Path | None = None
    renderer: Path | None = None
    """harmonia-renderer, Helm's engine in one long-lived process; None: `helm template`
    runs once per release (reconciler/render/helm/renderer.py)."""
    library_dirs: tuple[Path, ...] = ()
    """Absolute Jsonnet library folders (e.g. a vendored ksonnet-lib)."""
    cache_dir: Path | None = None


@dataclass(frozen=True)
class Hook:
    """A Helm hook object, rendered but applied by the hook runner, never inventoried."""

    object: KubeObject
    events: tuple[str, ...]
    weight: int = 0
    delete_policies: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChartOutput:
    """What an engine returns: objects in render order, and hooks set apart."""

    objects: tuple[KubeObject, ...]
    hooks: tuple[Hook, ...] = ()


@dataclass(frozen=True)
class RenderedRelease:
    """A release ready to diff: owned objects, hooks, outputs for its dependents."""

    key: ReleaseKey
    objects: tuple[KubeObject, ...]
    hooks: tuple[Hook, ...]
    outputs: Outputs
    values: JsonObject
    """The values the engine got, each decrypted SOPS value in them reading `***`."""
    input_hash: str
    """sha256 of the objects, hooks and outputs: changes exactly when what would be applied does."""
    warnings: tuple[str, ...] = ()
    """What rendering changed or doubted without failing (an API version converted, a
    dependency's chart outside its declared range), one line each, naming the subject."""
    chart_name: str = ""
    chart_version: str = ""
    secret_outputs: frozenset[str] = frozenset()
    """Outputs whose value a Secret of the pass holds: recorded and shown as `***`
    (`secret_values.public_outputs`), handed to dependents in memory only."""
    dependencies: Mapping[str, DependedRelease] = field(default_factory=dict)
    """The releases depended on, by alias, with the outputs this render used: from this
    pass's renders, or from the cluster for a release outside the repository."""


@dataclass(frozen=True)
class DependedRelease:
    """What a dependent learns of a release it depends on: its outputs, and its chart
    when known (for the range checks of the dependent's metainfo)."""

    key: ReleaseKey
    outputs: Outputs
    chart_name: str = ""
    """Empty when the source does not say (another repository's inventory record)."""
    chart_version: str = ""


class RenderError(Exception):
    """A release could not be rendered. Permanent: it waits for a new commit.

    The message starts with the subject (release, chart or object) and says why.
    """
