"""The files a Kustomize chart may make `kubectl kustomize` read: its own, nothing else.

Checked before the Kustomize engine runs. kustomize fetches any entry that is not a
local path (a URL, `github.com/...`, `git::...`) and follows folder entries anywhere on
the disk (`../../..`, absolute paths), so a commit could make the reconciler reach the
network or read the host. Every path a kustomization names must be a file or folder
inside the chart folder (links resolved); a folder entry is checked the same way, its
own kustomization included. A plugin configuration (an entry of `generators`,
`transformers` or `validators`, inline or a file) names files too, which kustomize
loads (URLs included), so its paths are checked the same way; a folder of them, which
kustomize builds first, cannot be checked and is refused. The chart's digest covers
exactly these files, so the render cache stays true too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from reconciler.release_requests.yaml_source import read_yaml_file
from reconciler.render.manifests.parse import parse_manifests
from reconciler.render.model import KubeObject, RenderError
from reconciler.types import JsonValue

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MAX_KUSTOMIZATIONS = 200
"""More nested kustomizations than any real chart has; a bound on the walk."""

_RESOURCE_LISTS = ("resources", "bases", "components", "crds")
_DATA_LISTS = ("configurations", "patchesStrategicMerge")
_PLUGIN_LISTS = ("generators", "transformers", "validators")
_ENTRIES_WITH_PATH = ("patches", "patchesJson6902", "replacements")
_GENERATORS = ("configMapGenerator", "secretGenerator")


@dataclass(frozen=True)
class ReachedFiles:
    """The files a Kustomize chart makes kustomize read, by how it reads them."""

    resources: tuple[Path, ...]
    """Files of objects kustomize passes on (transformed, never read as text)."""
    data: tuple[Path, ...]
    """Files kustomize reads for their content: patches, generator inputs, configurations."""


def check_kustomization(chart_root: Path, *, subject: str) -> ReachedFiles:
    """Refuse the chart if any kustomization in it names a path outside it or a remote;
    else the files it reaches."""
    root = chart_root.resolve()
    pending = [root]
    seen: set[Path] = set()
    resources: dict[Path, None] = {}
    data: dict[Path, None] = {}
    while pending:
        folder = pending.pop()
        if folder in seen:
            continue
        seen.add(folder)
        if len(seen) > MAX_KUSTOMIZATIONS:
            raise RenderError(f"{subject}: more than {MAX_KUSTOMIZATIONS} kustomizations")
        file = _kustomization_file(folder, root=root, subject=subject)
        where = f"{subject}: {file.relative_to(root)}"
        kustomization = _read(file, where=where)
        for entry, is_resource in _named_paths(kustomization):
            target = _inside(folder, entry, root=root, where=where)
            if target.is_dir():
                pending.append(target)
            else:
                (resources if is_resource else data)[target] = None
        for config in _plugin_configs(kustomization, folder, root=root, where=where):
            for entry in _config_paths(config):
                data[_inside(folder, entry, root=root, where=where)] = None
    return ReachedFiles(tuple(resources), tuple(data))


def _kustomization_file(folder: Path, *, root: Path, subject: str) -> Path:
    for name in KUSTOMIZATION_FILES:
        if (folder / name).is_file():
            return folder / name
    shown = folder.relative_to(root).as_posix() if folder != root else "the chart folder"
    raise RenderError(f"{subject}: {shown} has no kustomization.yaml")


def _read(file: Path, *, where: str) -> dict[str, JsonValue]:
    read = read_yaml_file(file, display_name=where)
    if read.document is None or read.problems:
        first = read.problems[0].render() if read.problems else f"{where}: unreadable"
        raise RenderError(first)
    return read.document.data


def _named_paths(kustomization: dict[str, JsonValue]) -> Iterator[tuple[str, bool]]:
    """Every entry that kustomize reads as a path or a remote, and whether it is a
    resource (else read for its content); inline patches and inline generator
    configurations (text with a line break, or objects) name none."""
    for fields, is_resource in ((_RESOURCE_LISTS, True), (_DATA_LISTS, False)):
        for field in fields:
            for entry in _listed(kustomization.get(field)):
                if isinstance(entry, str) and "\n" not in entry:
                    yield entry, is_resource
    for field in _ENTRIES_WITH_PATH:
        for entry in _listed(kustomization.get(field)):
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                yield str(entry["path"]), False
    openapi = kustomization.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        yield str(openapi["path"]), False
    for field in _GENERATORS:
        for generator in _listed(kustomization.get(field)):
            if isinstance(generator, dict):
                yield from ((entry, False) for entry in _generator_files(generator))


def _plugin_configs(
    kustomization: dict[str, JsonValue], folder: Path, *, root: Path, where: str
) -> Iterator[KubeObject]:
    """The plugin configurations the kustomization names, inline or in files of the chart."""
    for field in _PLUGIN_LISTS:
        for entry in _listed(kustomization.get(field)):
            if not isinstance(entry, str):
                continue
            if "\n" in entry:
                yield from parse_manifests(entry, subject=f"{where}: inline {field} entry")
                continue
            target = _inside(folder, entry, root=root, where=where)
            if target.is_dir():
                raise RenderError(
                    f"{where}: {field} entry {entry!r} is a folder: kustomize builds it into "
                    "plugin configurations, which may name URLs; name the configuration files"
                )
            yield from parse_manifests(
                _plugin_text(target, entry, where=where), subject=f"{where}: {entry}"
            )


def _config_paths(config: KubeObject) -> Iterator[str]:
    """The files a builtin plugin configuration makes kustomize load: a generator's
    `files`/`envs`/`env`, a patch's `path` or `paths`, a replacement's `path`."""
    yield from _generator_files(config)
    path = config.get("path")
    if isinstance(path, str):
        yield path
    for entry in _listed(config.get("paths")):
        if isinstance(entry, str):
            yield entry
    for replacement in _listed(config.get("replacements")):
        if isinstance(replacement, dict) and isinstance(replacement.get("path"), str):
            yield str(replacement["path"])


def _generator_files(generator: dict[str, JsonValue]) -> Iterator[str]:
    for entry in _listed(generator.get("files")):
        if isinstance(entry, str):
            yield entry.partition("=")[2] or entry  # `key=path` or `path`
    for entry in [*_listed(generator.get("envs")), generator.get("env")]:
        if isinstance(entry, str):
            yield entry


def _listed(value: JsonValue) -> list[JsonValue]:
    return value if isinstance(value, list) else []


def _inside(folder: Path, entry: str, *, root: Path, where: str) -> Path:
    if PurePosixPath(entry).is_absolute():
        raise RenderError(f"{where}: {entry!r} is an absolute path; name a path inside the chart")
    target = (folder / entry).resolve()
    # Containment first, so the message never tells whether a host path exists.
    if not target.is_relative_to(root):
        raise RenderError(f"{where}: {entry!r} leads outside the chart")
    if not target.exists():
        raise RenderError(
            f"{where}: {entry!r} is not a file or folder inside the chart "
            "(remote resources are never fetched: vendor them into the chart)"
        )
    return target


MAX_PLUGIN_CONFIG_BYTES = 1 << 20
"""A plugin configuration is a small YAML file; a larger one is refused unread."""


def _plugin_text(target: Path, entry: str, *, where: str) -> str:
    """A plugin configuration file's text; one that is too large or cannot be read fails
    the release (a device, a folder that vanished), never the pass."""
    try:
        with target.open("rb") as stream:
            raw = stream.read(MAX_PLUGIN_CONFIG_BYTES + 1)
    except OSError:
        raise RenderError(f"{where}: {entry!r} cannot be read") from None
    if len(raw) > MAX_PLUGIN_CONFIG_BYTES:
        raise RenderError(f"{where}: {entry!r} is larger than {MAX_PLUGIN_CONFIG_BYTES} bytes")
    return raw.decode("utf-8", errors="replace")
