"""buildah on the project's own storage (vfs under the cache home): the one place that says
how buildah is called, for the stand-in base images and the image build alike."""

from __future__ import annotations

from pathlib import Path

from devcluster.build import cache_root


def storage_root() -> Path:
    return cache_root() / "containers"


def buildah(*arguments: str) -> list[str]:
    """A buildah command on the project's own storage: vfs, which needs no kernel overlay."""
    storage = storage_root()
    return [
        "buildah",
        "--root",
        str(storage / "storage"),
        "--runroot",
        str(storage / "run"),
        "--storage-driver",
        "vfs",
        *arguments,
    ]
