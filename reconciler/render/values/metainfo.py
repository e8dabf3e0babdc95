"""Chart metainfo: WALM's `transwarp-meta/metainfo.yaml` read into plain values.

Read once per resolved chart, before values are computed: its roles and params say at
which values path (`mapKey`) each metaInfoParams field is written (see merge.py), its
dependencies name the key a dependency's outputs arrive under, its plugins are defaults.
Reading the file is the only I/O.

Slightly over 400 lines: it is the one reader of a file format (each field's checks and
messages beside its parsing); split, the format would be described in two places.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from reconciler.release_requests.diagnostics import Diagnostic, JsonPath, SourceMap
from reconciler.release_requests.model import Plugin
from reconciler.release_requests.yaml_source import read_yaml_file
from reconciler.render.model import RenderError
from reconciler.types import JsonObject, JsonValue

METAINFO_FILE = Path("transwarp-meta") / "metainfo.yaml"
DEPENDENCIES_KEY: Final = "dependencies"
"""Values key of the dependencies' outputs that no `aliasConfigVar` names (the Contracts)."""

BASE_CONFIG_FIELDS = ("image", "priority", "replicas", "env", "envMap", "useHostNetwork")
RESOURCE_FIELDS = (
    "requestsCpu",
    "limitsCpu",
    "requestsMemory",
    "limitsMemory",
    "requestsGpu",
    "limitsGpu",
)
_PATH_SPECIALS = "[]*?#|"


class MetaInfoError(RenderError):
    """A chart's metainfo file is invalid, or metaInfoParams do not fit it."""


@dataclass(frozen=True)
class MetaField:
    """One metainfo entry and the values path it writes (WALM's MetaInfoCommonConfig).

    `name` is the param's name, or the role field's (`replicas`, `requestsCpu`, ...).
    """

    name: str
    map_key: str
    path: tuple[str, ...]
    """`map_key` split at its dots (`\\.` is a literal dot); every part is a map key."""
    type: str = ""
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class MetaStorageField:
    """A role's storage (WALM's MetaResourceStorageConfig): an object at `path`.

    The optional extra paths receive the size, class and first access mode on their own,
    for charts whose values keep them apart.
    """

    name: str
    map_key: str
    path: tuple[str, ...]
    size_path: tuple[str, ...] | None = None
    storage_class_path: tuple[str, ...] | None = None
    access_mode_path: tuple[str, ...] | None = None
    type: str = ""
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class MetaRole:
    name: str
    description: str = ""
    type: str = ""
    base_config: tuple[MetaField, ...] = ()
    """Fields of BASE_CONFIG_FIELDS the chart maps, named by them."""
    others: tuple[MetaField, ...] = ()
    resources: tuple[MetaField, ...] = ()
    """Fields of RESOURCE_FIELDS the chart maps, named by them."""
    storage: tuple[MetaStorageField, ...] = ()


@dataclass(frozen=True)
class MetaInfoDependency:
    """A dependency a chart declares; a release file's alias matches its `name`."""

    name: str
    chart_name: str
    alias_config_var: str | None = None
    min_version: str | None = None
    max_version: str | None = None
    optional: bool = False
    type: str = ""


@dataclass(frozen=True)
class ChartMetaInfo:
    """The parts of WALM's chart metainfo that rendering, validation and estimates use."""

    friendly_name: str = ""
    dependencies: tuple[MetaInfoDependency, ...] = ()
    roles: tuple[MetaRole, ...] = ()
    params: tuple[MetaField, ...] = ()
    plugins: tuple[Plugin, ...] = ()
    """Default plugins; a release's plugin of the same name replaces one."""

    def dependency(self, alias: str) -> MetaInfoDependency | None:
        return next((item for item in self.dependencies if item.name == alias), None)

    def role(self, name: str) -> MetaRole | None:
        return next((item for item in self.roles if item.name == name), None)


def read_metainfo(chart_root: Path, *, display_name: str | None = None) -> ChartMetaInfo | None:
    """The chart's metainfo, None when it has no `transwarp-meta/metainfo.yaml`.

    Errors name the file (as `display_name`, default its path) with line and column.
    """
    path = chart_root / METAINFO_FILE
    if not path.is_file():
        return None
    shown = display_name or str(path)
    read = read_yaml_file(path, display_name=shown)
    if read.document is None or read.problems:
        raise _error(read.problems)
    return parse_metainfo(read.document.data, read.document.source)


def parse_metainfo(data: JsonObject, source: SourceMap) -> ChartMetaInfo:
    """A metainfo document as read by `read_yaml_file`; keys Harmonia does not use are ignored."""
    reader = _Reader(source)
    metainfo = ChartMetaInfo(
        friendly_name=reader.text(data, (), "friendlyName"),
        dependencies=tuple(
            reader.dependency(item, path) for item, path in reader.items(data, (), "dependencies")
        ),
        roles=tuple(reader.role(item, path) for item, path in reader.items(data, (), "roles")),
        params=tuple(
            field
            for item, path in reader.items(data, (), "params")
            if (field := reader.named_field(item, path)) is not None
        ),
        plugins=tuple(
            reader.plugin(item, path) for item, path in reader.items(data, (), "plugins")
        ),
    )
    reader.check_unique("roles", [role.name for role in metainfo.roles])
    reader.check_unique("params", [param.name for param in metainfo.params])
    reader.check_unique("dependencies", [item.name for item in metainfo.dependencies])
    if reader.problems:
        raise _error(reader.problems)
    return metainfo


def _error(problems: Sequence[Diagnostic]) -> MetaInfoError:
    return MetaInfoError("; ".join(problem.render() for problem in problems))


def split_map_key(map_key: str) -> tuple[str, ...] | str:
    """The map keys of a dotted `mapKey`, or why it cannot be used.

    `\\.` stands for a dot inside a key (as in WALM's gjson paths). List indexes
    (`a.b[0]`) and gjson's wildcards and queries are not supported: a mapKey is a path of
    map keys only, and a part made of digits is a map key like any other.
    """
    if not map_key:
        return "a mapKey cannot be empty"
    special = next((character for character in map_key if character in _PATH_SPECIALS), None)
    if special is not None:
        return (
            f"mapKey '{map_key}' has '{special}': a mapKey is a dotted path of map keys; "
            "list indexes, wildcards and queries are not supported"
        )
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for character in map_key:
        if escaped:
            current.append(character)
            escaped = False
        elif character == "\\":
            escaped = True
        elif character == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(character)
    parts.append("".join(current) + ("\\" if escaped else ""))
    if any(not part for part in parts):
        return f"mapKey '{map_key}' has an empty part (a leading, trailing or doubled dot)"
    return tuple(parts)


class _Reader:
    """Reads the metainfo document leniently in shape and strictly in what is used."""

    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.problems: list[Diagnostic] = []

    def problem(self, path: JsonPath, message: str, hint: str) -> None:
        self.problems.append(self.source.diagnostic(path, message, hint))

    def items(
        self, parent: JsonObject, path: JsonPath, key: str
    ) -> list[tuple[JsonObject, JsonPath]]:
        value = parent.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem((*path, key), f"{key} must be a list", "write it as a YAML list")
            return []
        found: list[tuple[JsonObject, JsonPath]] = []
        for index, item in enumerate(value):
            if isinstance(item, dict):
                found.append((item, (*path, key, index)))
            elif item is not None:
                self.problem((*path, key, index), "expected a mapping", "write key: value lines")
        return found

    def mapping(self, parent: JsonObject, path: JsonPath, key: str) -> JsonObject | None:
        value = parent.get(key)
        if value is None or isinstance(value, dict):
            return value
        self.problem((*path, key), f"{key} must be a mapping", "write key: value lines")
        return None

    def text(self, parent: JsonObject, path: JsonPath, key: str, *, required: bool = False) -> str:
        value = parent.get(key)
        if value is None or value == "":
            if required:
                self.problem((*path, key), f"{key} is required", f"add {key}")
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.problem((*path, key), f"{key} must be a string", "quote it")
            return ""
        return str(value)

    def flag(self, parent: JsonObject, path: JsonPath, key: str) -> bool:
        value = parent.get(key)
        if value is None or isinstance(value, bool):
            return value is True
        self.problem((*path, key), f"{key} must be true or false", "write true or false")
        return False

    def map_path(
        self, entry: JsonObject, path: JsonPath, key: str = "mapKey", *, required: bool = True
    ) -> tuple[str, tuple[str, ...]] | None:
        """`key` or its all-lowercase spelling (both occur in charts), split into parts."""
        spellings = {name: entry[name] for name in (key, key.lower()) if name in entry}
        if len(set(map(str, spellings.values()))) > 1:
            self.problem(
                (*path, key.lower()),
                f"{key} and {key.lower()} differ",
                f"keep one of them ({key} is WALM's spelling)",
            )
            return None
        spelling = next(iter(spellings), key)
        map_key = self.text(entry, path, spelling, required=required)
        if not map_key:
            return None
        parts = split_map_key(map_key)
        if isinstance(parts, str):
            self.problem((*path, spelling), parts, "write a dotted path such as resources.cpu")
            return None
        return map_key, parts

    def field(self, entry: JsonObject, path: JsonPath, name: str) -> MetaField | None:
        mapped = self.map_path(entry, path)
        if mapped is None:
            return None
        return MetaField(
            name=name,
            map_key=mapped[0],
            path=mapped[1],
            type=self.text(entry, path, "type"),
            required=self.flag(entry, path, "required"),
            description=self.text(entry, path, "description"),
        )

    def named_field(self, entry: JsonObject, path: JsonPath) -> MetaField | None:
        name = self.text(entry, path, "name", required=True)
        return self.field(entry, path, name) if name else None

    def fixed_fields(
        self, section: JsonObject | None, path: JsonPath, names: Sequence[str]
    ) -> tuple[MetaField, ...]:
        if section is None:
            return ()
        fields = []
        for name in names:
            entry = self.mapping(section, path, name)
            if entry is not None and (field := self.field(entry, (*path, name), name)):
                fields.append(field)
        return tuple(fields)

    def storage(self, entry: JsonObject, path: JsonPath) -> MetaStorageField | None:
        name = self.text(entry, path, "name", required=True)
        mapped = self.map_path(entry, path)
        extra = {
            key: found[1]
            for key in ("sizeMapKey", "storageClassMapKey", "accessModeMapKey")
            if (found := self.map_path(entry, path, key, required=False)) is not None
        }
        if not name or mapped is None:
            return None
        return MetaStorageField(
            name=name,
            map_key=mapped[0],
            path=mapped[1],
            size_path=extra.get("sizeMapKey"),
            storage_class_path=extra.get("storageClassMapKey"),
            access_mode_path=extra.get("accessModeMapKey"),
            type=self.text(entry, path, "type"),
            required=self.flag(entry, path, "required"),
            description=self.text(entry, path, "description"),
        )

    def role(self, entry: JsonObject, path: JsonPath) -> MetaRole:
        base = self.mapping(entry, path, "baseConfig")
        resources = self.mapping(entry, path, "resources")
        base_path, resources_path = (*path, "baseConfig"), (*path, "resources")
        role = MetaRole(
            name=self.text(entry, path, "name", required=True),
            description=self.text(entry, path, "description"),
            type=self.text(entry, path, "type"),
            base_config=self.fixed_fields(base, base_path, BASE_CONFIG_FIELDS),
            others=tuple(
                field
                for item, item_path in self.items(base or {}, base_path, "others")
                if (field := self.named_field(item, item_path)) is not None
            ),
            resources=self.fixed_fields(resources, resources_path, RESOURCE_FIELDS),
            storage=tuple(
                storage
                for item, item_path in self.items(
                    resources or {}, resources_path, "storageResources"
                )
                if (storage := self.storage(item, item_path)) is not None
            ),
        )
        self.check_unique(f"roles[{role.name}].baseConfig.others", [f.name for f in role.others])
        self.check_unique(
            f"roles[{role.name}].resources.storageResources", [s.name for s in role.storage]
        )
        return role

    def dependency(self, entry: JsonObject, path: JsonPath) -> MetaInfoDependency:
        name = self.text(entry, path, "name", required=True)
        alias_config_var = self.text(entry, path, "aliasConfigVar") or None
        if alias_config_var == DEPENDENCIES_KEY:
            self.problem(
                (*path, "aliasConfigVar"),
                f"aliasConfigVar cannot be '{DEPENDENCIES_KEY}': Harmonia keeps that key for "
                "dependencies the metainfo does not declare",
                "choose another key, e.g. the dependency's name in capitals",
            )
        return MetaInfoDependency(
            name=name,
            # WALM: a dependency without chartName depends on the chart of its name.
            chart_name=self.text(entry, path, "chartName") or name,
            alias_config_var=alias_config_var,
            min_version=self.text(entry, path, "minVersion") or None,
            max_version=self.text(entry, path, "maxVersion") or None,
            optional=self.flag(entry, path, "dependencyOptional"),
            type=self.text(entry, path, "type"),
        )

    def plugin(self, entry: JsonObject, path: JsonPath) -> Plugin:
        args: JsonValue = entry.get("args")
        if isinstance(args, str):
            # WALM kept plugin args as JSON text; an empty text meant no args.
            try:
                args = json.loads(args) if args.strip() else None
            except json.JSONDecodeError as error:
                self.problem((*path, "args"), f"args is not JSON: {error.msg}", "fix the JSON text")
                args = None
            except ValueError:  # an integer over Python's 4300-digit limit
                problem = "args is not JSON: a number of thousands of digits"
                self.problem((*path, "args"), problem, "fix the JSON text")
                args = None
        priority = entry.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int):
            self.problem((*path, "priority"), "priority must be an integer", "write e.g. 10")
            priority = 0
        return Plugin(
            name=self.text(entry, path, "name", required=True),
            args=args,
            version=self.text(entry, path, "version") or None,
            disable=self.flag(entry, path, "disable"),
            priority=priority,
        )

    def check_unique(self, what: str, names: Sequence[str]) -> None:
        repeated = sorted({name for name in names if name and names.count(name) > 1})
        if repeated:
            self.problems.append(
                self.source.diagnostic(
                    (),
                    f"{what}: {', '.join(repeated)} declared more than once",
                    "give each entry its own name",
                )
            )
