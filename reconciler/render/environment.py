"""The render environment of a pass: Kubernetes and API versions, tools, libraries.

Per the Contracts the versions come from the cluster when one is reachable, else
from `harmonia.yaml` (`kubeVersion`, `apiVersions`), so a pull-request diff
renders what the apply will. Tools are found on PATH unless named explicitly.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from reconciler.kube.connection import ClusterCapabilities
from reconciler.release_requests.model import RepositoryConfig
from reconciler.render.charts import ChartSourceError
from reconciler.render.charts.confine import path_inside
from reconciler.render.model import RenderError

FALLBACK_KUBE_VERSION = "v1.36.3"
"""Used only when neither a cluster nor `harmonia.yaml` says; a warning says so."""


class ToolNotFound(Exception):
    """A binary rendering needs (helm, kubectl) is not installed."""


def find_tool(name: str, *, explicit: Path | None = None) -> Path:
    """`explicit`, else `$HARMONIA_<NAME>`, else the first `name` on PATH."""
    chosen = explicit or os.environ.get(f"HARMONIA_{name.upper()}") or shutil.which(name)
    if not chosen or not Path(chosen).is_file():
        raise ToolNotFound(
            f"{name} not found: put it on PATH or set HARMONIA_{name.upper()} to its path"
        )
    return Path(chosen)


@dataclass(frozen=True)
class VersionChoice:
    kube_version: str
    api_versions: tuple[str, ...]
    origin: str
    """Where the versions came from: "cluster", "harmonia.yaml" or "default"."""


def choose_versions(
    repository: RepositoryConfig | None, *, cluster: ClusterCapabilities | None
) -> VersionChoice:
    """The cluster's versions when it answered, else the repository's, else the fallback.

    The repository's `apiVersions` are added to the cluster's: they name API groups
    (CRDs) the charts may check for that a fresh cluster does not serve yet.
    """
    declared = repository.api_versions if repository is not None else ()
    if cluster is not None:
        versions = tuple(sorted({*cluster.api_versions, *declared}))
        return VersionChoice(cluster.kube_version, versions, "cluster")
    if repository is not None and repository.kube_version:
        return VersionChoice(repository.kube_version, tuple(declared), "harmonia.yaml")
    return VersionChoice(FALLBACK_KUBE_VERSION, tuple(declared), "default")


def library_folders(
    repository_root: Path, repository: RepositoryConfig | None, *, extra: tuple[Path, ...] = ()
) -> tuple[Path, ...]:
    """The repository's Jsonnet library folders (kept inside it), then the reconciler's."""
    folders: list[Path] = []
    for relative in repository.library_dirs if repository is not None else ():
        try:
            folders.append(
                path_inside(
                    repository_root,
                    relative,
                    base=repository_root,
                    subject="harmonia.yaml: libraryDirs",
                )
            )
        except ChartSourceError as error:
            raise RenderError(str(error)) from None
    return (*folders, *(path.resolve() for path in extra))
