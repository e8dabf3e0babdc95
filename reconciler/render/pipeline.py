"""A whole repository rendered: every release the graph lets proceed, dependencies first.

The rendering stage of a pass, over `release.py`'s three steps. Releases go in
dependency order so dependents receive the outputs just rendered; within one graph
level the engines of the releases the cache misses run in parallel on a thread pool,
while the other steps run in order on the calling thread, so the outcome is the one a
release-by-release render gives. A failure stops only the release and its dependents.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TypeVar

from reconciler.graph import ReleaseGraph
from reconciler.release_requests import Release
from reconciler.render.cache import hold_in_memory
from reconciler.render.charts import ChartSourceError
from reconciler.render.model import ChartOutput, DependedRelease, RenderedRelease, RenderError
from reconciler.render.release import PreparedRelease, ReleaseRenderer, RenderSettings
from reconciler.render.secrets.redaction import redacted, secret_output_names, values_of_secrets
from reconciler.render.secrets.sops_decryption import DecryptionError
from reconciler.types import ReleaseKey

T = TypeVar("T")

ExternalOutputs = Callable[[ReleaseKey], DependedRelease | None]
"""A release outside the repository as the cluster knows it (its outputs, its chart when
known), None if it has published no outputs."""


@dataclass(frozen=True)
class ReleaseProblem:
    """Why a release has no render this pass. Temporary problems (a chart server
    down) are retried; the others wait for a new commit."""

    message: str
    temporary: bool = False


Hold = Callable[[ReleaseKey, Mapping[str, DependedRelease]], ReleaseProblem | None]
"""Asked of each release about to render, with the dependencies it would render with:
a problem to report instead of rendering it (the loop's permanent failure whose inputs
have not changed), or None to render it."""


@dataclass(frozen=True)
class RepositoryRender:
    rendered: Mapping[ReleaseKey, RenderedRelease] = field(default_factory=dict)
    failed: Mapping[ReleaseKey, ReleaseProblem] = field(default_factory=dict)
    blocked: Mapping[ReleaseKey, str] = field(default_factory=dict)
    """Releases not rendered because of a dependency (failed, blocked, or without outputs)."""
    engine_runs: int = 0
    """Renders that missed the cache this pass."""
    secrets: frozenset[str] = frozenset()
    """Every value the rendered Secrets hold (`secret_values`) and every SOPS value
    decrypted: texts leaving the pass are redacted against it, and an output equal to
    one is a secret output. Memory only."""


def render_repository(
    releases: Mapping[ReleaseKey, Release],
    graph: ReleaseGraph,
    settings: RenderSettings,
    *,
    external_outputs: ExternalOutputs = lambda _key: None,
    only: frozenset[ReleaseKey] | None = None,
    hold: Hold = lambda _key, _depended: None,
) -> RepositoryRender:
    """Render every release the graph lets proceed, dependencies first.

    `only` limits the work to those releases: a pass's scope, which holds what they
    depend on (graph.pass_scope); a release `hold` answers for is failed with its
    answer, not rendered.
    """
    renderer = ReleaseRenderer.for_settings(settings)
    hold_in_memory(len(releases))
    rendered: dict[ReleaseKey, RenderedRelease] = {}
    failed: dict[ReleaseKey, ReleaseProblem] = {}
    blocked: dict[ReleaseKey, str] = dict(graph.blocked)
    pool = ThreadPoolExecutor(settings.render_workers, thread_name_prefix="render")
    try:
        for level in graph.levels:
            ready: list[tuple[Release, Mapping[str, DependedRelease]]] = []
            for key in level:
                if only is not None and key not in only:
                    continue
                depended, reason = _depended_releases(
                    releases[key],
                    rendered=rendered,
                    failed=failed,
                    blocked=blocked,
                    external=external_outputs,
                )
                held = hold(key, depended) if reason is None else None
                if held is not None:
                    failed[key] = held
                elif reason is None:
                    ready.append((releases[key], depended))
                else:
                    blocked[key] = reason
            for outcome in _render_level(renderer, ready, pool):
                if isinstance(outcome, RenderedRelease):
                    rendered[outcome.key] = outcome
                else:
                    failed[outcome.key] = outcome.problem
    finally:
        # Interrupted (a signal, a bug): the engine runs not started yet never start.
        pool.shutdown(cancel_futures=True)
    secrets = renderer.plaintexts_of_pass() | values_of_secrets(
        obj
        for release in rendered.values()
        for obj in (*release.objects, *(hook.object for hook in release.hooks))
    )
    return RepositoryRender(
        rendered={
            key: replace(release, secret_outputs=secret_output_names(release.outputs, secrets))
            for key, release in rendered.items()
        },
        failed={
            key: replace(problem, message=redacted(problem.message, secrets))
            for key, problem in failed.items()
        },
        blocked={key: redacted(reason, secrets) for key, reason in blocked.items()},
        engine_runs=renderer.engine_runs,
        secrets=secrets,
    )


@dataclass(frozen=True)
class _Failure:
    key: ReleaseKey
    problem: ReleaseProblem


def _render_level(
    renderer: ReleaseRenderer,
    ready: Sequence[tuple[Release, Mapping[str, DependedRelease]]],
    pool: ThreadPoolExecutor,
) -> list[RenderedRelease | _Failure]:
    """A level's releases (none depends on another), rendered in order. Only the engine
    runs of cache misses go to `pool`; releases are finished here while later ones run."""
    prepared = [
        _attempt(release.key, partial(renderer.prepare, release, dependencies=depended))
        for release, depended in ready
    ]
    engine_runs: dict[ReleaseKey, Future[ChartOutput | _Failure]] = {}
    for item in prepared:
        if isinstance(item, PreparedRelease) and item.cached is None:
            run = partial(renderer.run_engine, item)
            engine_runs[item.release.key] = pool.submit(_attempt, item.release.key, run)
    outcomes: list[RenderedRelease | _Failure] = []
    for item in prepared:
        if isinstance(item, _Failure):
            outcomes.append(item)
            continue
        output = engine_runs[item.release.key].result() if item.cached is None else item.cached
        if isinstance(output, _Failure):
            outcomes.append(output)
            continue
        outcomes.append(_attempt(item.release.key, partial(renderer.finish, item, output)))
    return outcomes


def _attempt(key: ReleaseKey, step: Callable[[], T]) -> T | _Failure:
    """`step()`, or why the release cannot render; other errors are bugs and propagate."""
    try:
        return step()
    except ChartSourceError as error:
        return _Failure(key, ReleaseProblem(f"release {key}: {error}", temporary=error.temporary))
    except DecryptionError as error:
        return _Failure(key, ReleaseProblem(str(error), temporary=error.temporary))
    except RenderError as error:
        return _Failure(key, ReleaseProblem(str(error)))


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
