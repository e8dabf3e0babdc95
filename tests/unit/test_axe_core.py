"""The fetched axe-core is used only when its tarball has the pinned integrity, in the npm
registry's own `sha512-<base64>` form, so a changed or truncated download is refused."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from devcluster import axe_core
from devcluster.build import BuildError
from devcluster.pins import AXE_CORE_VERSION


def test_the_integrity_of_a_tarball_is_written_as_the_npm_registry_writes_it() -> None:
    digest = base64.b64encode(hashlib.sha512(b"tarball").digest()).decode()
    assert axe_core.integrity_of(b"tarball") == f"sha512-{digest}"


def test_a_tarball_whose_integrity_differs_from_the_pin_is_refused_naming_both() -> None:
    with pytest.raises(BuildError, match=r"^axe-core .*: the download has integrity sha512-"):
        axe_core.checked(b"not axe-core", what="the download")


def test_a_missing_tarball_says_how_to_fetch_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARMONIA_CACHE_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="make binaries"):
        axe_core.axe_core_script()


def test_a_cached_tarball_changed_after_the_fetch_is_refused_when_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARMONIA_CACHE_DIR", str(tmp_path))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        script = b"window.axe = {};"
        member = tarfile.TarInfo(axe_core.SCRIPT_MEMBER)
        member.size = len(script)
        archive.addfile(member, io.BytesIO(script))
    axe_core.tarball_path().parent.mkdir(parents=True)
    axe_core.tarball_path().write_bytes(buffer.getvalue())
    assert axe_core.tarball_path().name == f"axe-core-{AXE_CORE_VERSION}.tgz"
    with pytest.raises(BuildError, match="integrity"):
        axe_core.axe_core_script()
