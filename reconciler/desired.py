"""The desired state of a repository: loaded, checked, ordered and rendered.

The first half of every pass and of the offline commands (`render`, `plan`,
`diff --base/--head`): plain data in, plain data out, the cluster consulted only
through the capabilities and external outputs the caller passes in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from reconciler.graph import ReleaseGraph, build_graph, pass_scope
from reconciler.policy import Policy, effective_policy, namespace_problems
from reconciler.release_requests import (
    Diagnostic,
    LoadedRepository,
    load_repository,
    require_environment,
)
from reconciler.release_requests.model import Release, RepositoryConfig
from reconciler.render.environment import VersionChoice, library_folders
from reconciler.render.model import RenderEnvironment
from reconciler.render.pipeline import (
    ExternalOutputs,
    Hold,
    RepositoryRender,
    render_repository,
)
from reconciler.render.plugins import validate_plugins
from reconciler.render.release import RenderSettings
from reconciler.render.secrets.sops_decryption import Placeholders, SopsDecryption, SopsSettings
from reconciler.types import ReleaseKey

Owns = Callable[[ReleaseKey], bool]
"""Whether this replica's shard owns a release (`harmonia run --shards`)."""
VersionsFor = Callable[[RepositoryConfig | None], VersionChoice]
"""Picks the Kubernetes and API versions once `harmonia.yaml` is known (see environment.py)."""


@dataclass(frozen=True)
class Tools:
    """The binaries and folders rendering uses, fixed for the reconciler's lifetime."""

    helm: Path | None
    """None when none was found: releases that need helm fail, the others render."""
    kubectl: Path | None
    cache_dir: Path
    library_dirs: tuple[Path, ...] = ()
    """The reconciler's own Jsonnet library folders, after the repository's."""
    plain_http_registries: tuple[str, ...] = ()
    cache_secrets: bool = False
    """Renders holding Secrets may be cached on disk (plaintext on the cache volume);
    by default they are kept in the process's memory only."""
    sops: SopsSettings | None = None
    """How SOPS files are decrypted; None: never (review without a key), their values
    render as placeholders."""
    renderer: Path | None = None
    """harmonia-renderer when found: Helm charts render in it instead of `helm template`."""


@dataclass(frozen=True)
class DesiredState:
    root: Path
    loaded: LoadedRepository
    graph: ReleaseGraph
    policy: Policy
    """The reconciler's policy narrowed by the repository's `harmonia.yaml`."""
    versions: VersionChoice
    render: RepositoryRender
    diagnostics: tuple[Diagnostic, ...]
    """Every validation problem: files, policy narrowing, cycles, namespaces."""
    scope: frozenset[ReleaseKey] | None = None
    """The releases a pass over this state takes (pass_scope of those asked for); None:
    the whole repository, the only case in which releases whose files left are removed."""
    owns: Owns | None = None
    """Under sharding, the releases of this replica's shard: the others are neither
    rendered, applied, removed nor reported here (their owners do it), and a dependency
    among them is read from its inventory record like one outside the repository."""

    def in_scope(self, key: ReleaseKey) -> bool:
        return (self.scope is None or key in self.scope) and (self.owns is None or self.owns(key))

    @property
    def has_errors(self) -> bool:
        return any(item.is_error for item in self.diagnostics)


def check_repository(
    root: Path,
    *,
    policy: Policy,
    environment: str | None = None,
    cache_dir: Path | None = None,
) -> tuple[LoadedRepository, ReleaseGraph, Policy, tuple[Diagnostic, ...]]:
    """Load and validate without rendering: what `harmonia validate` reports (for one
    `environment`, or the base files). A pass gives its `cache_dir`, so unchanged release
    files are not read and validated again.

    The graph is the one a pass renders and applies by, built once: it holds the releases
    the narrowed policy allows; one it refuses is left out like an invalid file (reported
    by its namespace problem), and its dependents wait.
    """
    loaded = load_repository(root, environment=environment, cache_dir=cache_dir)
    narrowed, policy_problems = effective_policy(policy, loaded.config)
    allowed = {
        key: release
        for key, release in loaded.releases.items()
        if narrowed.allows_namespace(release.namespace)
    }
    refused = loaded.releases.keys() - allowed.keys()
    graph = build_graph(allowed, invalid=loaded.invalid_releases | refused)
    found = [*loaded.diagnostics, *policy_problems, *graph.diagnostics]
    found.extend(namespace_problems(narrowed, loaded.releases))
    found.extend(_plugin_problems(loaded.releases.values()))
    return loaded, graph, narrowed, tuple(sorted(found, key=Diagnostic.sort_key))


def _plugin_problems(releases: Iterable[Release]) -> list[Diagnostic]:
    """Unknown plugins and bad plugin args, found by `validate` rather than at render time."""
    return [
        release.source.diagnostic(
            ("plugins",),
            problem,
            "see docs/plugins.md for the plugins and their args",
            at_key=True,
        )
        for release in releases
        for problem in validate_plugins(release.plugins)
    ]


def compute_desired_state(
    root: Path,
    *,
    policy: Policy,
    versions_for: VersionsFor,
    tools: Tools,
    environment: str | None = None,
    external_outputs: ExternalOutputs = lambda _key: None,
    only: frozenset[ReleaseKey] | None = None,
    dependents: bool = False,
    hold: Hold = lambda _key, _depended: None,
    owns: Owns | None = None,
) -> DesiredState:
    """Load, validate, order and render the repository at `root`.

    Releases outside the narrowed policy's namespaces are not rendered (they are
    reported as diagnostics); `only` limits the state to those releases, with
    `dependents` the releases depending on them, and what all these depend on; `hold`
    may keep a release from rendering (`render_repository`); `owns` keeps the state to
    this replica's shard (`DesiredState.owns`). A repository declaring
    environments is rendered for one only: `EnvironmentChoiceError` without it.
    """
    loaded, graph, narrowed, diagnostics = check_repository(
        root, policy=policy, environment=environment, cache_dir=tools.cache_dir
    )
    require_environment(loaded.config)
    versions = versions_for(loaded.config)
    allowed = {key: loaded.releases[key] for key in graph.releases}
    settings = RenderSettings(
        repository_root=root,
        repository=loaded.config or RepositoryConfig(),
        environment=RenderEnvironment(
            kube_version=versions.kube_version,
            api_versions=versions.api_versions,
            helm=tools.helm,
            kubectl=tools.kubectl,
            renderer=tools.renderer,
            library_dirs=library_folders(root, loaded.config, extra=tools.library_dirs),
            cache_dir=tools.cache_dir,
        ),
        policy=narrowed,
        cache_dir=tools.cache_dir,
        plain_http_registries=tools.plain_http_registries,
        cache_secrets=tools.cache_secrets,
        secrets=SopsDecryption(tools.sops) if tools.sops is not None else Placeholders(),
    )
    # Through the releases the policy allows only: a refused release is reported, and
    # nothing it depends on is applied for it.
    scope = None if only is None else pass_scope(only, allowed, dependents=dependents)
    rendered_only = scope
    if owns is not None:
        rendered_only = frozenset(key for key in scope or allowed if owns(key))
    render = render_repository(
        allowed, graph, settings, external_outputs=external_outputs, only=rendered_only, hold=hold
    )
    return DesiredState(
        root=root,
        loaded=loaded,
        graph=graph,
        policy=narrowed,
        versions=versions,
        render=render,
        diagnostics=diagnostics,
        scope=scope,
        owns=owns,
    )
