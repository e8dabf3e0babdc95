"""Chart dependencies (`Chart.yaml` `dependencies`): checked vendored, or built from `file://`.

Rendering never downloads a dependency: sub-charts must be in `charts/`. Those
declared with `file://` paths inside the repository are built here, by `helm
dependency build` in a mirror of the chart kept in the store, never in the repository.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from reconciler.release_requests.yaml_source import holds_huge_integer
from reconciler.render.charts.confine import files_inside, path_inside
from reconciler.render.charts.errors import InvalidChart
from reconciler.render.charts.folder import (
    LocalChart,
    chart_identity,
    content_digest,
    read_chart_yaml,
)
from reconciler.render.charts.store import filled_entry, store_entry
from reconciler.render.helm.process import run_helm

LOCAL_SCHEME = "file://"
LOCK_FILES = ("Chart.lock", "requirements.lock")
_MANIFEST_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class Dependency:
    name: str
    repository: str

    @property
    def local_path(self) -> str | None:
        """The `file://` path (relative to the chart), None for a remote repository."""
        if self.repository.startswith(LOCAL_SCHEME):
            return self.repository.removeprefix(LOCAL_SCHEME)
        return None


def declared_dependencies(root: Path, *, subject: str) -> tuple[Dependency, ...]:
    """The dependencies `Chart.yaml` (or a v1 chart's `requirements.yaml`) declares."""
    if not (root / "Chart.yaml").is_file():
        return ()
    entries = read_chart_yaml(root, subject=subject).get("dependencies")
    requirements = root / "requirements.yaml"
    if entries is None and requirements.is_file():
        try:
            entries = (yaml.safe_load(requirements.read_text(encoding="utf-8")) or {}).get(
                "dependencies"
            )
        except (
            OSError,
            UnicodeDecodeError,
            yaml.YAMLError,
            AttributeError,
            RecursionError,
            ValueError,
        ) as error:
            raise InvalidChart(f"{subject}: requirements.yaml cannot be read: {error}") from None
        if holds_huge_integer(entries):
            raise InvalidChart(
                f"{subject}: requirements.yaml holds an integer of thousands of digits"
            )
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise InvalidChart(f"{subject}: Chart.yaml dependencies is not a list")
    dependencies = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise InvalidChart(f"{subject}: a Chart.yaml dependency has no name")
        repository = entry.get("repository") or ""
        dependencies.append(Dependency(name=entry["name"], repository=str(repository)))
    return tuple(dependencies)


def missing_dependencies(root: Path, *, subject: str) -> tuple[Dependency, ...]:
    """Declared dependencies with no chart of that name in `charts/` (helm matches by name)."""
    declared = declared_dependencies(root, subject=subject)
    if not declared:
        return ()
    present = set(_vendored_names(root / "charts", subject=subject))
    return tuple(dependency for dependency in declared if dependency.name not in present)


def require_vendored(root: Path, *, subject: str) -> None:
    """Refuse a chart whose dependencies are not all in its `charts/` folder."""
    missing = missing_dependencies(root, subject=subject)
    if missing:
        raise InvalidChart(f"{subject}: {_missing_message(missing)}")


def build_local_dependencies(
    chart_dir: Path,
    *,
    repository_root: Path,
    cache_dir: Path,
    helm: Path | None,
    subject: str,
    timeout: float,
) -> LocalChart:
    """The chart with its `file://` dependencies built, from the store when built before."""
    chart_dir = chart_dir.resolve()
    order, dependency_dirs = _build_plan(
        chart_dir, repository_root=repository_root, subject=subject
    )
    folders = sorted(set(order) | dependency_dirs)
    digest = content_digest(
        (Path(os.path.relpath(path, chart_dir)).as_posix(), path)
        for folder in folders
        for _, path in files_inside(folder, repository_root, subject=subject)
    )
    root = repository_root.resolve()

    def mirror_and_build(entry: Path) -> None:
        for folder in folders:
            shutil.copytree(folder, entry / folder.relative_to(root), dirs_exist_ok=True)
        for folder in order:
            # A lock file steers `helm dependency build` to the repositories it names (its
            # digest is no proof: anyone can compute it): the build follows the checked
            # Chart.yaml alone, whose dependencies are all file:// folders.
            for lock in LOCK_FILES:
                (entry / folder.relative_to(root) / lock).unlink(missing_ok=True)
            run = run_helm(
                helm,
                ["dependency", "build", str(entry / folder.relative_to(root)), "--skip-refresh"],
                timeout=timeout,
            )
            if not run.ok:
                raise InvalidChart(
                    f"{subject}: helm dependency build failed for "
                    f"{folder.relative_to(root).as_posix()}: {run.error}"
                )

    entry = filled_entry(store_entry(cache_dir, kind="built", identity=digest), mirror_and_build)
    name, version = chart_identity(chart_dir, subject=subject)
    built_root = entry / chart_dir.relative_to(root)
    return LocalChart(root=built_root, name=name, version=version, digest=digest)


def _build_plan(
    chart_dir: Path, *, repository_root: Path, subject: str
) -> tuple[list[Path], set[Path]]:
    """Folders to run `helm dependency build` in, dependencies first; and their sources.

    The sources are every `file://` folder those builds read, all inside the repository.
    """
    order: list[Path] = []
    dependency_dirs: set[Path] = set()
    visiting: list[Path] = []

    def visit(folder: Path) -> None:
        if folder in order:
            return
        if folder in visiting:
            raise InvalidChart(f"{subject}: file:// dependencies form a cycle at {folder.name}")
        missing = missing_dependencies(folder, subject=subject)
        if not missing:
            return
        declared = declared_dependencies(folder, subject=subject)
        if any(dependency.local_path is None for dependency in declared):
            raise InvalidChart(f"{subject}: {_missing_message(missing)}")
        visiting.append(folder)
        for dependency in declared:
            dependency_dir = _dependency_dir(folder, dependency, repository_root, subject=subject)
            dependency_dirs.add(dependency_dir)
            visit(dependency_dir)
        visiting.pop()
        order.append(folder)

    visit(chart_dir)
    return order, dependency_dirs


def _dependency_dir(
    folder: Path, dependency: Dependency, repository_root: Path, *, subject: str
) -> Path:
    target = path_inside(repository_root, str(dependency.local_path), base=folder, subject=subject)
    if not (target / "Chart.yaml").is_file():
        raise InvalidChart(
            f"{subject}: dependency {dependency.name} ({dependency.repository}) "
            "is not a chart folder"
        )
    return target


def _missing_message(missing: Iterable[Dependency]) -> str:
    described = ", ".join(f"{d.name} ({d.repository or 'no repository'})" for d in missing)
    return (
        f"dependencies not in charts/: {described}; Harmonia never downloads dependencies "
        "while rendering: run `helm dependency build` and commit the charts/ folder (vendor them)"
    )


def _vendored_names(charts: Path, *, subject: str) -> Iterator[str]:
    if not charts.is_dir():
        return
    for entry in sorted(charts.iterdir()):
        if entry.is_dir() and (entry / "Chart.yaml").is_file():
            yield chart_identity(entry, subject=subject)[0]
        elif entry.is_file() and entry.name.endswith((".tgz", ".tar.gz")):
            yield _archive_chart_name(entry, subject=subject)


def _archive_chart_name(archive: Path, *, subject: str) -> str:
    """The name in a packaged sub-chart's `Chart.yaml`, read without unpacking."""
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            for member in tar:
                parts = PurePosixPath(member.name).parts
                if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                    if member.size > _MANIFEST_LIMIT:
                        break
                    source = tar.extractfile(member)
                    metadata = yaml.safe_load(source.read()) if source else None
                    name = metadata.get("name") if isinstance(metadata, dict) else None
                    if isinstance(name, str):
                        return name
                    break
    except (
        tarfile.TarError,
        EOFError,
        OSError,
        yaml.YAMLError,
        RecursionError,
        ValueError,
    ) as error:
        raise InvalidChart(f"{subject}: charts/{archive.name} cannot be read: {error}") from None
    raise InvalidChart(f"{subject}: charts/{archive.name} holds no Chart.yaml with a name")
