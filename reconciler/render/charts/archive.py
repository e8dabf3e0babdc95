"""Packaged charts (`.tgz`) unpacked safely into the chart store.

Archives come from the repository, chart repositories and registries, so none is
trusted: members with absolute paths, `..`, links or devices are refused before
anything is written, and the unpacked size and member count are capped.
"""

from __future__ import annotations

import shutil
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from reconciler.render.charts.errors import InvalidChart, UnsafeChart
from reconciler.render.charts.store import ENTRY_CONTENT


@dataclass(frozen=True)
class ChartLimits:
    """Caps on what one chart may cost (helm's own cap is 100 MiB unpacked)."""

    max_unpacked_bytes: int = 100 * 1024 * 1024
    max_members: int = 10_000
    max_download_bytes: int = 256 * 1024 * 1024
    """For a repository's `index.yaml` as for an archive."""


def unpack_chart_archive(archive: Path, entry: Path, *, subject: str, limits: ChartLimits) -> None:
    """Unpack `archive` into `entry/chart`, refusing anything that is not a plain file or folder."""
    content = entry / ENTRY_CONTENT
    content.mkdir()
    members = 0
    total = 0
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            for member in tar:
                members += 1
                if members > limits.max_members:
                    raise UnsafeChart(
                        f"{subject}: the archive holds more than {limits.max_members} members"
                    )
                relative = _member_path(member, subject=subject)
                if relative is None:
                    continue
                target = content.joinpath(*relative.parts)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                total += member.size
                if total > limits.max_unpacked_bytes:
                    raise UnsafeChart(
                        f"{subject}: the archive unpacks to more than "
                        f"{limits.max_unpacked_bytes} bytes"
                    )
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    raise InvalidChart(f"{subject}: archive member {member.name} is unreadable")
                with source, target.open("wb") as written:
                    shutil.copyfileobj(source, written)
    except (tarfile.TarError, EOFError, zlib.error) as error:
        raise InvalidChart(f"{subject}: not a readable chart archive: {error}") from None
    except (FileExistsError, NotADirectoryError, IsADirectoryError) as error:
        raise InvalidChart(f"{subject}: archive members collide: {error.filename}") from None
    if not any(content.iterdir()):
        raise InvalidChart(f"{subject}: the archive is empty")


def _member_path(member: tarfile.TarInfo, *, subject: str) -> PurePosixPath | None:
    """The member's safe relative path (None for the archive's own `.`), else an error."""
    path = PurePosixPath(member.name)
    if path.is_absolute():
        raise UnsafeChart(f"{subject}: archive member {member.name!r} has an absolute path")
    if ".." in path.parts:
        raise UnsafeChart(f"{subject}: archive member {member.name!r} climbs out with '..'")
    if not (member.isfile() or member.isdir()):
        raise UnsafeChart(
            f"{subject}: archive member {member.name!r} is a link or device, "
            "which a chart archive may not hold"
        )
    parts = [part for part in path.parts if part != "."]
    return PurePosixPath(*parts) if parts else None
