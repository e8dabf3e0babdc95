"""Stand-ins for the base images the Dockerfile names, made from Debian's packages.

The base images cannot be pulled here: mmdebstrap makes each one the Dockerfile's FROM
lines name, as the official image is made (minbase, the slim filters, the official apt
settings, Go at /usr/local/go), and buildah stores it under that name, once per recipe.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from devcluster.build import BuildError, Progress, run_checked
from devcluster.buildah import buildah, storage_root

# The official images' layout: Go at /usr/local/go, GOPATH /go, no toolchain downloads.
GOLANG_ENV = (
    (
        "PATH",
        "/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("GOPATH", "/go"),
    ("GOTOOLCHAIN", "local"),
)
DEBIAN_ENV = (("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),)
# What golang:<version>-<suite> adds to Debian (buildpack-deps' scm layer, less the
# version-control systems Go modules do not need, and the C toolchain).
GOLANG_PACKAGES = (
    "ca-certificates",
    "curl",
    "git",
    "gnupg",
    "netbase",
    "openssh-client",
    "procps",
    "wget",
    "gcc",
    "libc6-dev",
    "make",
    "pkg-config",
)
# debian:<suite>-slim drops documentation and translations, as these dpkg filters do.
# This machine's own trust settings, carried into the stand-ins: its network may reach the
# registries through a TLS proxy with a private CA, which a build step must trust too.
MACHINE_TRUST = (
    Path("/usr/local/share/ca-certificates"),
    Path("/etc/ssl/certs/ca-certificates.crt"),
    Path("/etc/pip.conf"),
)
SLIM_FILTERS = (
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
)


# The apt settings the official Debian images carry (/etc/apt/apt.conf.d/docker-*): no
# downloaded .deb kept after an install, no translations, compressed indexes.
OFFICIAL_APT = (
    '--aptopt=DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
    '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; }',
    '--aptopt=APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
    '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; }',
    '--aptopt=Dir::Cache::pkgcache ""',
    '--aptopt=Dir::Cache::srcpkgcache ""',
    '--aptopt=Acquire::Languages "none"',
    '--aptopt=Acquire::GzipIndexes "true"',
    '--aptopt=Apt::AutoRemove::SuggestsImportant "false"',
)


@dataclass(frozen=True)
class StandIn:
    """A base image the Dockerfile names, remade from Debian's packages."""

    name: str
    """The reference the Dockerfile uses, fully qualified as buildah resolves it."""
    suite: str
    packages: tuple[str, ...]
    go_version: str | None
    """A Go toolchain installed at /usr/local/go (the golang images)."""
    env: tuple[tuple[str, str], ...]
    workdir: str

    def recipe(self, machine: str) -> str:
        """Changes with anything that makes the stand-in: its fields and the machine's
        apt sources and trust settings."""
        made = [*self.packages, str(self.go_version), *SLIM_FILTERS, *OFFICIAL_APT]
        text = "\n".join([self.name, self.suite, *made, machine])
        text += "\n" + "\n".join(f"{key}={value}" for key, value in self.env) + self.workdir
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def base_images(dockerfile: str) -> list[str]:
    """Every external image a FROM line names (stages named earlier are not images)."""
    stages: set[str] = set()
    images: list[str] = []
    for match in re.finditer(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", dockerfile, re.M | re.I):
        image, stage = match.group(1), match.group(2)
        if image not in stages and image not in images:
            images.append(image)
        if stage:
            stages.add(stage)
    return images


def stand_in_for(image: str) -> StandIn:
    """The stand-in of a base image; only the kinds this Dockerfile uses are known."""
    golang = re.fullmatch(r"golang:(\d+\.\d+(?:\.\d+)?)-(\w+)", image)
    if golang:
        version, suite = golang.groups()
        return StandIn(
            name=f"docker.io/library/{image}",
            suite=suite,
            packages=GOLANG_PACKAGES,
            go_version=f"go{version}",
            env=(*GOLANG_ENV, ("GOLANG_VERSION", version)),
            workdir="/go",
        )
    slim = re.fullmatch(r"debian:(\w+)-slim", image)
    if slim:
        return StandIn(f"docker.io/library/{image}", slim.group(1), (), None, DEBIAN_ENV, "/")
    raise BuildError(f"no stand-in is known for base image {image} (devcluster/image.py)")


def host_sources() -> tuple[list[Path], str]:
    """The host's apt sources (the mirrors this machine reaches) and its Debian suite."""
    files = [Path("/etc/apt/sources.list")] if Path("/etc/apt/sources.list").is_file() else []
    files += sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    files += sorted(Path("/etc/apt/sources.list.d").glob("*.list"))
    release = dict(
        line.split("=", 1)
        for line in Path("/etc/os-release").read_text().splitlines()
        if "=" in line
    )
    return [f for f in files if f.read_text().strip()], release.get("VERSION_CODENAME", "").strip(
        '"'
    )


def go_root(version: str) -> Path:
    """That Go release's GOROOT: this machine's own when it is that release, else the
    toolchain the Go module proxy serves (`GOTOOLCHAIN=goX.Y.Z` fetches and checks it)."""
    env = {**os.environ, "GOTOOLCHAIN": version}
    result = subprocess.run(
        ["go", "env", "GOROOT", "GOVERSION"], capture_output=True, text=True, env=env, check=False
    )
    lines = result.stdout.split()
    if result.returncode != 0 or len(lines) != 2 or lines[1] != version:
        raise BuildError(f"Go {version} for the golang stand-in: {result.stderr.strip() or lines}")
    return Path(lines[0])


def make_stand_in(stand_in: StandIn, progress: Progress) -> None:
    """mmdebstrap the suite into a tar, import it as the image, and add Go if it needs it."""
    sources, host_suite = host_sources()
    if host_suite != stand_in.suite:
        raise BuildError(
            f"{stand_in.name}: this machine's apt sources are for "
            f"{host_suite or 'an unknown suite'}, the image is {stand_in.suite}"
        )
    started = time.monotonic()
    progress(f"making the stand-in {stand_in.name} from Debian's packages (cached)")
    with tempfile.TemporaryDirectory(prefix="harmonia-standin-") as folder:
        tar = Path(folder) / "rootfs.tar"
        include = [f"--include={','.join(stand_in.packages)}"] if stand_in.packages else []
        mirrors = [str(path) for path in sources]
        command = ["mmdebstrap", "--quiet", "--variant=minbase", *SLIM_FILTERS, *OFFICIAL_APT]
        command += include
        run_checked(
            [*command, stand_in.suite, str(tar), *mirrors],
            what=f"mmdebstrap of {stand_in.name}",
        )
        container = run_checked(buildah("from", "scratch"), what="buildah from scratch").strip()
        try:
            run_checked(
                buildah("add", container, str(tar), "/"), what=f"{stand_in.name}: root file system"
            )
            for path in machine_trust():
                run_checked(
                    buildah("copy", container, str(path), str(path)), what=f"{path} (trust)"
                )
            if stand_in.go_version:
                root = go_root(stand_in.go_version)
                run_checked(
                    buildah("copy", container, str(root), "/usr/local/go"), what="Go toolchain"
                )
                run_checked(
                    buildah(
                        "run",
                        "--isolation",
                        "chroot",
                        container,
                        "mkdir",
                        "-p",
                        "/go/bin",
                        "/go/src",
                    ),
                    what="GOPATH",
                )
            config = [f"--env={key}={value}" for key, value in stand_in.env]
            config += ["--workingdir", stand_in.workdir, "--cmd", "bash"]
            run_checked(
                buildah("config", *config, container), what=f"{stand_in.name}: configuration"
            )
            run_checked(
                buildah("commit", "--quiet", "--rm", container, stand_in.name), what="commit"
            )
        except BuildError:
            subprocess.run(buildah("rm", container), capture_output=True, check=False)
            raise
    progress(f"  {stand_in.name}: made in {time.monotonic() - started:.0f}s")


def machine_trust() -> list[Path]:
    return [path for path in MACHINE_TRUST if path.exists()]


def machine_settings() -> str:
    """The text of every host file a stand-in takes (apt sources, trust), for its recipe."""
    sources, _ = host_sources()
    files = [*sources]
    for path in machine_trust():
        files += sorted(path.iterdir()) if path.is_dir() else [path]
    return "\n".join(f"{path}\n{path.read_text()}" for path in files)


def ensure_stand_ins(dockerfile: str, progress: Progress) -> list[StandIn]:
    """Each base image of the Dockerfile, made unless the same recipe made it already."""
    listed = machine_settings()
    made: list[StandIn] = []
    for image in base_images(dockerfile):
        stand_in = stand_in_for(image)
        marker = (
            storage_root() / "stand-ins" / f"{image.replace('/', '_')}-{stand_in.recipe(listed)}"
        )
        present = subprocess.run(
            buildah("inspect", "--type", "image", stand_in.name), capture_output=True, check=False
        )
        if not (marker.is_file() and present.returncode == 0):
            make_stand_in(stand_in, progress)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        made.append(stand_in)
    return made
