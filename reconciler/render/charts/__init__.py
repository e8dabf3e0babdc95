"""Chart sources: a release's `chart` brought to a folder on local disk for its engine.

The first step of rendering a release. `resolve_chart(source, ...)` returns a
`LocalChart` (root folder, name, version, content digest) for a `chartPath`
(folder or `.tgz` in the repository), a chart repository chart, or an OCI chart
image. Downloads land in `cache_dir` once; later passes reuse them offline.

Errors (every message starts with ``chart <source>: ``; `temporary` says whether
retrying the same inputs may help)::

    ChartSourceError           permanent unless a subclass says otherwise
    ├── ChartUnavailable       temporary: repository or registry unreachable, 5xx,
    │                          401/403, timeouts
    ├── ChartNotFound          unknown repository name, chart, version or path
    ├── ChartIntegrityError    the archive does not match the index's digest
    ├── UnsafeChart            a path, link or archive member leaving its bounds,
    │                          or an archive over the size caps
    └── InvalidChart           a malformed Chart.yaml, archive, index or reference,
                               or dependencies that are not vendored
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path

from reconciler.release_requests.model import ChartImage, ChartPath, ChartSource, RepoChart
from reconciler.render.charts.archive import ChartLimits
from reconciler.render.charts.errors import (
    ChartIntegrityError,
    ChartNotFound,
    ChartSourceError,
    ChartUnavailable,
    InvalidChart,
    UnsafeChart,
)
from reconciler.render.charts.folder import LocalChart
from reconciler.render.charts.local import resolve_chart_path
from reconciler.render.charts.oci import resolve_chart_image
from reconciler.render.charts.repository import credential_variables, resolve_repo_chart

DEFAULT_TIMEOUT = 120.0
"""Seconds for one download or one helm run while resolving."""

DEFAULT_LIMITS = ChartLimits()


def resolve_chart(
    source: ChartSource,
    *,
    repository_root: Path,
    chart_repositories: Mapping[str, str],
    cache_dir: Path,
    helm: Path | None,
    plain_http_registries: Collection[str] = (),
    environ: Mapping[str, str] | None = None,
    limits: ChartLimits = DEFAULT_LIMITS,
    timeout: float = DEFAULT_TIMEOUT,
) -> LocalChart:
    """The chart `source` names, unpacked on local disk.

    `repository_root` bounds every `chartPath` and `file://` dependency;
    `chart_repositories` is `harmonia.yaml`'s name -> URL map; `plain_http_registries`
    lists the OCI registries (`host:port`) that may be used over plain HTTP;
    `environ` (default `os.environ`) holds chart repository credentials, see
    `credential_variables`.
    """
    match source:
        case ChartPath():
            return resolve_chart_path(
                source,
                repository_root=repository_root,
                cache_dir=cache_dir,
                helm=helm,
                limits=limits,
                timeout=timeout,
            )
        case RepoChart():
            return resolve_repo_chart(
                source,
                chart_repositories=chart_repositories,
                cache_dir=cache_dir,
                environ=os.environ if environ is None else environ,
                limits=limits,
                timeout=timeout,
            )
        case ChartImage():
            return resolve_chart_image(
                source,
                cache_dir=cache_dir,
                helm=helm,
                plain_http_registries=plain_http_registries,
                limits=limits,
                timeout=timeout,
            )


__all__ = [
    "ChartIntegrityError",
    "ChartLimits",
    "ChartNotFound",
    "ChartSourceError",
    "ChartUnavailable",
    "InvalidChart",
    "LocalChart",
    "UnsafeChart",
    "credential_variables",
    "resolve_chart",
]
