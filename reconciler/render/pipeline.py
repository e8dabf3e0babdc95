"""One release, and then a whole repository, from request to objects ready to diff.

The rendering stage of a pass: resolve the chart, check the dependencies against its
metainfo, merge the values (chart defaults < valuesFiles < dependency outputs <
configValues < metaInfoParams), run the engine (through the render cache), take the
outputs out, run plugins, stamp ownership, convert API versions the cluster no longer
serves. Releases go in dependency order so dependents receive the outputs just
rendered; a failure stops only the release and its dependents.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.graph import ReleaseGraph
from reconciler.policy import Policy
from reconciler.render.api_versions import convert_removed_api_versions
from reconciler.render.cache import RenderCache, canonical_json, environment_fingerprint, render_key
from reconciler.render.chart import describe_chart
from reconciler.render.charts import ChartSourceError, resolve_chart
from reconciler.render.charts.confine import path_inside
from reconciler.render.dependencies import check_dependencies
from reconciler.render.helm import render_helm
from reconciler.render.jsonnet import chart_app_version, render_jsonnet
from reconciler.render.manifests import render_kustomize, render_plain
from reconciler.render.model import (
    ChartKind,
    ChartOutput,
    DependedRelease,
    KubeObject,
    Outputs,
    RenderedRelease,
    RenderEnvironment,
    RenderError,
    ResolvedChart,
)
from reconciler.render.outputs import extract_outputs
from reconciler.render.ownership import apply_ownership
from reconciler.render.plugins.registry import apply_plugins
from reconciler.render.values import (
    ReleaseIdentity,
    compute_values,
    inject_dependency_outputs,
    meta_info_values,
    reserved_values,
)
from reconciler.render.walm_jsonnet import render_walm_jsonnet
from reconciler.spec import Release
from reconciler.spec.model import RepositoryConfig
from reconciler.spec.yaml_source import read_yaml_file
from reconciler.types import JsonObject, ReleaseKey

Engine = Callable[..., ChartOutput]
ENGINES: Mapping[ChartKind, Engine] = {
    ChartKind.HELM: render_helm,
    ChartKind.JSONNET: render_jsonnet,
    ChartKind.WALM_JSONNET: render_walm_jsonnet,
    ChartKind.PLAIN: render_plain,
    ChartKind.KUSTOMIZE: render_kustomize,
}
JSONNET_KINDS = (ChartKind.JSONNET, ChartKind.WALM_JSONNET)

ExternalOutputs = Callable[[ReleaseKey], DependedRelease | None]
"""A release outside the repository as the cluster knows it (its outputs, its chart when
known), None if it has published no outputs."""


@dataclass(frozen=True)
class RenderSettings:
    """Everything a pass renders with, besides the releases themselves."""

    repository_root: Path
    repository: RepositoryConfig
    environment: RenderEnvironment
    policy: Policy
    cache_dir: Path
    plain_http_registries: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReleaseProblem:
    """Why a release has no render this pass. Temporary problems (a chart server
    down) are retried; the others wait for a new commit."""

    message: str
    temporary: bool = False


@dataclass(frozen=True)
class RepositoryRender:
    rendered: Mapping[ReleaseKey, RenderedRelease] = field(default_factory=dict)
    failed: Mapping[ReleaseKey, ReleaseProblem] = field(default_factory=dict)
    blocked: Mapping[ReleaseKey, str] = field(default_factory=dict)
    """Releases not rendered because of a dependency (failed, blocked, or without outputs)."""
    engine_runs: int = 0
    """Renders that missed the cache this pass."""


def _values_files(release: Release, *, root: Path, subject: str) -> list[JsonObject]:
    layers: list[JsonObject] = []
    for relative in release.values_files:
        try:
            path = path_inside(root, relative, base=root, subject=f"{subject}: valuesFiles")
        except ChartSourceError as error:
            raise RenderError(str(error)) from None
        read = read_yaml_file(path, display_name=relative)
        if read.document is None or read.problems:
            raise RenderError(f"{subject}: " + "; ".join(p.render() for p in read.problems))
        if not isinstance(read.document.data, dict):
            raise RenderError(f"{subject}: valuesFiles {relative} is not a mapping")
        layers.append(read.document.data)
    return layers


def release_values(
    release: Release,
    chart: ResolvedChart,
    *,
    dependency_outputs: Mapping[str, Outputs],
    repository_root: Path,
) -> JsonObject:
    """The merged values, lowest to highest precedence, then Harmonia's reserved keys."""
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
    return compute_values(
        chart_defaults=chart.default_values,
        values_files=_values_files(release, root=repository_root, subject=subject),
        dependency_outputs=inject_dependency_outputs(dependency_outputs, metainfo=chart.metainfo),
        config_values=release.config_values,
        meta_info_values=meta_values,
        reserved=reserved_values(identity) if chart.kind in JSONNET_KINDS else {},
    )


@dataclass
class ReleaseRenderer:
    """Renders releases of one pass, sharing the cache and the environment fingerprint."""

    settings: RenderSettings
    cache: RenderCache
    fingerprint: str
    engine_runs: int = 0

    @classmethod
    def for_settings(cls, settings: RenderSettings) -> ReleaseRenderer:
        return cls(
            settings=settings,
            cache=RenderCache(settings.cache_dir / "render"),
            fingerprint=environment_fingerprint(settings.environment),
        )

    def render(
        self, release: Release, *, dependencies: Mapping[str, DependedRelease]
    ) -> RenderedRelease:
        """Render `release`, its dependencies (by alias) already rendered or found."""
        settings = self.settings
        subject = f"release {release.key}"
        try:
            local = resolve_chart(
                release.chart,
                repository_root=settings.repository_root,
                chart_repositories=settings.repository.chart_repositories,
                cache_dir=settings.cache_dir / "charts",
                helm=settings.environment.helm,
                plain_http_registries=settings.plain_http_registries,
            )
        except ChartSourceError:
            raise
        chart = describe_chart(local, subject=f"{subject}: chart {local.name}")
        warnings = check_dependencies(
            release,
            chart.metainfo,
            dependencies,
            chart_name=chart.name,
            strict=settings.policy.strict_dependencies,
        )
        values = release_values(
            release,
            chart,
            dependency_outputs={alias: found.outputs for alias, found in dependencies.items()},
            repository_root=settings.repository_root,
        )
        key = render_key(
            chart,
            release_name=release.name,
            namespace=release.namespace,
            values=values,
            environment=self.fingerprint,
        )
        output = self.cache.get(key)
        if output is None:
            output = ENGINES[chart.kind](
                chart,
                release_name=release.name,
                namespace=release.namespace,
                values=values,
                env=settings.environment,
            )
            self.cache.put(key, output)
            self.engine_runs += 1
        objects, outputs = extract_outputs(output.objects)
        default_plugins = chart.metainfo.plugins if chart.metainfo is not None else ()
        objects = apply_plugins(
            objects, release.plugins, chart_default_plugins=default_plugins, release=release.key
        )
        objects, object_warnings = self._finished(objects, release)
        hook_objects, hook_warnings = self._finished([h.object for h in output.hooks], release)
        hooks = tuple(
            dataclasses.replace(hook, object=finished)
            for hook, finished in zip(output.hooks, hook_objects, strict=True)
        )
        digest = hashlib.sha256(
            canonical_json(
                {
                    "objects": list(objects),
                    "hooks": [dataclasses.asdict(hook) for hook in hooks],
                    "outputs": dict(outputs),
                }
            )
        ).hexdigest()
        return RenderedRelease(
            key=release.key,
            objects=objects,
            hooks=hooks,
            outputs=outputs,
            values=values,
            input_hash=digest,
            warnings=(*warnings, *object_warnings, *hook_warnings),
            chart_name=chart.name,
            chart_version=chart.version,
        )

    def _finished(
        self, objects: Sequence[KubeObject], release: Release
    ) -> tuple[tuple[KubeObject, ...], tuple[str, ...]]:
        """Ownership stamped, then removed API versions converted (with their warnings)."""
        owned = apply_ownership(objects, release=release.key, policy=self.settings.policy)
        environment = self.settings.environment
        converted = convert_removed_api_versions(
            owned,
            kube_version=environment.kube_version,
            api_versions=environment.api_versions,
        )
        return converted.objects, converted.warnings


def render_repository(
    releases: Mapping[ReleaseKey, Release],
    graph: ReleaseGraph,
    settings: RenderSettings,
    *,
    external_outputs: ExternalOutputs = lambda _key: None,
    only: frozenset[ReleaseKey] | None = None,
) -> RepositoryRender:
    """Render every release the graph lets proceed, dependencies first.

    `only` limits the work to those releases and what they depend on.
    """
    renderer = ReleaseRenderer.for_settings(settings)
    wanted = _with_dependencies(only, releases) if only is not None else None
    rendered: dict[ReleaseKey, RenderedRelease] = {}
    failed: dict[ReleaseKey, ReleaseProblem] = {}
    blocked: dict[ReleaseKey, str] = dict(graph.blocked)
    for level in graph.levels:
        for key in level:
            if wanted is not None and key not in wanted:
                continue
            release = releases[key]
            depended, reason = _depended_releases(
                release,
                rendered=rendered,
                failed=failed,
                blocked=blocked,
                external=external_outputs,
            )
            if reason is not None:
                blocked[key] = reason
                continue
            try:
                rendered[key] = renderer.render(release, dependencies=depended)
            except ChartSourceError as error:
                failed[key] = ReleaseProblem(f"release {key}: {error}", temporary=error.temporary)
            except RenderError as error:
                failed[key] = ReleaseProblem(str(error))
    return RepositoryRender(
        rendered=rendered, failed=failed, blocked=blocked, engine_runs=renderer.engine_runs
    )


def _with_dependencies(
    only: frozenset[ReleaseKey], releases: Mapping[ReleaseKey, Release]
) -> frozenset[ReleaseKey]:
    wanted: set[ReleaseKey] = set()
    pending = [key for key in only if key in releases]
    while pending:
        key = pending.pop()
        if key in wanted:
            continue
        wanted.add(key)
        pending.extend(t for t in releases[key].dependencies.values() if t in releases)
    return frozenset(wanted)


def _depended_releases(
    release: Release,
    *,
    rendered: Mapping[ReleaseKey, RenderedRelease],
    failed: Mapping[ReleaseKey, ReleaseProblem],
    blocked: Mapping[ReleaseKey, str],
    external: ExternalOutputs,
) -> tuple[dict[str, DependedRelease], str | None]:
    """The releases depended on, by alias, or the reason the release cannot render yet."""
    depended: dict[str, DependedRelease] = {}
    for alias, target in sorted(release.dependencies.items()):
        if target in rendered:
            done = rendered[target]
            depended[alias] = DependedRelease(
                target, done.outputs, chart_name=done.chart_name, chart_version=done.chart_version
            )
        elif target in failed:
            return {}, f"dependency {target} failed to render"
        elif target in blocked:
            return {}, f"dependency {target} is blocked: {blocked[target]}"
        else:
            found = external(target)
            if found is None:
                return (
                    {},
                    f"dependency {target} is not in the repository and has published no outputs",
                )
            depended[alias] = found
    return depended, None
