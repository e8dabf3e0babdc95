"""Turns what WALM knew about a release into a Harmonia release file, saying what stayed behind.

For `harmonia import-walm`: a request body or an item of WALM's release list becomes a
Harmonia document, through the loader's own WALM translation (walm.py). Pure, no I/O.

One module for one translation table: each WALM field's fate (kept, moved, dropped with a
note) is read in one place, which is what a reviewer of an import checks.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from reconciler.release_requests.build import build_release
from reconciler.release_requests.diagnostics import Diagnostic, SourceMap
from reconciler.release_requests.model import API_VERSION, Release, ReleaseDefaults
from reconciler.release_requests.schema import Schema, validate_document
from reconciler.release_requests.walm import walm_release_document
from reconciler.release_requests.yaml_source import YamlLimits, parse_yaml_text
from reconciler.types import JsonObject, JsonValue, ReleaseKey
from reconciler.yamltext import dump_yaml

CARRIED_FIELDS = (
    "name",
    "namespace",
    "repoName",
    "chartName",
    "chartVersion",
    "chartImage",
    "configValues",
    "dependencies",
    "releaseLabels",
    "plugins",
    "metaInfoParams",
)
"""WALM's request fields (ReleaseRequestV2, plus `namespace`) that have a Harmonia field."""

_STATUS = "status, which Harmonia works out itself (status/<namespace>/<name>.yaml)"
_COMPUTED = "computed by WALM at its last render; Harmonia computes it at every render"
LEFT_BEHIND: dict[str, str] = {
    "isomateConfig": "WALM's isomates; Harmonia has none (make one release per isomate)",
    "releasePrettyParams": "deprecated in WALM; write the settings as metaInfoParams",
    "ready": _STATUS,
    "message": _STATUS,
    "msgCode": _STATUS,
    "releaseStatus": _STATUS,
    "version": "Helm's revision number of the release, WALM's record",
    "realName": "WALM's record of the release name",
    "creationTimestamp": "WALM's record of when the release was created",
    "chartAppVersion": "read from the chart's Chart.yaml at every render",
    "computedValues": _COMPUTED,
    "dependenciesConfigValues": _COMPUTED + " from the dependencies' outputs",
    "outputConfigValues": _COMPUTED + "; the chart publishes the outputs",
    "metaInfoValues": "derived by WALM from computedValues; the effect of the release's "
    "metaInfoParams is already in its configValues",
    "releaseWalmVersion": "WALM's generation marker; Harmonia reads the chart's layout",
    "chartWalmVersion": "WALM's generation marker; Harmonia reads the chart's layout",
    "helmExtraLabels": "WALM's record",
}
"""Fields of WALM's request bodies and release list items with no Harmonia field: why."""

PAUSE_PLUGIN = "PauseRelease"
BUILT_IN_PLUGINS = {
    "ValidateReleaseConfig": "Harmonia takes the ReleaseConfig out of the render itself",
    "IsomateSetConverter": "Harmonia has no isomates",
}
"""Plugins WALM added to every release; listed in the release list, never chosen by users."""

PLUGINS_VALUE_KEY = "Walm-Plugin-Key"
"""Where WALM kept a release's plugins inside its Helm values."""
AUTO_GEN_LABEL = "auto-gen"
"""The label WALM put on the ReleaseConfig it generated, shown as a release label."""
_HARMONIA_LABELS = ("harmonia.dev/", "app.kubernetes.io/managed-by")
IMPORT_LIMITS = YamlLimits(max_bytes=64 << 20)
"""A release list with computed values and status is far larger than a release file."""


@dataclass(frozen=True)
class WalmBody:
    """One release as WALM described it, and where it was read (`file`, `file items[3]`)."""

    source: str
    body: JsonValue


@dataclass(frozen=True)
class ImportNote:
    """Something of a WALM release that did not carry over as written."""

    path: str
    """Where in the WALM body, e.g. `$.isomateConfig` or `$.ready, $.message`."""
    message: str


@dataclass(frozen=True)
class ImportedRelease:
    source: str
    document: JsonObject
    """The Harmonia release document (apiVersion harmonia.dev/v1alpha1, kind Release)."""
    release: Release
    """The document as the loader builds it."""
    notes: tuple[ImportNote, ...] = ()

    @property
    def key(self) -> ReleaseKey:
        return self.release.key


@dataclass(frozen=True)
class ImportFailure:
    """A body that could not become a release file, and every reason."""

    source: str
    reasons: tuple[str, ...]


def parse_walm_text(text: str, *, source: str, is_json: bool) -> JsonValue | ImportFailure:
    """The JSON value in `text`: JSON as WALM's API wrote it, or one YAML mapping."""
    if is_json:
        try:
            value: JsonValue = json.loads(text)
        except json.JSONDecodeError as error:
            where = f"line {error.lineno} column {error.colno}"
            return ImportFailure(source, (f"not valid JSON: {error.msg} at {where}",))
        return value
    read = parse_yaml_text(text, display_name=source, limits=IMPORT_LIMITS)
    if read.document is None or read.problems:
        return ImportFailure(source, tuple(_reason(item) for item in read.problems))
    return read.document.data


def walm_bodies(value: JsonValue, *, source: str) -> tuple[WalmBody, ...]:
    """The releases in what WALM returned: the release list API's `{"num", "items"}`, a
    plain list of bodies or items, or one body."""
    items = value.get("items") if isinstance(value, dict) else None
    if isinstance(items, list):
        return tuple(WalmBody(f"{source} items[{index}]", item) for index, item in enumerate(items))
    if isinstance(value, list):
        return tuple(WalmBody(f"{source} [{index}]", item) for index, item in enumerate(value))
    return (WalmBody(source, value),)


def import_walm_bodies(
    bodies: Iterable[WalmBody],
    *,
    default_namespace: str | None,
    known_plugins: Collection[str] | None = None,
    adopt: bool = False,
) -> tuple[tuple[ImportedRelease, ...], tuple[ImportFailure, ...]]:
    """Every body imported; a release named by two bodies is kept from the first only."""
    imported: dict[ReleaseKey, ImportedRelease] = {}
    failures: list[ImportFailure] = []
    for entry in bodies:
        outcome = import_walm_body(
            entry, default_namespace=default_namespace, known_plugins=known_plugins, adopt=adopt
        )
        if isinstance(outcome, ImportFailure):
            failures.append(outcome)
        elif outcome.key in imported:
            first = imported[outcome.key].source
            reason = (
                f"release {outcome.key} is also in {first}; import the release list "
                "(GET /api/v1/release) for a release's merged state"
            )
            failures.append(ImportFailure(entry.source, (reason,)))
        else:
            imported[outcome.key] = outcome
    return tuple(imported.values()), tuple(failures)


def import_walm_body(
    entry: WalmBody,
    *,
    default_namespace: str | None,
    known_plugins: Collection[str] | None = None,
    adopt: bool = False,
) -> ImportedRelease | ImportFailure:
    """The Harmonia release for one WALM request body or release list item.

    A body's own `namespace` wins; `default_namespace` is for bodies without one (WALM took
    it from the request URL). `known_plugins`, when given, are the plugins Harmonia has.
    """
    body = entry.body
    if not isinstance(body, dict):
        return ImportFailure(entry.source, ("not a JSON object (a WALM release request body)",))
    reading = _BodyReading(entry.source)
    request = reading.request(body, default_namespace, known_plugins)
    if reading.failures:
        return ImportFailure(entry.source, tuple(reading.failures))
    source = SourceMap(entry.source, {})
    problems = validate_document(request, source, Schema.WALM_RELEASE_REQUEST)
    if not problems:
        document, problems = walm_release_document(request, source)
    if problems:
        return ImportFailure(entry.source, tuple(_reason(item) for item in problems))
    document = _finished(document, reading, paused=body.get("paused") is True, adopt=adopt)
    problems = validate_document(document, source, Schema.RELEASE)
    built = build_release(document, source, defaults=ReleaseDefaults()) if not problems else ()
    if isinstance(built, Release):
        return ImportedRelease(entry.source, document, built, tuple(reading.notes))
    return ImportFailure(entry.source, tuple(_reason(item) for item in (*problems, *built)))


_DOCUMENT_ORDER = (
    "apiVersion",
    "kind",
    "name",
    "namespace",
    "chartImage",
    "repoName",
    "chartName",
    "chartVersion",
    "configValues",
    "metaInfoParams",
    "dependencies",
    "releaseLabels",
    "plugins",
    "paused",
    "adopt",
)


def _finished(
    document: JsonObject, reading: _BodyReading, *, paused: bool, adopt: bool
) -> JsonObject:
    plugins = document.get("plugins")
    if isinstance(plugins, list):
        for plugin, priority in zip(plugins, reading.priorities, strict=True):
            if isinstance(plugin, dict):
                plugin |= _readable_args(plugin.get("args"))
                plugin |= {} if priority is None else {"priority": priority}
    document |= {"paused": True} if paused or reading.paused_by_plugin else {}
    document |= {"adopt": True} if adopt else {}
    ordered = {key: document[key] for key in _DOCUMENT_ORDER if key in document}
    return ordered | document


def _readable_args(args: JsonValue) -> JsonObject:
    """WALM's JSON text args as the mapping it holds; other text stays for loading to judge."""
    if not isinstance(args, str):
        return {}
    try:
        parsed: JsonValue = json.loads(args)
    except json.JSONDecodeError:
        return {}
    return {"args": parsed} if isinstance(parsed, dict) else {}


def _reason(problem: Diagnostic) -> str:
    return f"{problem.path}: {problem.message}; {problem.hint}"


def _is_empty(value: JsonValue) -> bool:
    """Go's zero values, which WALM wrote for everything unset."""
    return value in (None, "", {}, [], False, 0)


class _BodyReading:
    """Reads one WALM body into a request body the loader's translation accepts."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.notes: list[ImportNote] = []
        self.failures: list[str] = []
        self.priorities: list[JsonValue] = []
        self.paused_by_plugin = False

    def note(self, path: str, message: str) -> None:
        self.notes.append(ImportNote(path, message))

    def request(
        self, body: JsonObject, default_namespace: str | None, known_plugins: Collection[str] | None
    ) -> JsonObject:
        self._left_behind(body)
        request = {key: body[key] for key in CARRIED_FIELDS if not _is_empty(body.get(key))}
        namespace = request.get("namespace") or default_namespace
        if namespace is None:
            self.failures.append(
                "no namespace: WALM took it from the request URL (/api/v1/release/{namespace}); "
                "pass -n NAMESPACE"
            )
        else:
            request["namespace"] = namespace
        self._chart(request)
        for field in ("dependencies", "releaseLabels", "configValues", "metaInfoParams"):
            value = request.get(field)
            if isinstance(value, dict):
                request[field] = self._tidied(field, value)
        plugins = request.get("plugins")
        if isinstance(plugins, list):
            request["plugins"] = self._plugins(plugins, known_plugins)
        return {key: value for key, value in request.items() if not _is_empty(value)}

    def _left_behind(self, body: JsonObject) -> None:
        """Note what has no Harmonia field, one note per reason."""
        by_reason: dict[str, list[str]] = {}
        for key, value in body.items():
            if key in CARRIED_FIELDS or key == "paused" or _is_empty(value):
                continue
            reason = LEFT_BEHIND.get(key, "not a field of WALM's release requests or list")
            by_reason.setdefault(reason, []).append(f"$.{key}")
        for reason, paths in by_reason.items():
            self.note(", ".join(paths), f"not carried over: {reason}")

    def _chart(self, request: JsonObject) -> None:
        """WALM used chartImage over a chart repository, as Harmonia allows only one."""
        image = request.get("chartImage")
        triple = [key for key in ("repoName", "chartName", "chartVersion") if key in request]
        if image is None:
            if triple and "repoName" not in triple:
                self.failures.append(
                    "no repoName: WALM installed it from an uploaded chart archive? Put the "
                    "chart in the repository and write a release file with chartPath"
                )
            elif not triple:
                self.failures.append("no chart: neither chartImage nor repoName/chartName")
            return
        if image == request.get("chartVersion") and len(triple) == 3:
            del request["chartImage"]
            self.note(
                "$.chartImage",
                f"not carried over: '{image}' is the chart version (WALM's GET "
                ".../releaseRequest answer puts it there)",
            )
            return
        for key in triple:
            del request[key]
        if triple:
            fields = ", ".join(f"$.{key}" for key in triple)
            self.note(fields, "not carried over: WALM installed from chartImage when both are set")

    def _tidied(self, field: str, value: JsonObject) -> JsonObject:
        if field == "configValues":
            return self._config_values(value)
        if field == "metaInfoParams":
            return self._meta_info_params(value)
        return self._entries(field, value)

    def _entries(self, field: str, entries: JsonObject) -> JsonObject:
        """Dependencies and labels: WALM's empty value removed an entry on upgrade."""
        kept: JsonObject = {}
        for key, value in entries.items():
            path = f"$.{field}[{key!r}]"
            if value == "":
                self.note(path, "not carried over: an empty value removed it in a WALM upgrade")
            elif field == "releaseLabels" and key == AUTO_GEN_LABEL:
                self.note(path, "not carried over: WALM's mark on the ReleaseConfig it made")
            elif field == "releaseLabels" and key.startswith(_HARMONIA_LABELS):
                self.note(path, "not carried over: Harmonia sets this label itself")
            else:
                kept[key] = value
        return kept

    def _config_values(self, values: JsonObject) -> JsonObject:
        if PLUGINS_VALUE_KEY in values:
            self.note(f"$.configValues[{PLUGINS_VALUE_KEY!r}]", "not carried over: see plugins")
        return {key: value for key, value in values.items() if key != PLUGINS_VALUE_KEY}

    def _meta_info_params(self, params: JsonObject) -> JsonObject:
        if not _is_empty(params.get("customParams")):
            self.note(
                "$.metaInfoParams.customParams",
                "not carried over: WALM's custom chart params; set them in configValues",
            )
        return {key: value for key, value in params.items() if key != "customParams"}

    def _plugins(
        self, plugins: Sequence[JsonValue], known_plugins: Collection[str] | None
    ) -> list[JsonValue]:
        kept: list[JsonValue] = []
        for index, plugin in enumerate(plugins):
            if not isinstance(plugin, dict):
                kept.append(plugin)
                continue
            name = plugin.get("name")
            path = f"$.plugins[{index}]"
            if name == PAUSE_PLUGIN and plugin.get("disable") is not True:
                self.paused_by_plugin = True
                self.note(path, "WALM's PauseRelease plugin: written as paused: true instead")
            elif name == PAUSE_PLUGIN:
                self.note(path, "not carried over: a disabled PauseRelease: the release runs")
            elif isinstance(name, str) and name in BUILT_IN_PLUGINS:
                self.note(
                    path, f"not carried over: WALM's built-in {name}; {BUILT_IN_PLUGINS[name]}"
                )
            elif known_plugins is not None and isinstance(name, str) and name not in known_plugins:
                known = ", ".join(sorted(known_plugins))
                self.note(path, f"not carried over: Harmonia has no plugin {name} (it has {known})")
            else:
                self.priorities.append(plugin.get("priority"))
                kept.append({key: value for key, value in plugin.items() if key != "priority"})
        return kept


def release_file_text(imported: ImportedRelease) -> str:
    """The release file for an imported release, saying where it came from."""
    return f"# Imported from WALM by harmonia import-walm: {imported.source}\n" + dump_yaml(
        imported.document
    )


def repository_file_problems(text: str, *, display_name: str) -> tuple[Diagnostic, ...]:
    """What loading would say of a `harmonia.yaml` with `text`: import-walm writes none
    that would not load (a `--chart-repo` URL the schema refuses, say)."""
    read = parse_yaml_text(text, display_name=display_name)
    if read.document is None or read.problems:
        return tuple(read.problems)
    return validate_document(read.document.data, read.document.source, Schema.REPOSITORY)


def repository_file_text(chart_repositories: Mapping[str, str]) -> str:
    """A minimal `harmonia.yaml` for a folder of imported releases."""
    document: JsonObject = {"apiVersion": API_VERSION, "kind": "Repository"}
    if chart_repositories:
        document["chartRepositories"] = dict(sorted(chart_repositories.items()))
    return "# Written by harmonia import-walm; see docs/release-format.md\n" + dump_yaml(document)
