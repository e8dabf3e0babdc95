"""Loads a whole repository: `harmonia.yaml`, then every release file, into plain values.

The release-requests package's entry point, first after the Git snapshot; also the checks
across files.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from reconciler.release_requests.build import build_release, build_repository_config
from reconciler.release_requests.diagnostics import Diagnostic, Severity, SourceMap, file_diagnostic
from reconciler.release_requests.document_cache import CheckedDocument, DocumentCache
from reconciler.release_requests.environments import (
    ENVIRONMENTS_DIR,
    Overlay,
    apply_overlay,
    chosen_settings,
    read_overlays,
    unmatched_overlays,
)
from reconciler.release_requests.model import (
    ChartPath,
    Release,
    RepoChart,
    RepositoryConfig,
    SourceFormat,
)
from reconciler.release_requests.schema import Schema, schema_fields, validate_document
from reconciler.release_requests.walm import walm_release_document
from reconciler.release_requests.yaml_source import (
    DEFAULT_LIMITS,
    YamlDocument,
    YamlLimits,
    parse_yaml_bytes,
    read_limited,
    read_yaml_file,
)
from reconciler.sops import (
    encrypted_leaves,
    is_sops_document,
    placeholder_tokens,
    substituted_object,
    without_metadata,
)
from reconciler.types import JsonObject, ReleaseKey, release_key

REPOSITORY_FILE = "harmonia.yaml"
RELEASE_SUFFIXES = (".yaml", ".yml")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class LoadedRepository:
    """Everything loading found. A release whose file is invalid is not in `releases`."""

    root: Path
    config: RepositoryConfig | None
    """None when `harmonia.yaml` is missing or invalid (loading then used the defaults)."""
    releases: Mapping[ReleaseKey, Release]
    diagnostics: tuple[Diagnostic, ...]
    invalid_releases: frozenset[ReleaseKey]
    """Releases claimed by files with errors (or by two files): known, but not loaded."""

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(item for item in self.diagnostics if item.is_error)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(item for item in self.diagnostics if not item.is_error)

    @property
    def unclaimed_files(self) -> tuple[str, ...]:
        """Release files with errors that do not say which release they hold (unreadable,
        or no valid name and namespace): any release could be in one of them."""
        found = {item.file for item in self.errors if item.release is None}
        return tuple(sorted(found - {REPOSITORY_FILE}))


@dataclass(frozen=True)
class _ReleaseFile:
    file: str
    claimed: ReleaseKey | None
    source: SourceMap | None
    release: Release | None
    problems: tuple[Diagnostic, ...]


def load_repository(
    root: Path,
    *,
    environment: str | None = None,
    limits: YamlLimits = DEFAULT_LIMITS,
    cache_dir: Path | None = None,
) -> LoadedRepository:
    """Load and validate the repository at `root` (the folder holding `harmonia.yaml`).

    With `environment`, its settings replace the repository's and its overlays are
    merged over the release files (docs/environments.md); a name `harmonia.yaml` does not
    declare raises `EnvironmentChoiceError`. With `cache_dir`, release files read and
    validated before are taken from the document cache there (see `document_cache`)."""
    # Resolved once: every check that a path stays inside the repository compares with it.
    real_root = root.resolve()
    config, settings, problems = _load_config(real_root, limits)
    if config is not None:
        config = settings = chosen_settings(config, environment)
    read = read_overlays(
        real_root, config, _files_under(real_root / ENVIRONMENTS_DIR), limits=limits
    )
    overlays = read.overlays
    problems.extend(read.problems)
    # A release whose overlay is broken is not applied as the base file says either.
    overlay_failed = {item.release for item in read.problems if item.release is not None}
    paths, found = _release_paths(real_root, settings)
    problems.extend(found)
    documents = DocumentCache(cache_dir / "releases", limits=limits) if cache_dir else None
    files = [
        _load_release_file(real_root, path, settings, config, limits, documents, overlays)
        for path in paths
    ]
    overlay_failed |= {item.claimed for item in files if item.claimed and read.unread(item.claimed)}
    duplicated, found = _duplicate_claims(files)
    problems.extend(found)
    problems.extend(problem for item in files for problem in item.problems)
    problems.extend(unmatched_overlays(overlays, _claims(files)))
    releases = {
        item.release.key: item.release
        for item in files
        if item.release is not None and item.release.key not in duplicated | overlay_failed
    }
    failed = {item.claimed for item in files if item.claimed is not None and item.problems}
    failed |= overlay_failed | (overlays.keys() - {item.claimed for item in files})
    if environment is not None and config is None:
        # Which environment's releases these would be is unknown: none is applied, and
        # none is removed either.
        failed |= releases.keys()
        releases = {}
    return LoadedRepository(
        root=root,
        config=config,
        releases=dict(sorted(releases.items())),
        diagnostics=tuple(sorted(problems, key=Diagnostic.sort_key)),
        invalid_releases=frozenset(failed | duplicated),
    )


def _claims(files: list[_ReleaseFile]) -> dict[ReleaseKey, str | None]:
    """Each release claimed, with its file when that file itself is invalid."""
    claims: dict[ReleaseKey, str | None] = {}
    for item in files:
        if item.claimed is not None:
            broken = item.problems and all(p.file == item.file for p in item.problems)
            claims[item.claimed] = item.file if broken else None
    return claims


def _load_config(
    root: Path, limits: YamlLimits
) -> tuple[RepositoryConfig | None, RepositoryConfig, list[Diagnostic]]:
    """The valid config (or None), the settings to load with, and the problems found."""
    path = root / REPOSITORY_FILE
    if not path.is_file():
        missing = file_diagnostic(
            REPOSITORY_FILE,
            f"no {REPOSITORY_FILE} at the repository root",
            "PATH must be the repository root; create harmonia.yaml there with "
            "apiVersion: harmonia.dev/v1alpha1 and kind: Repository",
        )
        return None, RepositoryConfig(), [missing]
    read = read_yaml_file(path, display_name=REPOSITORY_FILE, limits=limits)
    if read.document is None:
        return None, RepositoryConfig(), list(read.problems)
    data, source = read.document.data, read.document.source
    problems = list(read.problems) or list(validate_document(data, source, Schema.REPOSITORY))
    if problems:
        # Look for releases where a broken harmonia.yaml says they are, if that part is fine.
        folder = data.get("releasesDir")
        if not isinstance(folder, str) or any(p.path == "$.releasesDir" for p in problems):
            folder = RepositoryConfig.releases_dir
        fallback = RepositoryConfig(releases_dir=folder)
        return None, fallback, problems
    config = build_repository_config(data, source)
    absent = [
        source.diagnostic(
            ("libraryDirs", index), f"folder '{folder}' does not exist", "create it or fix the path"
        )
        for index, folder in enumerate(config.library_dirs)
        if not _is_dir_inside(root, folder)
    ]
    return config, config, absent


def _resolve_inside(root: Path, relative: str) -> Path | None:
    """`root/relative` with links resolved, or None when that leads out of the repository
    (`root` is resolved already)."""
    target = (root / relative).resolve()
    return target if target.is_relative_to(root) else None


def _outside_or_missing(root: Path, relative: str) -> str | None:
    """Why `relative` cannot be used, or None: it leads outside the repository, or is absent."""
    if _resolve_inside(root, relative) is None:
        return "leads outside the repository (through a symbolic link)"
    return None if (root / relative).exists() else "does not exist"


def _is_dir_inside(root: Path, relative: str) -> bool:
    target = _resolve_inside(root, relative)
    return target is not None and target.is_dir()


def _release_paths(root: Path, settings: RepositoryConfig) -> tuple[list[Path], list[Diagnostic]]:
    folder = settings.releases_dir
    if not _is_dir_inside(root, folder):
        source = settings.source or SourceMap(REPOSITORY_FILE, {})
        return [], [
            source.diagnostic(
                ("releasesDir",),
                f"the releases folder '{folder}' does not exist",
                "create it, or set releasesDir in harmonia.yaml",
            )
        ]
    paths, problems = [], []
    for path in _files_under(root / folder):
        shown = _display(root, path)
        if shown == REPOSITORY_FILE or (
            settings.environments and shown.startswith(f"{ENVIRONMENTS_DIR}/")
        ):
            continue
        if path.is_dir():
            # Not walked, and not silently skipped either: the releases in it would look
            # gone, and be removed.
            problems.append(
                file_diagnostic(
                    shown,
                    "a symbolic link to a folder: release folders are not read through links",
                    "move the release files into the releases folder (or link each file)",
                )
            )
        elif path.suffix not in RELEASE_SUFFIXES:
            problems.append(
                file_diagnostic(
                    shown,
                    "not read: release files end in .yaml or .yml",
                    "rename it, or move it out of the releases folder",
                    severity=Severity.WARNING,
                )
            )
        elif _resolve_inside(root, shown) is None:
            problems.append(
                file_diagnostic(
                    shown,
                    "symbolic link to a file outside the repository",
                    "a repository may only use its own files; copy the file in",
                )
            )
        else:
            paths.append(path)
    if not paths:
        problems.append(
            file_diagnostic(
                REPOSITORY_FILE,
                f"no release files under '{folder}'",
                "add one release request per .yaml file there",
                severity=Severity.WARNING,
            )
        )
    return paths, problems


def _files_under(folder: Path) -> Iterator[Path]:
    """Files below `folder` in a stable order, hidden ones skipped; a link to a folder is
    yielded as it is, not followed."""
    for current, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        linked = [name for name in folders if (Path(current) / name).is_symlink()]
        for name in sorted((*files, *linked)):
            if not name.startswith("."):
                yield Path(current) / name


def _display(root: Path, path: Path) -> str:
    return PurePosixPath(path.relative_to(root)).as_posix()


def _load_release_file(
    root: Path,
    path: Path,
    settings: RepositoryConfig,
    config: RepositoryConfig | None,
    limits: YamlLimits,
    documents: DocumentCache | None,
    overlays: Mapping[ReleaseKey, Overlay],
) -> _ReleaseFile:
    shown = _display(root, path)
    raw = read_limited(path, display_name=shown, limits=limits)
    if isinstance(raw, Diagnostic):
        return _ReleaseFile(shown, None, None, None, (raw,))
    checked = documents.get(raw, file=shown) if documents is not None else None
    if checked is None:
        read = parse_yaml_bytes(raw, display_name=shown, limits=limits)
        if read.document is None:
            return _ReleaseFile(shown, None, None, None, read.problems)
        claimed = _claimed_release(read.document.data)
        checked_or_problems = read.problems or _checked_document(read.document)
        if not isinstance(checked_or_problems, CheckedDocument):
            return _invalid_file(shown, claimed, read.document.source, checked_or_problems)
        checked = checked_or_problems
        if documents is not None:
            documents.put(raw, checked)
    else:
        claimed = _claimed_release(checked.data)
    written, base_source = checked.data, checked.source
    overlay = overlays.get(claimed) if claimed is not None else None
    if overlay is not None and settings.environment is not None:
        overlaid = apply_overlay(checked, overlay, environment=settings.environment)
        if overlaid is None:
            return _ReleaseFile(shown, claimed, base_source, None, ())
        if not isinstance(overlaid, CheckedDocument):
            return _invalid_file(shown, claimed, base_source, overlaid)
        checked = overlaid
    outcome = build_release(
        without_metadata(checked.data),
        checked.source,
        defaults=settings.defaults,
        source_format=checked.source_format,
    )
    if isinstance(outcome, Release) and is_sops_document(written):
        # The file as written: its MAC covers every value, the overlay's changes aside.
        outcome = dataclasses.replace(outcome, encrypted=written)
    if isinstance(outcome, Release):
        outcome = _repository_problems(root, outcome, config) or outcome
    if isinstance(outcome, Release):
        return _ReleaseFile(shown, claimed, base_source, outcome, ())
    return _invalid_file(shown, claimed, base_source, outcome)


def _invalid_file(
    shown: str, claimed: ReleaseKey | None, source: SourceMap, problems: tuple[Diagnostic, ...]
) -> _ReleaseFile:
    attributed = tuple(dataclasses.replace(problem, release=claimed) for problem in problems)
    return _ReleaseFile(shown, claimed, source, None, attributed)


def _claimed_release(data: JsonObject) -> ReleaseKey | None:
    """The release a file names, if its name and namespace could be one (DNS-1123 labels):
    keys become status file paths and label values, so `..` or `a/b` claim nothing."""
    name, namespace = data.get("name"), data.get("namespace")
    if not (isinstance(name, str) and isinstance(namespace, str)):
        return None
    if _DNS_LABEL.fullmatch(name) and _DNS_LABEL.fullmatch(namespace):
        return release_key(namespace, name)
    return None


def _is_walm_body(data: JsonObject) -> bool:
    """No apiVersion/kind, and no field only Harmonia's format has."""
    harmonia_only = schema_fields(Schema.RELEASE) - schema_fields(Schema.WALM_RELEASE_REQUEST)
    return not harmonia_only & data.keys()


def _checked_document(document: YamlDocument) -> CheckedDocument | tuple[Diagnostic, ...]:
    """The release document (a WALM request translated) once it passes its schemas."""
    data, source = document.data, document.source
    if is_sops_document(data):
        return _checked_sops_document(data, source)
    source_format = SourceFormat.WALM if _is_walm_body(data) else SourceFormat.HARMONIA
    if source_format is SourceFormat.WALM:
        problems = validate_document(data, source, Schema.WALM_RELEASE_REQUEST)
        if problems:
            return problems
        data, problems = walm_release_document(data, source)
        if problems:
            return problems
    problems = validate_document(data, source, Schema.RELEASE)
    return problems or CheckedDocument(data, source, source_format)


def _checked_sops_document(
    data: JsonObject, source: SourceMap
) -> CheckedDocument | tuple[Diagnostic, ...]:
    """A partly encrypted release file, checked with placeholders where its encrypted
    values are (no key is needed to validate it). Only `configValues` may be encrypted:
    the other fields say what the release is, and are read without a key."""
    outside = [leaf for leaf in encrypted_leaves(data) if leaf.path[:1] != ("configValues",)]
    if outside:
        return tuple(
            source.diagnostic(
                leaf.path,
                "an encrypted value outside configValues",
                "only configValues may be encrypted in a release file (sops "
                "--encrypted-regex or --encrypted-suffix); move secrets there or into a "
                "values file",
            )
            for leaf in outside
        )
    if _is_walm_body(without_metadata(data)):
        return (
            file_diagnostic(
                source.file,
                "a SOPS-encrypted WALM request",
                "write the release in Harmonia's format to encrypt part of it",
            ),
        )
    opened = substituted_object(without_metadata(data), placeholder_tokens(data))
    problems = validate_document(opened, source, Schema.RELEASE)
    return problems or CheckedDocument(data, source, SourceFormat.HARMONIA)


def _repository_problems(
    root: Path, release: Release, config: RepositoryConfig | None
) -> tuple[Diagnostic, ...]:
    """What a release names in the repository must be there."""
    source = release.source
    problems = []
    chart = release.chart
    if isinstance(chart, ChartPath):
        target = _resolve_inside(root, chart.path)
        if not target or not (target.is_dir() or (target.is_file() and target.suffix == ".tgz")):
            problems.append(
                source.diagnostic(
                    ("chartPath",),
                    f"no chart folder or .tgz at '{chart.path}'"
                    + (" (it leads outside the repository)" if target is None else ""),
                    f"chartPath is relative to the repository root (where {REPOSITORY_FILE} is)",
                )
            )
    for index, values_file in enumerate(release.values_files):
        target = _resolve_inside(root, values_file)
        if target is None or not target.is_file():
            why = _outside_or_missing(root, values_file) or "is not a file"
            problems.append(
                source.diagnostic(
                    ("valuesFiles", index),
                    f"values file '{values_file}' {why}",
                    f"paths are relative to the repository root (where {REPOSITORY_FILE} is)",
                )
            )
    if isinstance(chart, RepoChart) and config and chart.repo_name not in config.chart_repositories:
        known = ", ".join(config.chart_repositories) or "none yet"
        problems.append(
            source.diagnostic(
                ("repoName",),
                f"chart repository '{chart.repo_name}' is not in {REPOSITORY_FILE}",
                f"add it under chartRepositories (known: {known})",
            )
        )
    return tuple(problems)


def _duplicate_claims(files: list[_ReleaseFile]) -> tuple[set[ReleaseKey], list[Diagnostic]]:
    """Releases claimed by several files; each later file (by path) gets an error."""
    first: dict[ReleaseKey, _ReleaseFile] = {}
    problems = []
    for item in files:
        if item.claimed is None or item.source is None:
            continue
        earlier = first.setdefault(item.claimed, item)
        if earlier is item or earlier.source is None:
            continue
        where = earlier.source.position(("name",))
        problem = item.source.diagnostic(
            ("name",),
            f"release {item.claimed} is also defined in {earlier.file}:{where.line}",
            "one file per release: remove one, or change its name or namespace",
        )
        problems.append(dataclasses.replace(problem, release=item.claimed))
    return {problem.release for problem in problems if problem.release}, problems
