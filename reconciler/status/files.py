"""The status report as files: `status/<namespace>/<name>.yaml` per release and a README.

The end of a pass: the loop hands over each release's live status and this pass's report,
and `reconciler.source.status_branch` commits what this returns. Pure, no I/O; nothing in
it changes between passes unless the release did (the one time is a state change's).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml

from reconciler.diff.changeset import Action, ChangeSet
from reconciler.health import ReleaseState
from reconciler.outcome import Outcome
from reconciler.reconcile import ReleaseReport
from reconciler.source.snapshot import STATUS_FOLDER
from reconciler.status.live import ReleaseStatus
from reconciler.types import JsonObject, JsonValue, ReleaseKey, split_release_key
from reconciler.yamltext import dump_yaml

API_VERSION = "harmonia.dev/v1alpha1"
KIND = "ReleaseStatus"
README_PATH = f"{STATUS_FOLDER}/README.md"

SYNCED = "Synced"
"""The cluster is as the revision asks: the pass applied it, or found nothing to change."""
OUT_OF_SYNC = "OutOfSync"
"""A dry run found changes it did not make."""
SYNC_STATES: dict[Outcome, str] = {
    **{outcome: str(outcome) for outcome in Outcome},
    Outcome.APPLIED: SYNCED,
    Outcome.UNCHANGED: SYNCED,
    Outcome.PLANNED: OUT_OF_SYNC,
}
"""`sync.state` for each outcome: the outcome's own word, but where it says whether the
cluster matches the revision (a removed release has no file, so its word is never written)."""
NEVER_APPLIED_STATES = {
    Outcome.FAILED: ReleaseState.FAILED,
    Outcome.INVALID: ReleaseState.FAILED,
    Outcome.BLOCKED: ReleaseState.BLOCKED,
}
"""`state` of a release with no inventory record, by the pass's outcome; any other
outcome leaves it Progressing (planned, deferred: waiting for its first apply)."""
COUNTED_ACTIONS = (Action.CREATED, Action.CONFIGURED, Action.DELETED)
"""The actions `sync.changes` counts by name; every other object is counted `unchanged`."""

STATE_COLOURS = {
    ReleaseState.READY: "fill:#d3f9d8,stroke:#2b8a3e,color:#000",
    ReleaseState.PROGRESSING: "fill:#d0ebff,stroke:#1971c2,color:#000",
    ReleaseState.DEGRADED: "fill:#ffe8cc,stroke:#e8590c,color:#000",
    ReleaseState.FAILED: "fill:#ffc9c9,stroke:#c92a2a,color:#000",
    ReleaseState.PAUSED: "fill:#e9ecef,stroke:#868e96,color:#000",
    ReleaseState.BLOCKED: "fill:#fff3bf,stroke:#f08c00,color:#000",
}


@dataclass(frozen=True)
class SourceState:
    """The revision a pass ran on, and whether it is stale: the fetch failed, so the pass
    ran on the last good commit (self-heal goes on) and the branch may have moved since."""

    revision: str
    stale: bool = False
    error: str | None = None
    """Why the fetch failed (credentials redacted); None when the source is fresh."""

    def to_json(self) -> JsonObject:
        return {"revision": self.revision, "stale": self.stale, "error": self.error}


@dataclass(frozen=True)
class StatusEntry:
    key: ReleaseKey
    live: ReleaseStatus | None
    """Its inventory record and health now; None when it was never applied."""
    report: ReleaseReport | None
    """What this pass did for it; None when it was not in the pass."""


_README_FIELDS = ("state", "message", "revision", "sync")
"""What the README's table and graph read of each release's document."""


def status_path(key: ReleaseKey) -> str:
    namespace, name = split_release_key(key)
    return f"{STATUS_FOLDER}/{namespace}/{name}.yaml"


def status_files(
    entries: Sequence[StatusEntry],
    *,
    revision: str,
    dependencies: Mapping[ReleaseKey, Sequence[ReleaseKey]],
    previous: Mapping[str, str],
    now: datetime,
    source: SourceState | None = None,
    kept: Collection[ReleaseKey] = (),
) -> dict[str, str]:
    """The whole `status/` folder, path -> text, for a pass at `revision`.

    `previous` is the folder as the status branch holds it (unreadable files are
    ignored); `dependencies` maps a release to the releases it depends on. A stale
    `source` is noted in every file (`source:` in each release's, a line in the README);
    a fresh one adds nothing, so the files do not change with every fetch. The files of
    `kept` (releases another shard replica reports) stay as `previous` has them, and
    in the README.
    """
    stale = source if source is not None and source.stale else None
    documents: dict[ReleaseKey, JsonObject] = {}
    for entry in sorted(entries, key=lambda e: e.key):
        earlier = _previous_document(previous.get(status_path(entry.key)))
        document = release_document(entry, revision=revision, previous=earlier, now=now)
        if document is not None:
            documents[entry.key] = (
                document if stale is None else {**document, "source": stale.to_json()}
            )
    files = {status_path(key): dump_yaml(document) for key, document in documents.items()}
    for key in kept:
        text = previous.get(status_path(key))
        if text is None:
            continue
        files[status_path(key)] = text
        kept_document = _previous_document(text)
        # In the README when it reads as a status file (one edited by hand may not).
        if all(field in kept_document for field in _README_FIELDS):
            documents[key] = dict(kept_document)
    files[README_PATH] = readme(
        documents, revision=revision, dependencies=dependencies, stale_source=stale
    )
    return files


def release_document(
    entry: StatusEntry, *, revision: str, previous: Mapping[str, Any], now: datetime
) -> JsonObject | None:
    """One release's status file as data; None when it has none (removed, or nothing known)."""
    report, live = entry.report, entry.live
    if report is not None and report.outcome is Outcome.REMOVED:
        return None
    if report is not None and report.outcome is Outcome.REMOVAL_WITHHELD:
        # Its file left Git and it still runs: what waits for a person comes first.
        state, message = str(Outcome.REMOVAL_WITHHELD), report.message
    elif live is not None:
        state, message = str(live.health.state), live.health.message
    elif report is not None:
        state, message = _state_never_applied(report), report.message
    else:
        return None
    namespace, name = split_release_key(entry.key)
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": name,
        "namespace": namespace,
        "state": state,
        "message": message,
        "lastTransitionTime": _transition_time(previous, state=state, now=now),
        "revision": live.record.revision if live is not None else None,
        # A release not in the pass (one over other releases, or a readiness change)
        # keeps what its last pass said.
        "sync": _sync(report, revision=revision, live=live, previous=previous)
        if report is not None
        else _plain(previous.get("sync")),
        "resources": [r.to_json() for r in live.health.resources] if live is not None else [],
        "dependencies": _plain(live.record.dependency_outputs) if live is not None else {},
        "outputs": _plain(live.record.outputs) if live is not None else {},
    }


def _state_never_applied(report: ReleaseReport) -> str:
    """What the pass says of a release with no inventory record."""
    return str(NEVER_APPLIED_STATES.get(report.outcome, ReleaseState.PROGRESSING))


def _sync(
    report: ReleaseReport,
    *,
    revision: str,
    live: ReleaseStatus | None,
    previous: Mapping[str, Any],
) -> JsonObject:
    """What the pass did with the release, with its objects' counts when it got as far as
    them. A release left alone this pass (waiting out its failure backoff) keeps the sync
    of its last attempt: the backoff's count and retry time would otherwise make a commit
    of every pass while it keeps failing. Likewise a pass that found nothing to change
    keeps the counts of the pass that changed it at the same revision, so the quiet pass
    after an apply makes no commit."""
    earlier = previous.get("sync")
    if report.outcome is Outcome.DEFERRED and isinstance(earlier, dict):
        return {str(key): _plain(value) for key, value in earlier.items()}
    state = SYNC_STATES[report.outcome]
    message = report.message
    if state == SYNCED and live is not None:
        # The pass's wait ends with the health message as it saw it: `message` already
        # says the health now, and repeating it here would only add churn between passes.
        message = _without(message, live.health.message)
    sync: JsonObject = {"revision": revision, "state": state, "message": message}
    if report.warnings:
        sync["warnings"] = list(report.warnings)
    if report.next_attempt is not None:
        # `harmonia run`'s next step, in words that last as long as the failure (the
        # retry time is in the log and the API): no commit of every retry.
        sync["retry"] = report.next_attempt.summary()
    if (
        report.outcome is Outcome.UNCHANGED
        and isinstance(earlier, dict)
        and "changes" in earlier
        and all(earlier.get(key) == value for key, value in sync.items())
    ):
        return {**sync, "changes": _plain(earlier["changes"])}
    if report.changes is not None:
        sync["changes"] = change_counts(report.changes)
    return sync


def change_counts(changes: ChangeSet) -> JsonObject:
    """`{created: 1, configured: 2, deleted: 0, unchanged: 5}`: the change set's counts,
    the objects the pass left as they were (compared equal, or skipped as unchanged since
    the last apply) counted together: which of the two an object gets depends on whether a
    controller touched it since, and would otherwise change the file from pass to pass."""
    counts: JsonObject = {action.value: changes.counts[action] for action in COUNTED_ACTIONS}
    counts[Action.UNCHANGED.value] = len(changes.changes) - sum(
        changes.counts[action] for action in COUNTED_ACTIONS
    )
    return counts


def _without(message: str, part: str) -> str:
    """`message` (parts joined by "; ") with every occurrence of the part `part` dropped."""
    if not part:
        return message
    text = f"; {message}; "
    while f"; {part}; " in text:
        text = text.replace(f"; {part}; ", "; ")
    return text.removeprefix("; ").removesuffix("; ")


def _transition_time(previous: Mapping[str, Any], *, state: str, now: datetime) -> str:
    """The previous file's time while the state is unchanged, else `now`."""
    stamp = previous.get("lastTransitionTime")
    if previous.get("state") == state:
        if isinstance(stamp, datetime):
            return _timestamp(stamp)
        if isinstance(stamp, str):
            try:
                return _timestamp(datetime.fromisoformat(stamp))
            except ValueError:
                pass
    return _timestamp(now)


def _timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC to the second; a time without a zone is taken as UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _previous_document(text: str | None) -> Mapping[str, Any]:
    if text is None:
        return {}
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    return document if isinstance(document, dict) else {}


def _plain(value: Any) -> JsonValue:
    """A fresh copy in plain dicts and lists: the YAML dumper knows no other mappings, and
    a value shared by two fields would otherwise be written as a YAML alias."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value  # type: ignore[no-any-return]


def readme(
    documents: Mapping[ReleaseKey, JsonObject],
    *,
    revision: str,
    dependencies: Mapping[ReleaseKey, Sequence[ReleaseKey]],
    stale_source: SourceState | None = None,
) -> str:
    """`status/README.md`: a table of every release and a Mermaid graph of their dependencies."""
    lines = [
        "# Release status",
        "",
        f"Written by Harmonia for revision `{revision}`; do not edit.",
        "",
    ]
    if stale_source is not None:
        lines += [
            f"**Source stale**: the last fetch failed, so this pass ran on the last good "
            f"revision `{stale_source.revision}`: {_table_cell(stale_source.error or '')}",
            "",
        ]
    lines += [
        "| Release | State | Sync | Revision | Message |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key in sorted(documents):
        lines.append(_table_row(key, documents[key]))
    lines += ["", "```mermaid", *_graph(documents, dependencies), "```", ""]
    return "\n".join(lines)


def _table_row(key: ReleaseKey, document: JsonObject) -> str:
    sync = document["sync"]
    sync_state = sync["state"] if isinstance(sync, dict) else "-"
    applied = document["revision"]
    shown_revision = f"`{applied[:12]}`" if isinstance(applied, str) and applied else "-"
    cells = [key, document["state"], sync_state, shown_revision, document["message"]]
    return "| " + " | ".join(_table_cell(str(cell)) for cell in cells) + " |"


def _table_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _graph(
    documents: Mapping[ReleaseKey, JsonObject],
    dependencies: Mapping[ReleaseKey, Sequence[ReleaseKey]],
) -> list[str]:
    """`graph LR` with an edge from each dependency to its dependent, coloured by state."""
    edges = sorted(
        {(target, dependent) for dependent, targets in dependencies.items() for target in targets}
    )
    keys = sorted({*documents, *(key for edge in edges for key in edge)})
    lines = ["graph LR"]
    lines += [f'  {_node_id(key)}["{_node_label(key)}"]' for key in keys]
    lines += [f"  {_node_id(target)} --> {_node_id(dependent)}" for target, dependent in edges]
    for state, style in STATE_COLOURS.items():
        lines.append(f"  classDef {state} {style}")
    for state in STATE_COLOURS:
        members = [_node_id(key) for key in sorted(documents) if documents[key]["state"] == state]
        if members:
            lines.append(f"  class {','.join(members)} {state}")
    return lines


def _node_id(key: ReleaseKey) -> str:
    """ASCII letters and digits kept, any other character as `_<hex code>_`: one id per key;
    the prefix keeps ids clear of Mermaid's keywords (`end`, `graph`)."""
    return "r_" + "".join(ch if ch.isascii() and ch.isalnum() else f"_{ord(ch):x}_" for ch in key)


def _node_label(key: ReleaseKey) -> str:
    return key.replace('"', "#quot;")
