"""`chartPath` sources: a chart folder or a packaged `.tgz` inside the repository.

A folder is rendered where it lies (or from a mirror in the store when its
`file://` dependencies need building); an archive is unpacked into the store,
keyed by its content. Either way the path must stay inside the repository.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from reconciler.release_requests.model import ChartPath
from reconciler.render.charts.archive import ChartLimits, unpack_chart_archive
from reconciler.render.charts.confine import files_inside, path_inside
from reconciler.render.charts.errors import ChartNotFound
from reconciler.render.charts.folder import (
    LocalChart,
    chart_identity,
    content_digest,
    load_local_chart,
)
from reconciler.render.charts.store import filled_entry, store_entry, unpacked_root
from reconciler.render.charts.subcharts import (
    build_local_dependencies,
    missing_dependencies,
    require_vendored,
)

ARCHIVE_SUFFIXES = (".tgz", ".tar.gz")


def resolve_chart_path(
    source: ChartPath,
    *,
    repository_root: Path,
    cache_dir: Path,
    helm: Path | None,
    limits: ChartLimits,
    timeout: float,
) -> LocalChart:
    subject = f"chart {source.path}"
    target = path_inside(repository_root, source.path, base=repository_root, subject=subject)
    if target.is_dir():
        files = files_inside(target, repository_root, subject=subject)
        if missing_dependencies(target, subject=subject):
            return build_local_dependencies(
                target,
                repository_root=repository_root,
                cache_dir=cache_dir,
                helm=helm,
                subject=subject,
                timeout=timeout,
            )
        name, version = chart_identity(target, subject=subject)
        return LocalChart(root=target, name=name, version=version, digest=content_digest(files))
    if target.is_file() and target.name.endswith(ARCHIVE_SUFFIXES):
        return _unpacked_archive(target, cache_dir=cache_dir, subject=subject, limits=limits)
    if target.exists():
        raise ChartNotFound(f"{subject}: neither a chart folder nor a .tgz archive")
    raise ChartNotFound(f"{subject}: no such folder or file in the repository")


def _unpacked_archive(
    archive: Path, *, cache_dir: Path, subject: str, limits: ChartLimits
) -> LocalChart:
    identity = hashlib.sha256(archive.read_bytes()).hexdigest()
    entry = filled_entry(
        store_entry(cache_dir, kind="archive", identity=identity),
        lambda folder: unpack_chart_archive(archive, folder, subject=subject, limits=limits),
    )
    root = unpacked_root(entry)
    require_vendored(root, subject=subject)
    return load_local_chart(root, subject=subject)
