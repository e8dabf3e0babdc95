"""A chart folder on local disk: its identity (Chart.yaml) and its content digest.

Every chart source ends here: whatever fetched or unpacked the chart, the
renderer gets a `LocalChart` whose digest keys the render cache. No network.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from reconciler.release_requests.yaml_source import holds_huge_integer
from reconciler.render.charts.errors import InvalidChart, UnsafeChart

GIT_FOLDER = ".git"
"""Git's own folder at the top of a working tree (`harmonia apply PATH`, `diff PATH`):
its `config` may hold a token (CI checkouts keep one there), so no chart reads it."""
UNVERSIONED = "0.0.0"
"""The version of a chart folder that has no Chart.yaml (plain manifests, Jsonnet)."""


@dataclass(frozen=True)
class LocalChart:
    """A chart unpacked in a folder, ready to be rendered."""

    root: Path
    name: str
    version: str
    digest: str
    """`sha256:<hex>` over every file's relative path and content: stable across machines."""


def chart_files(root: Path, *, subject: str, within: Path, bound: str) -> list[tuple[str, Path]]:
    """Every file under `root` as (relative POSIX path, path), sorted, following links.

    Links are followed because helm follows them when it loads a folder, but only while
    they stay under `within` (named `bound` in messages) and out of its `.git` folder: a
    link leading elsewhere is refused before the walk enters it, so nothing behind it is
    listed, read or named in a message. A link cycle is refused rather than walked forever.
    """
    boundary = within.resolve()
    found: list[tuple[str, Path]] = []
    seen_dirs: set[str] = set()
    for current, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(current)
        if real in seen_dirs:
            relative = Path(current).relative_to(root).as_posix()
            raise UnsafeChart(
                f"{subject}: {relative}: a symbolic link leads to a folder walked already"
            )
        seen_dirs.add(real)
        dirs.sort()
        base = Path(current)
        for name in (*dirs, *files):
            path = base / name
            target = Path(os.path.realpath(path))
            if not target.is_relative_to(boundary):
                relative = path.relative_to(root).as_posix()
                raise UnsafeChart(f"{subject}: {relative} is a symbolic link to outside {bound}")
            if target.relative_to(boundary).parts[:1] == (GIT_FOLDER,):
                relative = path.relative_to(root).as_posix()
                raise UnsafeChart(f"{subject}: {relative} leads into {bound}'s {GIT_FOLDER} folder")
        for file_name in files:
            path = base / file_name
            relative = path.relative_to(root).as_posix()
            if not path.exists():
                raise InvalidChart(f"{subject}: {relative} is a broken symbolic link")
            found.append((relative, path))
    return sorted(found)


def content_digest(files: Iterable[tuple[str, Path]]) -> str:
    """`sha256:<hex>` over (relative path, content) pairs, in the order given."""
    total = hashlib.sha256()
    for relative, path in files:
        total.update(relative.encode())
        total.update(b"\0")
        total.update(hashlib.sha256(path.read_bytes()).hexdigest().encode())
        total.update(b"\n")
    return f"sha256:{total.hexdigest()}"


def chart_identity(root: Path, *, subject: str) -> tuple[str, str]:
    """(name, version) from `Chart.yaml`; a folder without one is (folder name, 0.0.0)."""
    manifest = root / "Chart.yaml"
    if not manifest.is_file():
        return root.name, UNVERSIONED
    metadata = read_chart_yaml(root, subject=subject)
    name = metadata.get("name")
    version = metadata.get("version")
    if not isinstance(name, str) or not name:
        raise InvalidChart(f"{subject}: Chart.yaml has no name")
    if not isinstance(version, str | int | float) or isinstance(version, bool) or version == "":
        raise InvalidChart(f"{subject}: Chart.yaml has no version")
    return name, str(version)


def read_chart_yaml(root: Path, *, subject: str) -> dict[str, object]:
    """The parsed `Chart.yaml` of a chart folder (a mapping, else an error)."""
    try:
        metadata = yaml.safe_load((root / "Chart.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError) as error:
        raise InvalidChart(f"{subject}: Chart.yaml cannot be read: {error}") from None
    except RecursionError:
        raise InvalidChart(f"{subject}: Chart.yaml is nested too deeply to read") from None
    if not isinstance(metadata, dict):
        raise InvalidChart(f"{subject}: Chart.yaml is not a mapping")
    if holds_huge_integer(metadata):
        raise InvalidChart(f"{subject}: Chart.yaml holds an integer of thousands of digits")
    return metadata


def load_local_chart(root: Path, *, subject: str) -> LocalChart:
    """The `LocalChart` for a folder whose content is final."""
    name, version = chart_identity(root, subject=subject)
    digest = content_digest(chart_files(root, subject=subject, within=root, bound="the chart"))
    return LocalChart(root=root, name=name, version=version, digest=digest)
