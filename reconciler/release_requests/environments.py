"""Environments: choosing one, reading its overlay files, applying them to release files.

Part of loading (`loader.load_repository`): a checked release document of the chosen
environment has its overlay (`environments/<env>/<namespace>/<name>.yaml`) merged over
it by `overlay.merge_overlay` before the release is built. Overlay problems are
diagnostics at the overlay's file:line, and fail that release only.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from reconciler.release_requests.build import environment_config
from reconciler.release_requests.diagnostics import (
    Diagnostic,
    Severity,
    SourceMap,
    file_diagnostic,
)
from reconciler.release_requests.document_cache import CheckedDocument
from reconciler.release_requests.model import RepositoryConfig
from reconciler.release_requests.overlay import (
    OverlaidSourceMap,
    OverlayRefused,
    deleted_paths,
    merge_overlay,
    refuse_fixed_fields,
)
from reconciler.release_requests.schema import Schema, schema_fields, validate_document
from reconciler.release_requests.yaml_source import YamlLimits, read_yaml_file
from reconciler.sops import (
    is_sops_document,
    placeholder_tokens,
    substituted_object,
    without_metadata,
)
from reconciler.types import JsonObject, JsonValue, ReleaseKey, release_key, split_release_key

ENVIRONMENTS_DIR = "environments"
"""Where overlays live, at the repository root (the Contracts)."""
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_SUFFIXES = (".yaml", ".yml")
_SOPS_HINT = (
    "list a values file of the environment's own under valuesFiles in the overlay "
    "(it may be SOPS-encrypted; docs/environments.md)"
)


class EnvironmentChoiceError(ValueError):
    """The environment asked for is not declared, or one must be chosen and was not: a
    usage error, found before anything is rendered."""


@dataclass(frozen=True)
class Overlay:
    """One overlay file, read and checked against the overlay schema."""

    file: str
    release: ReleaseKey
    data: JsonObject
    source: SourceMap


def chosen_settings(config: RepositoryConfig, environment: str | None) -> RepositoryConfig:
    """`config` as `environment` sees it; unchanged for None. Raises
    `EnvironmentChoiceError` for a name `harmonia.yaml` does not declare."""
    if environment is None:
        return config
    if environment not in config.environments:
        raise unknown_environment(environment, tuple(config.environments))
    return environment_config(config, environment)


def unknown_environment(environment: str, declared: tuple[str, ...]) -> EnvironmentChoiceError:
    """The usage error for a name `harmonia.yaml` does not declare, naming those it does."""
    names = ", ".join(declared)
    return EnvironmentChoiceError(
        f"environment '{environment}': harmonia.yaml "
        + (f"declares {names}" if names else "declares no environments")
    )


def require_environment(config: RepositoryConfig | None) -> None:
    """For the commands that render or apply: with environments declared, one must be
    chosen (each may differ in everything). Raises `EnvironmentChoiceError`."""
    if config is not None and config.environments and config.environment is None:
        declared = ", ".join(config.environments)
        raise EnvironmentChoiceError(
            f"harmonia.yaml declares environments {declared}: pass --environment"
        )


@dataclass(frozen=True)
class ReadOverlays:
    """What `read_overlays` found for the chosen environment."""

    overlays: dict[ReleaseKey, Overlay]
    problems: list[Diagnostic]
    unread_namespaces: frozenset[str] = frozenset()
    """Namespaces whose overlay folder is a link to a folder (not read through), `*` for
    the environment's own folder: their releases fail there, since any of them may have
    an overlay (`absent: true`, prod's values) that the release file alone would undo."""

    def unread(self, key: ReleaseKey) -> bool:
        namespace, _name = split_release_key(key)
        return bool({ALL_NAMESPACES, namespace} & self.unread_namespaces)


ALL_NAMESPACES = "*"


def read_overlays(
    root: Path, config: RepositoryConfig | None, paths: Iterable[Path], *, limits: YamlLimits
) -> ReadOverlays:
    """The overlays of `config`'s environment, by release, and the problems of `paths`
    (the files under `environments/`): those of an undeclared environment are errors
    whatever the choice (nothing reads them), those of other declared environments are
    left for their own load. A repository declaring none (or whose `harmonia.yaml` did
    not load) loads as before environments existed: its `environments/` folder, values
    files say, is nobody's business here."""
    declared = config.environments if config is not None else {}
    chosen = config.environment if config is not None else None
    overlays: dict[ReleaseKey, Overlay] = {}
    problems: list[Diagnostic] = []
    unread: set[str] = set()
    if not declared:
        return ReadOverlays(overlays, problems)
    for path in paths:
        shown = PurePosixPath(path.relative_to(root)).as_posix()
        parts = PurePosixPath(shown).parts
        if path.is_dir() and len(parts) in (2, 3) and parts[1] in declared:
            # Only links to folders come as folders (`loader._files_under`).
            if parts[1] == chosen:
                unread.add(parts[2] if len(parts) == 3 else ALL_NAMESPACES)
                problems.append(_linked_folder(shown))
        elif path.suffix not in _SUFFIXES and not path.is_dir():
            # Notes (a README) may sit beside the overlays, as beside the release files.
            problems.append(
                file_diagnostic(
                    shown,
                    "not read: overlays end in .yaml or .yml",
                    "rename it, or move it out of environments/",
                    severity=Severity.WARNING,
                )
            )
        elif len(parts) < 3:
            problems.append(_misplaced(shown))
        elif config is not None and parts[1] not in declared:
            names = ", ".join(declared) or "none"
            problems.append(
                file_diagnostic(
                    shown,
                    f"environment '{parts[1]}' is not declared in harmonia.yaml",
                    f"declare it under environments (declared: {names}), or remove the file",
                )
            )
        elif parts[1] == chosen:
            read = _read_overlay(root, path, shown, limits)
            if not isinstance(read, Overlay):
                problems.extend(read)
            elif read.release in overlays:
                # web.yaml and web.yml: which one holds would depend on the file order.
                problems.extend(_twice(overlays[read.release], read))
            else:
                overlays[read.release] = read
    return ReadOverlays(overlays, problems, frozenset(unread))


def _twice(first: Overlay, second: Overlay) -> list[Diagnostic]:
    hint = "keep one overlay file per release and environment"
    return _claiming(
        first.release,
        [
            file_diagnostic(
                first.file, f"release {first.release} has another overlay here: {second.file}", hint
            ),
            file_diagnostic(
                second.file, f"release {first.release} has another overlay here: {first.file}", hint
            ),
        ],
    )


def _read_overlay(
    root: Path, path: Path, shown: str, limits: YamlLimits
) -> Overlay | list[Diagnostic]:
    parts = PurePosixPath(shown).parts
    stem = PurePosixPath(parts[-1]).stem
    if len(parts) != 4:
        return [_misplaced(shown)]
    namespace = parts[2]
    if not (_DNS_LABEL.fullmatch(namespace) and _DNS_LABEL.fullmatch(stem)):
        return [_misplaced(shown)]
    # From here the path names a release: a problem fails it (it is then neither applied
    # as the release file alone says, nor removed), as a problem in the overlay's text does.
    key = release_key(namespace, stem)
    if path.is_dir():
        return _claiming(key, [_misplaced(shown)])
    if not path.resolve().is_relative_to(root):
        return _claiming(
            key,
            [
                file_diagnostic(
                    shown,
                    "symbolic link to a file outside the repository",
                    "a repository may only use its own files; copy the file in",
                )
            ],
        )
    read = read_yaml_file(path, display_name=shown, limits=limits)
    if read.document is None or read.problems:
        return _claiming(key, read.problems)
    data, source = read.document.data, read.document.source
    if is_sops_document(data):
        return _claiming(
            key,
            (file_diagnostic(shown, "an overlay may not be SOPS-encrypted", _SOPS_HINT),),
        )
    try:
        refuse_fixed_fields(data)
    except OverlayRefused as refused:
        hint = "to deploy the release under another name or namespace, write another release"
        return _claiming(key, [source.diagnostic(refused.path, refused.message, hint, at_key=True)])
    checked = _without_nulls(data, known=schema_fields(Schema.RELEASE_OVERLAY))
    problems = validate_document(checked, source, Schema.RELEASE_OVERLAY)
    if problems:
        return _claiming(key, problems)
    return Overlay(shown, key, data, source)


def _linked_folder(shown: str) -> Diagnostic:
    return file_diagnostic(
        shown,
        "a symbolic link to a folder: overlay folders are not read through links",
        "move the overlays into the folder (or link each file); until then the releases "
        "it may hold overlays of are not applied in this environment",
    )


def _misplaced(shown: str) -> Diagnostic:
    return file_diagnostic(
        shown,
        "not an overlay: overlays are environments/<environment>/<namespace>/<name>.yaml",
        "move it there (namespace and name as the release's), or out of environments/",
    )


def _claiming(key: ReleaseKey, problems: Iterable[Diagnostic]) -> list[Diagnostic]:
    return [dataclasses.replace(problem, release=key) for problem in problems]


def _without_nulls(value: JsonObject, *, known: frozenset[str] | None = None) -> JsonObject:
    """The overlay as the overlay schema checks it: a `null` deletes, whatever the
    field's type (the merged document is checked after). At the top, a `null` of a field
    the schema does not know stays, for the schema to refuse: a typo deletes nothing, and
    `sops: null` would strip an encrypted release file's metadata."""
    kept: dict[str, JsonValue] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            kept[key] = _without_nulls(item)
        elif item is not None or (known is not None and key not in known):
            kept[key] = item
    return kept


def apply_overlay(
    checked: CheckedDocument, overlay: Overlay, *, environment: str
) -> CheckedDocument | tuple[Diagnostic, ...] | None:
    """The release document of `environment`, None when the overlay leaves the release
    out, or the problems (at the overlay's file:line when its values caused them)."""
    if is_sops_document(checked.data) and "configValues" in overlay.data:
        return (
            overlay.source.diagnostic(
                ("configValues",),
                f"{checked.source.file} is SOPS-encrypted: an overlay cannot change its "
                "configValues",
                _SOPS_HINT,
                at_key=True,
            ),
        )
    merged = merge_overlay(checked.data, overlay.data)
    if merged is None:
        return None
    source = OverlaidSourceMap(
        checked.source.file,
        checked.source.nodes,
        overlay=overlay.source,
        deleted=deleted_paths(overlay.data),
    )
    opened = (
        substituted_object(without_metadata(merged), placeholder_tokens(merged))
        if is_sops_document(merged)
        else merged
    )
    problems = validate_document(opened, source, Schema.RELEASE)
    if problems:
        return tuple(
            dataclasses.replace(item, message=f"environment {environment}: {item.message}")
            for item in problems
        )
    return CheckedDocument(merged, source, checked.source_format)


def unmatched_overlays(
    overlays: Mapping[ReleaseKey, Overlay], claimed: Mapping[ReleaseKey, str | None]
) -> list[Diagnostic]:
    """An overlay needs its release: one no file holds is an error at the overlay, as is
    one whose release file is invalid (`claimed`: release -> its file's first problem)."""
    problems = []
    for key, overlay in sorted(overlays.items()):
        if key not in claimed:
            message = f"no release {key} in the repository for this overlay"
            hint = "an overlay changes a release defined in the releases folder; add its file"
        elif claimed[key] is not None:
            message = f"release {key}: its file {claimed[key]} is invalid"
            hint = "fix the release file; the overlay is applied to a valid release only"
        else:
            continue
        problems.append(
            dataclasses.replace(file_diagnostic(overlay.file, message, hint), release=key)
        )
    return problems


def environment_source(source: str, environment: str | None) -> str:
    """The identity an environment's releases are recorded under: the repository's,
    with `#<environment>`. Two environments reconciled into one cluster are then two
    owners, and a pass of one never removes the other's releases."""
    return source if environment is None else f"{source}#{environment}"


def of_environment(source: str, environment: str) -> bool:
    """Whether a release recorded under `source` was applied for `environment`."""
    return source.endswith(environment_source("", environment))
