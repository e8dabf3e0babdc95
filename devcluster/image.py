"""The container image, built from the Dockerfile unchanged without a Docker engine.

buildah (as root, chroot isolation, vfs storage) builds it on the stand-in base images
(`stand_ins`); a build whose inputs did not change is skipped. `make image` and
tests/image/ build through here; the stand-ins and buildah's layers are cached beside the
dev cluster's binaries. The product never imports it.
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
import time
from pathlib import Path

from devcluster.build import BuildError, Progress
from devcluster.buildah import buildah
from devcluster.stand_ins import ensure_stand_ins, machine_settings

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
IMAGE = "localhost/harmonia:dev"
CONTEXT_LABEL = "dev.harmonia.context"
LAYER_LINE = re.compile(r"^--> (?:Using cache )?([0-9a-f]{11,64})", re.M)
"""buildah build's line for the image a step made or took from its cache."""


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
    ensure_stand_ins(DOCKERFILE.read_text(), report)
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
