"""Fixtures for the rendering tests: the real helm, and real chart servers on loopback.

The chart repository and the OCI registry are started for one test and stopped
after it. `docker-registry` comes from Debian's package of that name; without
it the OCI tests fail in CI (skip locally) saying how to install it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from devcluster.build import ensure_binaries
from tests.render.servers import (
    DOCKER_REGISTRY,
    ChartRepositoryServer,
    OciRegistry,
    publish_chart_repository,
)
from tests.sops_files import AgeKey, age_key

FIXTURE_CHARTS = Path(__file__).parent.parent / "fixtures" / "charts"


@contextmanager
def recording_listener(folder: Path, name: str, content: str) -> Iterator[ChartRepositoryServer]:
    """A loopback HTTP server that records every request and serves `content` as `name`:
    a fetch the code must never make would succeed, so only the record shows it."""
    folder.mkdir()
    (folder / name).write_text(content)
    server = ChartRepositoryServer(folder)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def helm_binary() -> Path:
    return ensure_binaries()["helm"]


@pytest.fixture()
def helm_home(tmp_path: Path) -> Path:
    """A home folder for helm run by the tests themselves (package, index, push)."""
    home = tmp_path / "helm-home"
    home.mkdir()
    return home


@pytest.fixture()
def chart_repository(
    tmp_path: Path, helm_binary: Path, helm_home: Path
) -> Iterator[ChartRepositoryServer]:
    """A chart repository over HTTP on loopback holding the helm-shop chart (shop 1.4.2)."""
    served = tmp_path / "served"
    server = ChartRepositoryServer(served)
    try:
        publish_chart_repository(
            helm_binary, [FIXTURE_CHARTS / "helm-shop"], server.repository_folder, home=helm_home
        )
        yield server
    finally:
        server.stop()


@pytest.fixture()
def oci_registry(tmp_path: Path) -> Iterator[OciRegistry]:
    """A real OCI registry (Debian's docker-registry) on loopback, over plain HTTP."""
    if not DOCKER_REGISTRY.is_file():
        message = (
            f"{DOCKER_REGISTRY} is missing: the OCI chart tests need a real registry; "
            "install it with `apt-get install -y docker-registry`"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path / "registry"
    folder.mkdir()
    registry = OciRegistry(folder)
    try:
        yield registry
    finally:
        registry.stop()


def copy_fixture_chart(name: str, destination: Path) -> Path:
    """A fixture chart copied to `destination` (a test's own repository)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(FIXTURE_CHARTS / name, destination)
    return destination


@pytest.fixture()
def key(tmp_path: Path) -> AgeKey:
    """An age key made by the real age-keygen for this test."""
    return age_key(tmp_path / "keys")


@pytest.fixture(scope="session")
def renderer_binary() -> Path:
    """harmonia-renderer, built from renderer/ by the dev cluster's recipe."""
    return ensure_binaries()["harmonia-renderer"]
