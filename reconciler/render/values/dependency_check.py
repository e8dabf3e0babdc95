"""A release's dependencies checked against its chart's metainfo, as WALM checked them.

Part of rendering, once the chart (so its `transwarp-meta/metainfo.yaml`) is resolved and
the depended-on releases are known: a dependency key the metainfo does not declare is an
error; a depended-on release running another chart, or a version outside the declared
range, is a warning (an error under the reconciler's `strictDependencies`). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.release_requests import Release
from reconciler.render.model import DependedRelease, RenderError
from reconciler.render.values.metainfo import ChartMetaInfo, MetaInfoDependency
from reconciler.semver import parse_semver, within_range


def check_dependencies(
    release: Release,
    metainfo: ChartMetaInfo | None,
    depended: Mapping[str, DependedRelease],
    *,
    chart_name: str,
    strict: bool,
) -> tuple[str, ...]:
    """The warnings about `release`'s dependencies (`depended` by alias); raises a
    RenderError for keys `metainfo` does not declare, and with `strict` for every
    chart mismatch. A chart without metainfo declares nothing and is not checked.

    A declared dependency the release leaves out is not an error, whatever its
    `dependencyOptional` says: WALM never enforced it either (the chart renders without
    those values).
    """
    if metainfo is None:
        return ()
    subject = f"release {release.key}"
    undeclared = [alias for alias in sorted(release.dependencies) if not metainfo.dependency(alias)]
    if undeclared:
        declared = ", ".join(item.name for item in metainfo.dependencies) or "none"
        raise RenderError(
            "; ".join(
                f"{subject}: "
                + release.source.diagnostic(
                    ("dependencies", alias),
                    f"dependency key '{alias}' is not declared by chart {chart_name}'s "
                    f"metainfo (declared: {declared})",
                    "use a declared name as the key: the chart reads each dependency's "
                    "outputs under the name its metainfo gives",
                    at_key=True,
                ).render()
                for alias in undeclared
            )
        )
    mismatches = [
        f"{subject}: dependency '{alias}' ({target.key}): {problem}"
        for alias, target in sorted(depended.items())
        if (declared_dependency := metainfo.dependency(alias)) is not None
        and (problem := chart_mismatch(declared_dependency, target, dependent=chart_name))
    ]
    if mismatches and strict:
        raise RenderError(
            "; ".join(mismatches) + " (strictDependencies is on; these would be warnings)"
        )
    return tuple(mismatches)


def chart_mismatch(
    declared: MetaInfoDependency, target: DependedRelease, *, dependent: str
) -> str | None:
    """Why `target` does not run the chart `declared` asks for, or None (also when the
    target's chart is not known)."""
    if target.chart_name and target.chart_name != declared.chart_name:
        return (
            f"it runs chart {target.chart_name}; chart {dependent}'s metainfo expects chart "
            f"{declared.chart_name}"
        )
    if not target.chart_version or not (declared.min_version or declared.max_version):
        return None
    wanted = f"[{declared.min_version or '*'}, {declared.max_version or '*'}]"
    version = parse_semver(target.chart_version)
    # An empty bound parses to None: open on that side.
    minimum = parse_semver(declared.min_version or "")
    maximum = parse_semver(declared.max_version or "")
    unreadable = [
        text
        for text, parsed in (
            (target.chart_version, version),
            (declared.min_version, minimum),
            (declared.max_version, maximum),
        )
        if text and parsed is None
    ]
    if version is None or unreadable:
        shown = ", ".join(repr(text) for text in unreadable)
        return f"cannot compare chart versions, not a version: {shown}"
    if within_range(version, minimum=minimum, maximum=maximum):
        return None
    return (
        f"its chart {declared.chart_name} {target.chart_version} is outside {wanted}, "
        f"the versions chart {dependent}'s metainfo declares"
    )
