"""One release, from request to objects ready to diff, in three steps a pass can spread out.

`prepare` resolves the chart, checks the dependencies against its metainfo, merges the
values (chart defaults < valuesFiles < dependency outputs < configValues <
metaInfoParams) and looks the render up in the cache; `run_engine` runs the chart's
engine on a miss (helm is a child process: the pipeline runs these on a thread pool);
`finish` expands Lists into their items, takes the outputs out, runs plugins, stamps
ownership and converts API versions the cluster no longer serves.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.digest import sha256_hex
from reconciler.policy import Policy
from reconciler.release_requests import Release
from reconciler.release_requests.model import ChartSource, RepositoryConfig
from reconciler.render.cache import RenderCache, canonical_json, environment_fingerprint, render_key
from reconciler.render.chart_description import describe_chart
from reconciler.render.charts import LocalChart, resolve_chart
from reconciler.render.helm.engine import render_helm
from reconciler.render.jsonnet.engine import render_jsonnet
from reconciler.render.jsonnet.walm import render_walm_jsonnet
from reconciler.render.manifests.api_versions import convert_removed_api_versions
from reconciler.render.manifests.engines import render_kustomize, render_plain
from reconciler.render.manifests.flatten import flatten_objects
from reconciler.render.manifests.sops_manifests import OpenedManifests, opened_output
from reconciler.render.model import (
    ChartKind,
    ChartOutput,
    DependedRelease,
    KubeObject,
    RenderedRelease,
    RenderEnvironment,
    RenderError,
    ResolvedChart,
)
from reconciler.render.ownership import apply_ownership
from reconciler.render.plugins.registry import apply_plugins
from reconciler.render.release_values import release_values
from reconciler.render.secrets.landing import misplaced_values, names_an_object
from reconciler.render.secrets.redaction import MIN_REDACTED_LENGTH, disguises, masked_values
from reconciler.render.secrets.sealing import as_text, sealed, sealed_digest
from reconciler.render.secrets.sops_decryption import Placeholders, SecretSource
from reconciler.render.values.dependency_check import check_dependencies
from reconciler.render.values.outputs import extract_outputs
from reconciler.types import JsonObject, JsonValue

Engine = Callable[..., ChartOutput]
ENGINES: Mapping[ChartKind, Engine] = {
    ChartKind.HELM: render_helm,
    ChartKind.JSONNET: render_jsonnet,
    ChartKind.WALM_JSONNET: render_walm_jsonnet,
    ChartKind.PLAIN: render_plain,
    ChartKind.KUSTOMIZE: render_kustomize,
}

DEFAULT_RENDER_WORKERS = min(8, (os.cpu_count() or 1) * 2)
"""Engines run at once. They are mostly child processes (`helm template`, `kubectl
kustomize`) busy on a core each while the thread waiting for them holds no lock: two per
core keep the cores busy while the main thread does the Python steps; more would only
queue, and eight bound the memory of the helm processes running together."""


@dataclass(frozen=True)
class RenderSettings:
    """Everything a pass renders with, besides the releases themselves."""

    repository_root: Path
    repository: RepositoryConfig
    environment: RenderEnvironment
    policy: Policy
    cache_dir: Path
    plain_http_registries: tuple[str, ...] = ()
    render_workers: int = DEFAULT_RENDER_WORKERS
    """Engines of one graph level run in parallel; 1 runs them one at a time."""
    cache_secrets: bool = False
    """Whether renders holding Secrets may be cached on disk (`Tools.cache_secrets`)."""
    secrets: SecretSource = field(default_factory=Placeholders)
    """What SOPS-encrypted values become: decrypted (apply, run, diff against the
    cluster) or placeholders (review without a key)."""


@dataclass(frozen=True)
class PreparedRelease:
    """A release with everything its engine needs, and the engine's output when the cache
    had it."""

    release: Release
    chart: ResolvedChart
    values: JsonObject
    cache_key: str
    warnings: tuple[str, ...]
    cached: ChartOutput | None
    dependencies: Mapping[str, DependedRelease] = field(default_factory=dict)
    decrypted: Mapping[str, JsonValue] = field(default_factory=dict)
    """The token map of the SOPS values the release used, when decrypted (not
    placeholders): its render stays off the disk and its hashes cover the tokens."""
    opened: Mapping[str, JsonValue] = field(default_factory=dict)
    """Every token map the release used, decrypted or placeholders: where their values
    land outside a Secret is a warning (an error under strictSecrets)."""
    manifests: OpenedManifests = ()
    """The chart's SOPS manifests with their token maps: the engine and the cache see
    their ciphertext; `finish` puts the values in place."""


@dataclass
class ReleaseRenderer:
    """Renders the releases of one pass, sharing the cache and the environment fingerprint.

    Each chart is resolved and described once per pass (its folder read and hashed once,
    not once per release using it); a failure is not kept, so every release reports its
    own. `run_engine` may run on several threads at once; the other steps run on one.
    """

    settings: RenderSettings
    cache: RenderCache
    fingerprint: str
    engine_runs: int = 0
    decrypted: dict[str, JsonValue] = field(default_factory=dict)
    """Every SOPS value decrypted this pass, by token: failure messages are redacted
    against them, and a dependent given one in an output is treated as decrypting it."""
    origins: dict[str, str] = field(default_factory=dict)
    """The file each token of this pass came from, for the warnings naming it."""
    _tokens: dict[str, dict[str, JsonValue]] = field(default_factory=dict, init=False)
    _local_charts: dict[ChartSource, LocalChart] = field(default_factory=dict, init=False)
    _charts: dict[LocalChart, ResolvedChart] = field(default_factory=dict, init=False)
    _count_lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @classmethod
    def for_settings(cls, settings: RenderSettings) -> ReleaseRenderer:
        return cls(
            settings=settings,
            cache=RenderCache(
                settings.cache_dir / "render", secrets_on_disk=settings.cache_secrets
            ),
            fingerprint=environment_fingerprint(settings.environment),
        )

    def prepare(
        self, release: Release, *, dependencies: Mapping[str, DependedRelease]
    ) -> PreparedRelease:
        """`release` ready for its engine, its dependencies (by alias) rendered or found."""
        settings = self.settings
        chart = self._chart(release)
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
            resolve=self._resolve_tokens,
        )
        manifests: OpenedManifests = tuple(
            (
                found.document,
                self._resolve_tokens(
                    found.document,
                    f"release {release.key}: chart {chart.name}: {found.path}",
                    f"{found.path} of chart {chart.name}",
                ),
            )
            for found in chart.sops_manifests
        )
        manifest_tokens = {token: v for _, tokens in manifests for token, v in tokens.items()}
        inherited = self._inherited(dependencies)
        opened = {**inherited, **values.tokens, **manifest_tokens}
        decrypted = opened if settings.secrets.decrypts else inherited
        key = render_key(
            chart,
            release_name=release.name,
            namespace=release.namespace,
            values=_as_object(sealed(values.sealed, inherited)) if inherited else values.sealed,
            environment=self.fingerprint,
            opened_by="decrypted" if decrypted else "placeholders" if values.tokens else "",
        )
        return PreparedRelease(
            release,
            chart,
            values.values,
            key,
            warnings,
            self.cache.get(key),
            dict(dependencies),
            decrypted=decrypted,
            opened=opened,
            manifests=manifests,
        )

    def plaintexts_of_pass(self) -> frozenset[str]:
        """Every value decrypted this pass, as text and in the forms an error text may
        give it (`disguises`), whether its release rendered or not; not booleans (nor
        null or empty): `true` hides nothing, and would make every output reading `true`
        secret."""
        return _plaintexts(self.decrypted)

    def _inherited(self, dependencies: Mapping[str, DependedRelease]) -> dict[str, JsonValue]:
        """The values decrypted this pass that an output of `dependencies` holds, whole or
        in its text, as written or disguised (`b64enc`): the dependent's render holds
        plaintext as if it had decrypted it."""
        if not self.decrypted:
            return {}
        texts = [as_text(v) for found in dependencies.values() for v in found.outputs.values()]
        return {
            token: value
            for token, value in self.decrypted.items()
            if any(
                _holds(text, disguise) for disguise in disguises(as_text(value)) for text in texts
            )
        }

    def _resolve_tokens(
        self, document: JsonObject, where: str, file: str
    ) -> Mapping[str, JsonValue]:
        """The token map of a SOPS document, asked of the secret source once per pass
        (a values file shared by many releases is decrypted once)."""
        memo = sha256_hex(canonical_json(document))
        found = self._tokens.get(memo)
        if found is None:
            secrets = self.settings.secrets
            found = self._tokens[memo] = secrets.tokens(document, file=where)
            if secrets.decrypts:
                self.decrypted.update(found)
            for token in found:
                self.origins.setdefault(token, file)
        return found

    def run_engine(self, prepared: PreparedRelease) -> ChartOutput:
        """The chart's engine run for a release the cache did not have, its output stored."""
        release = prepared.release
        output = ENGINES[prepared.chart.kind](
            prepared.chart,
            release_name=release.name,
            namespace=release.namespace,
            values=prepared.values,
            env=self.settings.environment,
        )
        self.cache.put(prepared.cache_key, output, in_memory=bool(prepared.decrypted))
        with self._count_lock:
            self.engine_runs += 1
        return output

    def finish(self, prepared: PreparedRelease, output: ChartOutput) -> RenderedRelease:
        """The engine's output made into the release's objects, hooks and outputs."""
        release, chart = prepared.release, prepared.chart
        subject = f"release {release.key}: chart {chart.name}"
        if prepared.manifests:
            output = opened_output(output, prepared.manifests)
        objects, outputs = extract_outputs(flatten_objects(output.objects, subject=subject))
        default_plugins = chart.metainfo.plugins if chart.metainfo is not None else ()
        objects = apply_plugins(
            objects, release.plugins, chart_default_plugins=default_plugins, release=release.key
        )
        objects, object_warnings = self._finished(objects, release)
        # A hook that is a List stands for its items, each a hook of the same events.
        listed_hooks = [
            dataclasses.replace(hook, object=item)
            for hook in output.hooks
            for item in flatten_objects([hook.object], subject=subject)
        ]
        hook_objects, hook_warnings = self._finished([h.object for h in listed_hooks], release)
        hooks = tuple(
            dataclasses.replace(hook, object=finished)
            for hook, finished in zip(listed_hooks, hook_objects, strict=True)
        )
        misplaced = self._misplaced(prepared, (*objects, *hook_objects))
        rendered: JsonObject = {
            "objects": list(objects),
            "hooks": [dataclasses.asdict(hook) for hook in hooks],
            "outputs": dict(outputs),
        }
        digest = (
            sealed_digest(rendered, prepared.decrypted)
            if prepared.decrypted
            else sha256_hex(canonical_json(rendered))
        )
        return RenderedRelease(
            key=release.key,
            objects=objects,
            hooks=hooks,
            outputs=outputs,
            # Recorded and shown (the API's computedValues): never a decrypted value.
            values=_as_object(masked_values(prepared.values, _plaintexts(prepared.decrypted)))
            if prepared.decrypted
            else prepared.values,
            input_hash=digest,
            warnings=(*prepared.warnings, *object_warnings, *hook_warnings, *misplaced),
            chart_name=chart.name,
            chart_version=chart.version,
            dependencies=prepared.dependencies,
        )

    def _misplaced(
        self, prepared: PreparedRelease, objects: Sequence[KubeObject]
    ) -> tuple[str, ...]:
        """Where the release's SOPS values landed outside a Secret's data: warnings, or
        a RenderError when strictSecrets is on (nothing of the release is applied)."""
        if not prepared.opened:
            return ()
        found = misplaced_values(objects, prepared.opened, self.origins)
        naming = [finding for finding in found if names_an_object(finding)]
        if naming:
            raise RenderError(f"release {prepared.release.key}: " + "; ".join(naming))
        if found and self.settings.policy.strict_secrets:
            raise RenderError(
                f"release {prepared.release.key}: "
                + "; ".join(found)
                + " (strictSecrets is on: decrypted values belong in a Secret's data)"
            )
        return found

    def _chart(self, release: Release) -> ResolvedChart:
        """The release's chart on local disk, described (kind, default values, metainfo)."""
        local = self._local_charts.get(release.chart)
        if local is None:
            local = self._local_charts[release.chart] = self._resolve(release.chart)
        described = self._charts.get(local)
        if described is None:
            subject = f"release {release.key}: chart {local.name}"
            described = self._charts[local] = describe_chart(local, subject=subject)
        return described

    def _resolve(self, source: ChartSource) -> LocalChart:
        settings = self.settings
        return resolve_chart(
            source,
            repository_root=settings.repository_root,
            chart_repositories=settings.repository.chart_repositories,
            cache_dir=settings.cache_dir / "charts",
            helm=settings.environment.helm,
            plain_http_registries=settings.plain_http_registries,
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


def _plaintexts(decrypted: Mapping[str, JsonValue]) -> frozenset[str]:
    return frozenset(
        disguise
        for value in decrypted.values()
        if not isinstance(value, bool) and value not in (None, "")
        for disguise in disguises(as_text(value))
    )


def _holds(text: str, plaintext: str) -> bool:
    return text == plaintext or (len(plaintext) >= MIN_REDACTED_LENGTH and plaintext in text)


def _as_object(value: JsonValue) -> JsonObject:
    """A mapping sealed is still one."""
    return value if isinstance(value, dict) else {}
