"""axe-core, the accessibility checker the web UI's browser tests run in each page: fetched
once with `npm pack` from the npm registry into the cache home (never into the repository),
its tarball checked against the pinned sha512 integrity each time it is read.

`make binaries` fetches it (`harmonia dev-cluster build --with-axe-core`), so CI has it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from devcluster.build import BuildError, Progress, cache_root
from devcluster.pins import AXE_CORE_INTEGRITY, AXE_CORE_VERSION

SCRIPT_MEMBER = "package/axe.min.js"
FETCH_HINT = "fetch it with `make binaries` (harmonia dev-cluster build --with-axe-core)"


def tarball_path() -> Path:
    """Where the pinned version's tarball is kept, beside the dev cluster's binaries."""
    return cache_root() / "npm" / f"axe-core-{AXE_CORE_VERSION}.tgz"


def integrity_of(tarball: bytes) -> str:
    """The npm registry's `dist.integrity` form of a tarball: `sha512-<base64 digest>`."""
    return "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()


def checked(tarball: bytes, *, what: str) -> bytes:
    """`tarball` if its integrity is the pinned one, else a BuildError naming `what`."""
    found = integrity_of(tarball)
    if found != AXE_CORE_INTEGRITY:
        raise BuildError(
            f"axe-core {AXE_CORE_VERSION}: {what} has integrity {found}, "
            f"expected {AXE_CORE_INTEGRITY}"
        )
    return tarball


def ensure_axe_core(progress: Progress) -> Path:
    """The pinned tarball in the cache, fetched with `npm pack` and checked the first time."""
    target = tarball_path()
    if target.is_file():
        checked(target.read_bytes(), what=str(target))
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("axe-core: npm is not on PATH; install Node.js and npm to fetch it")
    progress(f"fetching axe-core {AXE_CORE_VERSION} with npm pack (first time only; {target})")
    with tempfile.TemporaryDirectory() as folder:
        packed = subprocess.run(
            [npm, "pack", f"axe-core@{AXE_CORE_VERSION}", "--pack-destination", folder],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        if packed.returncode != 0:
            raise BuildError(f"axe-core: npm pack failed:\n{packed.stdout}{packed.stderr}")
        fetched = Path(folder) / f"axe-core-{AXE_CORE_VERSION}.tgz"
        checked(fetched.read_bytes(), what="the tarball npm fetched")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        shutil.copyfile(fetched, partial)
        partial.rename(target)
    return target


def axe_core_script() -> str:
    """The text of `axe.min.js` from the cached tarball, its integrity checked; a
    FileNotFoundError saying how to fetch it when it is not there."""
    target = tarball_path()
    if not target.is_file():
        raise FileNotFoundError(f"axe-core {AXE_CORE_VERSION} is not at {target}: {FETCH_HINT}")
    tarball = checked(target.read_bytes(), what=str(target))
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile(SCRIPT_MEMBER)
        if member is None:
            raise BuildError(f"axe-core {AXE_CORE_VERSION}: the tarball has no {SCRIPT_MEMBER}")
        return member.read().decode()
