"""Why a release is refused before anything of it is written: its file is invalid or in
a namespace the policy refuses, another release renders one of its objects, or it
holds a cluster-scoped object the policy forbids."""

from __future__ import annotations

from reconciler.apply.live_index import LiveIndex
from reconciler.desired import DesiredState
from reconciler.kube.client import KubeClient
from reconciler.kube.errors import NotFound
from reconciler.objects import Identity, ref_of
from reconciler.outcome import Failure, Outcome
from reconciler.reconcile.report import ReleaseReport, failed
from reconciler.render.model import RenderedRelease
from reconciler.render.ownership import CLUSTER_SCOPED_REFUSAL, OWNER_ANNOTATION
from reconciler.types import ReleaseKey


def invalid_releases(state: DesiredState) -> dict[ReleaseKey, str]:
    """Releases whose file is invalid or whose namespace the policy refuses, each with
    where its first problem is (all of them are in the diagnostics)."""
    keys = set(state.loaded.invalid_releases) | {
        key
        for key, release in state.loaded.releases.items()
        if not state.policy.allows_namespace(release.namespace)
    }
    first: dict[ReleaseKey, str] = {}
    for item in state.diagnostics:
        if item.is_error and item.release in keys:
            first.setdefault(item.release, f"{item.file}:{item.line}: {item.message}")
    return {key: first.get(key, "its file is invalid") for key in sorted(keys)}


def refused_before_writing(state: DesiredState) -> dict[ReleaseKey, ReleaseReport]:
    """The reports of the releases the desired state alone refuses, before the cluster is
    read: invalid (where its first problem is), blocked by a dependency, failed to render.
    A pass starts from these; `harmonia ui` shows them without a pass."""
    reports: dict[ReleaseKey, ReleaseReport] = {}
    for key, first_error in invalid_releases(state).items():
        reports[key] = ReleaseReport(
            key,
            Outcome.INVALID,
            f"{first_error}; it keeps running as it was",
            failure=Failure.PERMANENT,
        )
    for key, reason in state.render.blocked.items():
        reports[key] = ReleaseReport(
            key, Outcome.BLOCKED, reason, failure=blocked_failure(state, key)
        )
    for key, problem in state.render.failed.items():
        failure = Failure.TEMPORARY if problem.temporary else Failure.PERMANENT
        reports[key] = failed(key, problem.message, failure)
    return reports


def blocked_failure(state: DesiredState, key: ReleaseKey) -> Failure:
    """A release kept from rendering by its dependencies fails as they do: temporary
    when one of them (or of theirs) failed to render for a while (a chart server down),
    else permanent (a render error, a cycle, a dependency missing or without outputs)."""
    seen: set[ReleaseKey] = set()
    waiting = [key]
    while waiting:
        current = waiting.pop()
        release = state.loaded.releases.get(current)
        for target in release.dependencies.values() if release is not None else ():
            problem = state.render.failed.get(target)
            if problem is not None and problem.temporary:
                return Failure.TEMPORARY
            if target in state.render.blocked and target not in seen:
                seen.add(target)
                waiting.append(target)
    return Failure.PERMANENT


def contested(state: DesiredState, live: LiveIndex) -> dict[ReleaseKey, str]:
    """Releases that render an object another release also renders, with why they stop.

    One object belongs to one release: the release that owns it in the cluster keeps
    it, else the first by name; the others fail, so the two never take turns.
    """
    claims: dict[Identity, list[ReleaseKey]] = {}
    for key in sorted(state.render.rendered):
        for obj in state.render.rendered[key].objects:
            claims.setdefault(ref_of(obj).identity, []).append(key)
    losers: dict[ReleaseKey, str] = {}
    for identity, keys in claims.items():
        if len(keys) < 2:
            continue
        _group, kind, namespace, name = identity
        obj = next(
            o for o in state.render.rendered[keys[0]].objects if ref_of(o).identity == identity
        )
        current = live.get(ref_of(obj))
        owner = ((current or {}).get("metadata") or {}).get("annotations", {}).get(OWNER_ANNOTATION)  # type: ignore[union-attr]
        winner = owner if owner in keys else keys[0]
        subject = "/".join(part for part in (kind, namespace, name) if part)
        for key in keys:
            if key != winner:
                losers[key] = f"{subject} belongs to release {winner}, which renders it too"
    return losers


def cluster_scoped_refusals(
    client: KubeClient, rendered: RenderedRelease, *, allowed: bool
) -> list[str]:
    """Objects the cluster serves as cluster-scoped while the policy forbids those.

    Rendering refuses the kinds it knows; a custom kind is known here, from discovery.
    A kind the cluster does not serve is left to the apply, which names it.
    """
    if allowed:
        return []
    refusals = []
    for obj in (*rendered.objects, *(hook.object for hook in rendered.hooks)):
        ref = ref_of(obj)
        try:
            namespaced = client.resource_type(ref.api_version, ref.kind).namespaced
        except NotFound:
            continue
        if not namespaced:
            refusals.append(f"{ref.kind}/{ref.name}: {CLUSTER_SCOPED_REFUSAL}")
    return refusals
