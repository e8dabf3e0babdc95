"""The release request and repository settings as frozen values: what loading produces.

Every later stage consumes them. Pure data, no I/O; mappings inside are read-only by contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeAlias

from reconciler.release_requests.diagnostics import SourceMap
from reconciler.types import JsonObject, JsonValue, ReleaseKey, release_key

API_VERSION = "harmonia.dev/v1alpha1"


@dataclass(frozen=True)
class ChartPath:
    """A chart folder or packaged `.tgz` in the repository, relative to its root."""

    path: str


@dataclass(frozen=True)
class RepoChart:
    """A chart from a chart repository named in `harmonia.yaml`."""

    repo_name: str
    chart_name: str
    chart_version: str


@dataclass(frozen=True)
class ChartImage:
    """An OCI chart reference, `oci://registry/repository/chart:tag` (or `@sha256:...`)."""

    reference: str


ChartSource: TypeAlias = ChartPath | RepoChart | ChartImage


@dataclass(frozen=True)
class MetaParam:
    """WALM's MetaCommonConfigValue; `value` is a YAML value (WALM had JSON text)."""

    name: str
    value: JsonValue = None
    type: str | None = None


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str = ""


@dataclass(frozen=True)
class RoleBaseConfig:
    image: str | None = None
    priority: int | None = None
    replicas: int | None = None
    env: tuple[EnvVar, ...] = ()
    env_map: Mapping[str, str] = field(default_factory=dict)
    use_host_network: bool | None = None
    others: tuple[MetaParam, ...] = ()


@dataclass(frozen=True)
class StorageResource:
    name: str
    storage_class: str | None = None
    size: str | None = None
    """A Kubernetes quantity such as `10Gi`."""
    access_modes: tuple[str, ...] = ()
    disk_replicas: int | None = None


@dataclass(frozen=True)
class RoleResources:
    """CPU and GPU in cores, memory in MiB (WALM's units)."""

    requests_cpu: float | None = None
    limits_cpu: float | None = None
    requests_memory: int | None = None
    limits_memory: int | None = None
    requests_gpu: float | None = None
    limits_gpu: float | None = None
    storage_resources: tuple[StorageResource, ...] = ()


@dataclass(frozen=True)
class RoleConfig:
    name: str
    base_config: RoleBaseConfig | None = None
    resources: RoleResources | None = None


@dataclass(frozen=True)
class MetaInfoParams:
    params: tuple[MetaParam, ...] = ()
    roles: tuple[RoleConfig, ...] = ()


@dataclass(frozen=True)
class Plugin:
    name: str
    args: JsonValue = None
    """Parsed: a JSON string in the file (WALM's way) arrives here as its value."""
    version: str | None = None
    disable: bool = False
    priority: int = 0


@dataclass(frozen=True)
class IgnoreDifference:
    kind: str
    json_pointers: tuple[str, ...]
    group: str = ""
    name: str | None = None
    namespace: str | None = None


class SourceFormat(StrEnum):
    HARMONIA = "harmonia"
    WALM = "walm"
    """A bare WALM release request body (with `namespace`)."""


@dataclass(frozen=True)
class Release:
    """One release request: the whole desired state of the release."""

    name: str
    namespace: str
    chart: ChartSource
    source: SourceMap = field(compare=False, repr=False)
    """Where each field was written, for later stages' error messages."""
    format: SourceFormat = SourceFormat.HARMONIA
    description: str = ""
    config_values: JsonObject = field(default_factory=dict)
    values_files: tuple[str, ...] = ()
    meta_info_params: MetaInfoParams = MetaInfoParams()
    dependencies: Mapping[str, ReleaseKey] = field(default_factory=dict)
    """Alias -> the release depended on (same-namespace names already qualified)."""
    release_labels: Mapping[str, str] = field(default_factory=dict)
    plugins: tuple[Plugin, ...] = ()
    paused: bool = False
    restarted_at: datetime | None = None
    prune: bool = True
    delete_pvcs: bool = False
    timeout_sec: int = 300
    ignore_differences: tuple[IgnoreDifference, ...] = ()
    force: bool = False
    adopt: bool = False
    self_heal: bool = True
    encrypted: JsonObject | None = field(default=None, repr=False)
    """The release file as written, SOPS metadata included, when it is partly encrypted:
    `config_values` then holds ciphertext tokens, opened at render time
    (`reconciler.sops`)."""

    @property
    def key(self) -> ReleaseKey:
        return release_key(self.namespace, self.name)


@dataclass(frozen=True)
class ReleaseDefaults:
    """`harmonia.yaml`'s `defaults`: values for releases that leave these fields out."""

    timeout_sec: int = 300
    prune: bool = True
    delete_pvcs: bool = False
    self_heal: bool = True


@dataclass(frozen=True)
class EnvironmentSettings:
    """One entry of `harmonia.yaml`'s `environments`: what differs for that environment.
    None keeps the repository's own setting."""

    name: str
    kube_version: str | None = None
    api_versions: tuple[str, ...] | None = None
    allowed_namespaces: tuple[str, ...] | None = None
    allow_cluster_scoped: bool | None = None
    status_branch: str | None = None


@dataclass(frozen=True)
class RepositoryConfig:
    """`harmonia.yaml`. The narrowing fields are None when the repository does not narrow."""

    source: SourceMap | None = field(default=None, compare=False, repr=False)
    releases_dir: str = "releases"
    chart_repositories: Mapping[str, str] = field(default_factory=dict)
    kube_version: str | None = None
    api_versions: tuple[str, ...] = ()
    defaults: ReleaseDefaults = ReleaseDefaults()
    status_branch: str = "harmonia-status"
    library_dirs: tuple[str, ...] = ()
    allowed_namespaces: tuple[str, ...] | None = None
    allow_cluster_scoped: bool | None = None
    strict_secrets: bool = False
    """A decrypted value outside a Secret's data fails its release (`Policy.strict_secrets`)."""
    confirm_removal: frozenset[ReleaseKey] = frozenset()
    """Releases whose removal a person confirmed: removed once their files leave Git,
    even when the snapshot-shrink guard would withhold it (and the last release too)."""
    environments: Mapping[str, EnvironmentSettings] = field(default_factory=dict)
    """The environments declared, by name (docs/environments.md); empty: none."""
    environment: str | None = None
    """The environment these settings are for (its own already applied), or None."""
