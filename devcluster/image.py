"""The container image, built from the Dockerfile unchanged without a Docker engine.

buildah (as root, chroot isolation, vfs storage) builds it; the base images the Dockerfile
names cannot be pulled here, so stand-ins are made from Debian's packages with mmdebstrap
and given those names. `make image` and tests/image/ build through here; the stand-ins and
buildah's layers are cached beside the dev cluster's binaries. The product never imports it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from devcluster.build import BuildError, Progress, cache_root, run_checked

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
IMAGE = "localhost/harmonia:dev"
CONTEXT_LABEL = "dev.harmonia.context"
LAYER_LINE = re.compile(r"^--> (?:Using cache )?([0-9a-f]{11,64})", re.M)
"""buildah build's line for the image a step made or took from its cache."""

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


def ensure_stand_ins(progress: Progress) -> list[StandIn]:
    """Each base image of the Dockerfile, made unless the same recipe made it already."""
    listed = machine_settings()
    made: list[StandIn] = []
    for image in base_images(DOCKERFILE.read_text()):
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


def ignored(relative: str, patterns: list[str]) -> bool:
    """.dockerignore's rule: the last pattern matching the path or a folder above it wins,
    `!` lets in again; `**/` matches any depth, none included."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    verdict = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        bare = pattern.removeprefix("!")
        shapes = {bare, bare.removeprefix("**/")}
        if any(fnmatch.fnmatchcase(path, shape) for path in candidates for shape in shapes):
            verdict = not negated
    return verdict


def context_files(root: Path = ROOT) -> list[str]:
    """The build context: every file the .dockerignore lets in, relative, sorted. Folders
    no `!` pattern reaches into are not walked (the virtual environment, .git)."""
    lines = (root / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    wanted = [pattern.removeprefix("!") for pattern in patterns if pattern.startswith("!")]
    files: list[str] = []
    for folder, folders, names in os.walk(root):
        here = Path(folder).relative_to(root).as_posix()
        prefix = "" if here == "." else f"{here}/"
        folders[:] = [
            name
            for name in folders
            if not ignored(prefix + name, patterns)
            or any(pattern.startswith(f"{prefix}{name}/") for pattern in wanted)
        ]
        files += [prefix + name for name in names if not ignored(prefix + name, patterns)]
    return sorted(files)


def context_digest() -> str:
    """What the image is built from: the Dockerfile, the context's files and the stand-ins'
    recipes. An image labelled with the same digest needs no build at all (with vfs, even
    a build whose every step is cached copies each layer's whole file system)."""
    digest = hashlib.sha256(DOCKERFILE.read_bytes())
    digest.update(machine_settings().encode())
    for relative in context_files():
        digest.update(f"\0{relative}\0".encode())
        digest.update((ROOT / relative).read_bytes())
    return digest.hexdigest()[:16]


def built_digest(tag: str) -> str | None:
    """The context digest `tag` was built from, if it exists here."""
    shown = subprocess.run(
        buildah("inspect", "--type", "image", tag), capture_output=True, text=True, check=False
    )
    if shown.returncode != 0:
        return None
    labels = json.loads(shown.stdout)["OCIv1"]["config"].get("Labels") or {}
    found = labels.get(CONTEXT_LABEL)
    return str(found) if found else None


def build_image(tag: str = IMAGE, progress: Progress | None = None) -> str:
    """Build the Dockerfile as `tag` on the stand-ins, unless `tag` was built from exactly
    the same inputs; otherwise buildah reuses the layers whose inputs did not change."""
    report: Progress = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    if shutil.which("buildah") is None or shutil.which("mmdebstrap") is None:
        raise BuildError("buildah and mmdebstrap are needed: apt-get install buildah mmdebstrap")
    ensure_stand_ins(report)
    digest = context_digest()
    if built_digest(tag) == digest:
        report(f"{tag} is up to date (context {digest})")
        return tag
    started = time.monotonic()
    report(f"building {tag} from {DOCKERFILE.name} with buildah")
    # buildah's own step-by-step output goes to stderr as it comes: a cold build is minutes.
    command = buildah(
        "build",
        "--isolation",
        "chroot",
        "--network",
        "host",
        "--layers",
        "--pull=never",
        "--label",
        f"{CONTEXT_LABEL}={digest}",
        "--file",
        str(DOCKERFILE),
        "--tag",
        tag,
        str(ROOT),
    )
    # buildah's own step-by-step output goes to stderr as it comes: a cold build is minutes.
    layers: set[str] = set()
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as built:
        assert built.stdout is not None
        for line in built.stdout:
            sys.stderr.write(line)
            layers.update(LAYER_LINE.findall(line))
    if built.returncode != 0:
        raise BuildError(
            f"buildah build of {tag} failed (exit {built.returncode}); its output is above"
        )
    forget_other_layers(layers)
    report(f"  {tag}: built in {time.monotonic() - started:.0f}s")
    return tag


def forget_other_layers(kept: set[str]) -> None:
    """Remove the untagged images no step of the last build used: with vfs each is a whole
    file system (hundreds of MB), and every changed build would leave its old ones."""
    listed = subprocess.run(
        buildah("images", "--filter", "dangling=true", "--format", "{{.ID}}"),
        capture_output=True,
        text=True,
        check=False,
    )
    stale = [
        image
        for image in listed.stdout.split()
        if not any(layer.startswith(image) or image.startswith(layer) for layer in kept)
    ]
    if stale:
        subprocess.run(buildah("rmi", *stale), capture_output=True, check=False)


if __name__ == "__main__":
    try:
        build_image(sys.argv[1] if len(sys.argv) > 1 else IMAGE)
    except BuildError as error:
        sys.exit(str(error))
