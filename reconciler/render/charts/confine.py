"""Paths taken from a release file, kept inside the repository they came from.

`chartPath` values and `file://` chart dependencies are written by whoever can
commit; they may point anywhere. Real paths (links resolved) must stay under the
repository root, so a commit cannot make Harmonia read the host's files.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from reconciler.render.charts.errors import UnsafeChart
from reconciler.render.charts.folder import chart_files


def path_inside(repository_root: Path, relative: str, *, base: Path, subject: str) -> Path:
    """The real path of `relative` (taken from `base`), refused if it leaves the repository."""
    if PurePosixPath(relative).is_absolute():
        raise UnsafeChart(f"{subject}: {relative!r} is absolute; give a path inside the repository")
    target = (base / relative).resolve()
    if not target.is_relative_to(repository_root.resolve()):
        raise UnsafeChart(f"{subject}: {relative!r} leads outside the repository")
    return target


def files_inside(folder: Path, repository_root: Path, *, subject: str) -> list[tuple[str, Path]]:
    """`chart_files(folder)`, refusing a link to outside the repository before following it."""
    return chart_files(folder, subject=subject, within=repository_root, bound="the repository")
