"""Build the dev cluster's binaries from the upstream Go modules, cached by version.

Each component is built once into `<cache>/bin/<name>-<version>-<recipe>/`, where
the recipe hash covers everything that changes the output (module, version,
packages, ldflags, Go version). A changed pin therefore rebuilds exactly that
component; an unchanged one costs a directory lookup.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import yaml

from devcluster.pins import BINARIES, COMPONENTS, GITEA, Component
from reconciler.locations import cache_home

GO_PROXY_DEFAULT = "https://proxy.golang.org"

Progress = Callable[[str], None]


class BuildError(Exception):
    """A component could not be built; the message names it and quotes Go's output."""


def cache_root() -> Path:
    """Harmonia's cache home: the binaries live beside its Git and chart caches."""
    return cache_home()


def go_version() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "the Go toolchain is not on PATH; install Go 1.26 to build the dev cluster"
        )
    return subprocess.run(
        [go, "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.strip()


REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
"""Where `source` components live (the image's tools stage copies them beside devcluster/)."""


def recipe_hash(component: Component, go: str) -> str:
    recipe = "\n".join(
        [component.module, component.version, *component.packages, *component.ldflags, go]
    )
    if component.source:
        recipe += "\n" + source_hash(REPOSITORY_ROOT / component.source)
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def source_hash(folder: Path) -> str:
    """A digest of every file's path and bytes: an edited renderer is a new build."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def check_source_pin(component: Component, go_mod: str) -> None:
    """A source component's go.mod must require Helm at the pinned version, so that it
    renders with the engine the helm binary is built from."""
    wanted = f"helm.sh/helm/v4 {component.version}"
    lines = {" ".join(line.replace("require ", "", 1).split()) for line in go_mod.splitlines()}
    if wanted not in lines:
        raise BuildError(
            f"{component.name}: {component.source}/go.mod must require {wanted}"
            " (devcluster/pins.py's HELM_VERSION)"
        )


def component_bin_dir(component: Component, go: str) -> Path:
    return (
        cache_root() / "bin" / f"{component.name}-{component.version}-{recipe_hash(component, go)}"
    )


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GOTOOLCHAIN", "local")
    env.setdefault("GOFLAGS", "-buildvcs=false")
    env["CGO_ENABLED"] = "0"
    return env


def run_checked(
    command: list[str], *, what: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    """Run a build tool; on failure, a BuildError naming the step with the output's tail."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
        raise BuildError(f"{what} failed ({' '.join(command[:3])} ...):\n{tail}")
    return result.stdout


def _run_go(args: list[str], *, cwd: Path, env: dict[str, str], what: str) -> None:
    run_checked(["go", *args], cwd=cwd, env=env, what=what)


def _fetch_upstream_go_mod(component: Component) -> str:
    proxy = os.environ.get("GOPROXY", GO_PROXY_DEFAULT).split(",")[0].split("|")[0]
    if proxy in ("direct", "off"):
        proxy = GO_PROXY_DEFAULT
    url = f"{proxy.rstrip('/')}/{component.module}/@v/{component.version}.mod"
    with urllib.request.urlopen(url, timeout=60) as response:
        text: str = response.read().decode()
    return text


def staging_replacements(upstream_go_mod: str, version: str) -> list[tuple[str, str]]:
    """Map each module that upstream replaces with a local staging folder to its
    published release (`k8s.io/api` -> `k8s.io/api v0.36.3` for Kubernetes v1.36.3).

    Read from the pinned version's own go.mod, because the staging set changes
    between Kubernetes releases.
    """
    published = "v0." + version.lstrip("v").split(".", 1)[1]
    replacements: list[tuple[str, str]] = []
    for line in upstream_go_mod.splitlines():
        parts = (
            line.replace("replace", "", 1).split() if line.startswith("replace ") else line.split()
        )
        if len(parts) == 3 and parts[1] == "=>" and parts[2].startswith("./staging/"):
            replacements.append((parts[0], published))
    return replacements


def wrapper_go_mod(component: Component, go: str) -> str:
    replacements: list[tuple[str, str]] = []
    if component.module == "k8s.io/kubernetes":
        replacements = staging_replacements(_fetch_upstream_go_mod(component), component.version)
    lines = [
        f"module harmonia.dev/devcluster/{component.name}",
        "",
        f"go {go.removeprefix('go')}",
        "",
        f"require {component.module} {component.version}",
    ]
    if replacements:
        lines += ["", "replace ("]
        lines += [f"\t{module} => {module} {release}" for module, release in replacements]
        lines.append(")")
    return "\n".join(lines) + "\n"


def wrapper_tools_go(component: Component) -> str:
    imports = "\n".join(f'\t_ "{package}"' for package in component.packages)
    return f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n"


def module_source(component: Component, *, env: dict[str, str]) -> Path:
    """The pinned module's source in Go's module cache (read-only), downloaded if needed."""
    result = subprocess.run(
        ["go", "mod", "download", "-json", f"{component.module}@{component.version}"],
        env=env,
        capture_output=True,
        text=True,
        cwd=cache_root(),
    )
    if result.returncode != 0:
        raise BuildError(f"{component.name}: download failed:\n{result.stdout}{result.stderr}")
    return Path(json.loads(result.stdout)["Dir"])


# KWOK's controller plays nodes and pods only through Stage objects; these are
# the upstream "fast" stages that kwokctl also uses, read from the pinned module.
KWOK_STAGES_FILE = "kwok-stages.yaml"
KWOK_STAGE_KUSTOMIZATIONS = (
    "kustomize/stage/node/fast",
    "kustomize/stage/node/heartbeat-with-lease",
    "kustomize/stage/pod/fast",
)


def kwok_stages(component: Component, *, env: dict[str, str]) -> str:
    module_dir = module_source(component, env=env)
    documents: list[str] = []
    for folder in KWOK_STAGE_KUSTOMIZATIONS:
        kustomization = yaml.safe_load((module_dir / folder / "kustomization.yaml").read_text())
        for resource in kustomization["resources"]:
            documents.append((module_dir / folder / resource).read_text().strip())
    return "\n---\n".join(documents) + "\n"


def command_names(component: Component) -> list[str]:
    """The binaries the component's packages build: each package's last path element, or
    for a lone package not named so (etcd's `server/v3`), the one binary BINARIES gives."""
    owned = [name for name, owner in BINARIES.items() if owner == component.name]
    named = [name for name in owned if any(p.endswith(f"/{name}") for p in component.packages)]
    return named or owned


GITEA_OPTIONS = "options"
"""Gitea's translations and templates of labels, licences and .gitignore files: its web
server reads them from its static root (the binary's folder) when not built in."""


def build_component(component: Component, *, go: str, progress: Progress) -> Path:
    """Build one component unless its cached binaries exist; return its bin folder."""
    target = component_bin_dir(component, go)
    expected = command_names(component)
    if component.name == "kwok":
        expected.append(KWOK_STAGES_FILE)
    if component.in_source:
        expected.append(component.name)
    if all((target / name).is_file() for name in expected):
        return target
    started = time.monotonic()
    progress(f"building {component.name} {component.version} (first time only; cached in {target})")
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    env = _go_env()
    ldflags = " ".join(["-s", "-w", *component.ldflags])
    if component.in_source:
        source = cache_root() / "src" / target.name
        shutil.rmtree(source, ignore_errors=True)
        shutil.copytree(module_source(component, env=env), source)
        source.chmod(0o755)
        for folder in source.rglob("*"):
            folder.chmod(0o755 if folder.is_dir() else 0o644)
        progress(f"  {component.name}: compiling in its own module")
        _run_go(
            ["build", "-trimpath", "-ldflags", ldflags, "-o", str(staging / component.name), "."],
            cwd=source,
            env=env,
            what=f"{component.name}: compile",
        )
        if component is GITEA:
            shutil.copytree(source / GITEA_OPTIONS, staging / GITEA_OPTIONS)
        shutil.rmtree(source, ignore_errors=True)
    elif component.source:
        source = REPOSITORY_ROOT / component.source
        check_source_pin(component, (source / "go.mod").read_text())
        progress(f"  {component.name}: compiling {component.source}/")
        _run_go(
            ["build", "-trimpath", "-ldflags", ldflags, "-o", str(staging / expected[0]), "."],
            cwd=source,
            env=env,
            what=f"{component.name}: compile",
        )
    elif component.wrapper:
        source = cache_root() / "src" / target.name
        source.mkdir(parents=True, exist_ok=True)
        (source / "go.mod").write_text(wrapper_go_mod(component, go))
        (source / "tools.go").write_text(wrapper_tools_go(component))
        progress(f"  {component.name}: resolving modules")
        _run_go(["mod", "tidy"], cwd=source, env=env, what=f"{component.name}: module resolution")
        progress(f"  {component.name}: compiling {len(component.packages)} command(s)")
        # A lone package is named explicitly: Go would call etcd's `server/v3` "server".
        output = str(staging / expected[0]) if len(component.packages) == 1 else f"{staging}/"
        _run_go(
            ["build", "-trimpath", "-ldflags", ldflags, "-o", output, *component.packages],
            cwd=source,
            env=env,
            what=f"{component.name}: compile",
        )
    else:
        env["GOBIN"] = str(staging)
        progress(f"  {component.name}: compiling")
        _run_go(
            ["install", "-trimpath", "-ldflags", ldflags]
            + [f"{package}@{component.version}" for package in component.packages],
            cwd=cache_root(),
            env=env,
            what=f"{component.name}: compile",
        )
    if component.name == "kwok":
        (staging / KWOK_STAGES_FILE).write_text(kwok_stages(component, env=env))
    missing = [name for name in expected if not (staging / name).is_file()]
    if missing:
        raise BuildError(f"{component.name}: the build produced no {', '.join(missing)}")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    progress(f"  {component.name}: built in {time.monotonic() - started:.0f}s")
    return target


def ensure_binaries(progress: Progress | None = None) -> dict[str, Path]:
    """Return binary name -> path, building whatever is not cached yet."""
    report: Progress = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    cache_root().mkdir(parents=True, exist_ok=True)
    go = go_version()
    paths: dict[str, Path] = {}
    for component in COMPONENTS:
        folder = build_component(component, go=go, progress=report)
        for name, owner in BINARIES.items():
            if owner == component.name:
                paths[name] = folder / name
    return paths


def build_into(names: Sequence[str], into: Path, progress: Progress) -> None:
    """Copy the named binaries into `into`, each built by its component's recipe narrowed to
    its own command: the image build runs this (Dockerfile), so the image holds the tools the
    dev cluster builds, flag for flag, without compiling a control plane it does not ship."""
    unknown = sorted(set(names) - set(BINARIES))
    if unknown:
        raise BuildError(f"no component builds {', '.join(unknown)}")
    cache_root().mkdir(parents=True, exist_ok=True)
    into.mkdir(parents=True, exist_ok=True)
    go = go_version()
    for component in COMPONENTS:
        wanted = tuple(
            package
            for package in component.packages
            if set(command_names(replace(component, packages=(package,)))) & set(names)
        )
        if wanted:
            narrowed = replace(component, packages=wanted)
            folder = build_component(narrowed, go=go, progress=progress)
            for name in command_names(narrowed):
                shutil.copy2(folder / name, into / name)


def ensure_gitea(progress: Progress | None = None) -> Path:
    """The pinned Gitea binary (built the first time: minutes), its `options/` beside it."""
    report: Progress = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    cache_root().mkdir(parents=True, exist_ok=True)
    return build_component(GITEA, go=go_version(), progress=report) / GITEA.name


def cached_binaries() -> dict[str, Path] | None:
    """The binaries if every component is already built, else None (no build)."""
    go = go_version()
    paths: dict[str, Path] = {}
    for name, owner in BINARIES.items():
        component = next(c for c in COMPONENTS if c.name == owner)
        path = component_bin_dir(component, go) / name
        if not path.is_file():
            return None
        paths[name] = path
    return paths


if __name__ == "__main__":
    # `python3 -m devcluster.build helm kubectl sops --into /out`: the image's tools stage.
    arguments = sys.argv[1:]
    if len(arguments) < 3 or arguments[-2] != "--into":
        sys.exit("usage: python3 -m devcluster.build NAME... --into FOLDER")
    build_into(arguments[:-2], Path(arguments[-1]), lambda line: print(line, flush=True))
