"""The read-only JSON API's answers: the release list and a release's detail (WALM's query API).

Pure functions over `ReleaseView`s, which the catalog gathers and the loop's HTTP server
serves. No Secret value appears in a body: every value of the release's rendered Secrets,
and every value under a key that names a secret, reads `***` (see `mask_values`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from reconciler.loop.errors import ApiError
from reconciler.reconcile import ReleaseReport
from reconciler.release_requests.document import chart_fields, release_document
from reconciler.release_requests.model import Release
from reconciler.render.model import RenderedRelease
from reconciler.render.secrets.masking import MASK
from reconciler.render.secrets.redaction import (
    MIN_EMBEDDED_SECRET,
    public_outputs,
    values_of_secrets,
)
from reconciler.status.live import ReleaseStatus
from reconciler.types import JsonObject, JsonValue, ReleaseKey, split_release_key

NOT_INSTALLED = "NotInstalled"
"""The state of a release with no inventory record in the cluster (never applied)."""

LIST_QUERY_KEYS = ("namespace", "labelSelector")


@dataclass(frozen=True)
class ReleaseView:
    """Everything known about one release: from Git, the last pass, and the cluster now."""

    key: ReleaseKey
    release: Release | None
    """The release request of the last pass's desired state; None if only in the cluster."""
    rendered: RenderedRelease | None
    status: ReleaseStatus | None
    """Read live: its inventory record and health; None when it was never applied."""
    report: ReleaseReport | None
    """What the last pass did to it."""
    secrets_of_dependents: frozenset[str] = frozenset()
    """Values of the Secrets its dependents rendered, which may hold its outputs."""
    revision_url: str | None = None
    """The forge's page of the commit last applied, when the catalog knows the forge."""
    secrets_of_pass: PassSecrets | None = None
    """The long Secret values of the whole pass: the cluster's words about this release (a
    pod's termination message, an Event) may quote another release's Secret it reads."""

    @property
    def labels(self) -> Mapping[str, str]:
        return self.release.release_labels if self.release is not None else {}


# -- label selectors ---------------------------------------------------------------


class Operator(StrEnum):
    """kubectl's set-based operators; `a=b` is `a in (b)` and `a!=b` is `a notin (b)`."""

    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator is Operator.EXISTS:
            return self.key in labels
        if self.operator is Operator.DOES_NOT_EXIST:
            return self.key not in labels
        found = labels.get(self.key) in self.values
        return found if self.operator is Operator.IN else not found


@dataclass(frozen=True)
class LabelSelector:
    """Requirements that must all hold; no requirements selects everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(requirement.matches(labels) for requirement in self.requirements)


_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_KEY = rf"(?:{_DNS_LABEL}(?:\.{_DNS_LABEL})*/)?{_NAME}"
_VALUE = re.compile(rf"(?:{_NAME})?")
_EXISTENCE = re.compile(rf"(?P<negated>!?)\s*(?P<key>{_KEY})")
_EQUALITY = re.compile(rf"(?P<key>{_KEY})\s*(?P<operator>==|=|!=)\s*(?P<value>\S*)")
_SET = re.compile(rf"(?P<key>{_KEY})\s+(?P<operator>in|notin)\s*\((?P<values>[^()]*)\)")
_NAMESPACE = re.compile(_DNS_LABEL)
_MAX_NAME = 63
_MAX_PREFIX = 253

MAX_SELECTOR_LENGTH = 4096
"""The longest label selector the API parses, in characters: far more than any real
query, and short enough that parsing and matching one is a few milliseconds."""
MAX_REQUIREMENTS = 64
"""The most requirements (comma-separated terms outside parentheses) in one selector."""


def parse_label_selector(text: str) -> LabelSelector:
    """kubectl's selector syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`,
    `!a`, joined by commas; `ApiError(400)` names the requirement that does not parse, or
    says the selector is longer than `MAX_SELECTOR_LENGTH` or has more than
    `MAX_REQUIREMENTS` terms. The work is linear in the selector's length."""
    if len(text) > MAX_SELECTOR_LENGTH:
        raise ApiError(
            400, f"labelSelector: {len(text)} characters, more than {MAX_SELECTOR_LENGTH}"
        )
    if not text.strip():
        return LabelSelector()
    parts = selector_terms(text)
    if len(parts) > MAX_REQUIREMENTS:
        raise ApiError(400, f"labelSelector: {len(parts)} terms, more than {MAX_REQUIREMENTS}")
    return LabelSelector(tuple(_requirement(part) for part in parts))


def selector_terms(text: str) -> list[str]:
    """`text` cut at the commas outside parentheses (`a in (x,y),b` is two terms), in one
    scan: a comma is inside when the next parenthesis after it closes one."""
    terms: list[str] = []
    end = len(text)
    closing = False
    for index in range(len(text) - 1, -1, -1):
        char = text[index]
        if char in "()":
            closing = char == ")"
        elif char == "," and not closing:
            terms.append(text[index + 1 : end])
            end = index
    terms.append(text[:end])
    terms.reverse()
    return terms


def _requirement(text: str) -> Requirement:
    text = text.strip()
    if match := _SET.fullmatch(text):
        values = [value.strip() for value in match["values"].split(",")]
        if values == [""]:
            raise _bad_selector(text, "the set of values is empty")
        operator = Operator.IN if match["operator"] == "in" else Operator.NOT_IN
        return _checked(match["key"], operator, values, text)
    if match := _EQUALITY.fullmatch(text):
        operator = Operator.NOT_IN if match["operator"] == "!=" else Operator.IN
        return _checked(match["key"], operator, [match["value"]], text)
    if match := _EXISTENCE.fullmatch(text):
        operator = Operator.DOES_NOT_EXIST if match["negated"] else Operator.EXISTS
        return _checked(match["key"], operator, [], text)
    if not text:
        raise _bad_selector(text, "an empty requirement (two commas in a row?)")
    raise _bad_selector(text, "expected key, !key, key=value, key!=value, key in (...)")


def _checked(key: str, operator: Operator, values: list[str], text: str) -> Requirement:
    prefix, _, name = key.rpartition("/")
    if len(name) > _MAX_NAME or len(prefix) > _MAX_PREFIX:
        raise _bad_selector(text, f"the key {key!r} is too long")
    for value in values:
        if not _VALUE.fullmatch(value) or len(value) > _MAX_NAME:
            raise _bad_selector(text, f"{value!r} is not a valid label value")
    return Requirement(key, operator, frozenset(values))


def _bad_selector(requirement: str, problem: str) -> ApiError:
    return ApiError(400, f"labelSelector: cannot parse {requirement!r}: {problem}")


# -- the list --------------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    namespace: str | None = None
    selector: LabelSelector = LabelSelector()

    def admits(self, view: ReleaseView) -> bool:
        namespace, _name = split_release_key(view.key)
        in_namespace = self.namespace is None or namespace == self.namespace
        return in_namespace and self.selector.matches(view.labels)


def parse_list_query(query: Mapping[str, str]) -> ListQuery:
    """The list's query parameters; `ApiError(400)` for an unknown or malformed one."""
    namespace = queried_namespace(query, known=LIST_QUERY_KEYS)
    return ListQuery(namespace, parse_label_selector(query.get("labelSelector", "")))


def queried_namespace(query: Mapping[str, str], *, known: Sequence[str]) -> str | None:
    """`?namespace=` of a query that may hold only `known` parameters, or None; `ApiError(400)`
    naming an unknown parameter or a namespace that is no namespace name."""
    unknown = sorted(set(query) - set(known))
    if unknown:
        names = ", ".join(known)
        raise ApiError(400, f"unknown query parameter {', '.join(unknown)} (known: {names})")
    namespace = query.get("namespace") or None
    if namespace is not None and not is_namespace_name(namespace):
        raise ApiError(400, f"namespace: {namespace[:100]!r} is not a namespace name")
    return namespace


def is_namespace_name(text: str) -> bool:
    """A DNS-1123 label, as every namespace name is."""
    return len(text) <= _MAX_NAME and _NAMESPACE.fullmatch(text) is not None


def release_list(views: Sequence[ReleaseView], query: Mapping[str, str]) -> JsonObject:
    """`{"releases": [summary, ...], "count": n}` for the views the query admits, by key."""
    chosen = parse_list_query(query)
    summaries: list[JsonValue] = [
        _summary_masked(view)
        for view in sorted(views, key=lambda view: view.key)
        if chosen.admits(view)
    ]
    return {"releases": summaries, "count": len(summaries)}


def _summary_masked(view: ReleaseView) -> JsonObject:
    """The summary masked; its message (the cluster's words) of the pass's Secrets too."""
    summary = mask_object(release_summary(view), secret_values(view))
    message = summary.get("message")
    if view.secrets_of_pass is not None and isinstance(message, str):
        summary["message"] = view.secrets_of_pass.masked(message)
    return summary


def release_summary(view: ReleaseView) -> JsonObject:
    """One line of the list (unmasked: callers mask)."""
    namespace, name = split_release_key(view.key)
    if view.status is not None:
        state, message = str(view.status.health.state), view.status.health.message
    else:
        state = NOT_INSTALLED
        message = view.report.message if view.report is not None else "not applied yet"
    depends_on: list[JsonValue] = [str(target) for target in sorted(dependencies_of(view))]
    record = view.status.record if view.status is not None else None
    summary: JsonObject = {
        "name": name,
        "namespace": namespace,
        "labels": dict(view.labels),
        "chart": chart_fields(view.release.chart) if view.release is not None else None,
        "state": state,
        "message": message,
        "revision": record.revision if record is not None else None,
        "revisionUrl": view.revision_url,
        "installed": (view.status.installed or None) if view.status is not None else None,
        "lastApplied": record.time if record is not None else None,
        "outcome": str(view.report.outcome) if view.report is not None else None,
        "dependsOn": depends_on,
        "outputsTaken": outputs_taken(view),
    }
    if record is not None and record.applied_by:
        # Under `harmonia run --shards`: the replica that last applied it.
        summary["appliedBy"] = record.applied_by
    if view.report is not None and view.report.next_attempt is not None:
        # Only for a failure `harmonia run` retries or waits on: `waiting for a change`,
        # or `retrying in 40s (at 17:40:12Z)`.
        summary["nextAttempt"] = view.report.next_attempt.describe(datetime.now(UTC))
    return summary


def dependencies_of(view: ReleaseView) -> set[str]:
    """The releases it depends on: as its file in Git says, else as its inventory record
    says its last render took outputs from them (a release only in the cluster)."""
    if view.release is not None:
        return {str(target) for target in view.release.dependencies.values()}
    used = view.status.record.dependency_outputs.values() if view.status is not None else ()
    return {str(taken["release"]) for taken in used if isinstance(taken.get("release"), str)}


def outputs_taken(view: ReleaseView) -> list[JsonValue]:
    """By alias, the release depended on and the names (never the values) of the outputs
    this release takes from it: as the last pass rendered it, else as last applied."""
    found: list[tuple[str, str, list[str]]] = []
    if view.rendered is not None:
        for alias, depended in view.rendered.dependencies.items():
            found.append((alias, str(depended.key), list(depended.outputs)))
    elif view.status is not None:
        for alias, used in view.status.record.dependency_outputs.items():
            outputs = used.get("outputs")
            names = list(outputs) if isinstance(outputs, dict) else []
            found.append((alias, str(used.get("release")), names))
    return [
        {"alias": alias, "release": release, "outputs": [*sorted(names)]}
        for alias, release, names in sorted(found)
    ]


# -- the detail ------------------------------------------------------------------

_LIVE_FIELDS = (
    "source",
    "lastResult",
    "lastApplied",
    "readySince",
    "paused",
    "resources",
    "dependencies",
    "outputs",
)
"""What the detail takes from the live status (`ReleaseStatus.to_json`)."""


def release_detail(
    view: ReleaseView,
    *,
    last_change: JsonObject | None = None,
    recent_passes: Sequence[JsonObject] = (),
    events: Sequence[JsonObject] = (),
    events_problem: str | None = None,
) -> JsonObject:
    """WALM's release detail: the summary, the release request (`spec`), every resource
    with its state and pods, the dependencies with the outputs taken from them, the
    outputs published, the computed values, what the last pass did, the last pass that
    changed something (its change set and masked diffs), the recent passes and the
    release's Kubernetes Events (or, in `eventsProblem`, why they could not be read)."""
    live = view.status.to_json() if view.status is not None else _never_applied(view)
    body: JsonObject = {
        **release_summary(view),
        "file": view.release.source.file if view.release is not None else None,
        "spec": release_document(view.release) if view.release is not None else None,
        **{field: live[field] for field in _LIVE_FIELDS},
        "computedValues": view.rendered.values if view.rendered is not None else None,
        "lastPass": view.report.to_json() if view.report is not None else None,
        "lastChange": last_change,
        "recentPasses": list(recent_passes),
        "events": list(events),
        "eventsProblem": events_problem,
    }
    masked = mask_object(body, secret_values(view))
    if view.secrets_of_pass is None:
        return masked
    shown = view.secrets_of_pass.masked_all(masked)
    return shown if isinstance(shown, dict) else masked


def _never_applied(view: ReleaseView) -> JsonObject:
    """The live fields of a release with no inventory record: what Git says it will be."""
    release = view.release
    dependencies: JsonObject = {
        alias: {"release": target}
        for alias, target in (release.dependencies.items() if release is not None else ())
    }
    return {
        "source": None,
        "lastResult": None,
        "lastApplied": None,
        "readySince": None,
        "paused": release.paused if release is not None else False,
        "resources": [],
        "dependencies": dependencies,
        "outputs": dict(public_outputs(view.rendered)) if view.rendered is not None else {},
    }


# -- masking -----------------------------------------------------------------------

SECRET_KEY_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "credential",
    "privatekey",
)
"""A key containing one of these (case, `-` and `_` aside) holds a secret: `dbPassword`,
`API_KEY`, `private-key`. The second line of defence, after the Secrets' own values."""


def secret_values(view: ReleaseView) -> frozenset[str]:
    """Every value of the release's rendered v1 Secrets, and of its dependents' (an output
    of this release one of them put into a Secret)."""
    return rendered_secret_values(view.rendered) | view.secrets_of_dependents


def rendered_secret_values(rendered: RenderedRelease | None) -> frozenset[str]:
    """Every value of a render's v1 Secrets, hooks included, and each in base64: the API
    server stores a `stringData` value so, and its words (an admission webhook's denial, an
    Event) may quote the stored Secret."""
    if rendered is None:
        return frozenset()
    hooks = (hook.object for hook in rendered.hooks)
    values = values_of_secrets([*rendered.objects, *hooks])
    return values | {base64.b64encode(value.encode()).decode() for value in values}


def mask_values(value: JsonValue, secrets: frozenset[str]) -> JsonValue:
    """`value` with every string (or number) equal to one of `secrets`, every long secret
    inside a string, and every value under a key that names a secret reading `***`.

    `{name: DB_PASSWORD, value: ...}` pairs (environment variables, WALM's params) count
    as a key naming a secret. Flags and nulls stay: they hide nothing.
    """
    if isinstance(value, dict):
        return mask_object(value, secrets)
    if isinstance(value, list):
        return [mask_values(item, secrets) for item in value]
    if isinstance(value, str):
        return _masked_text(value, secrets)
    if isinstance(value, int | float) and not isinstance(value, bool) and str(value) in secrets:
        return MASK
    return value


def mask_object(body: JsonObject, secrets: frozenset[str]) -> JsonObject:
    """`mask_values` of a JSON object."""
    return {
        key: MASK if _hides_secret(key, item, body) else mask_values(item, secrets)
        for key, item in body.items()
    }


def _hides_secret(key: str, item: JsonValue, within: JsonObject) -> bool:
    if item is None or isinstance(item, bool):
        return False
    if names_secret(key):
        return True
    pair_name = within.get("name")
    return key == "value" and isinstance(pair_name, str) and names_secret(pair_name)


def names_secret(key: str) -> bool:
    folded = key.lower().replace("-", "").replace("_", "")
    return any(word in folded for word in SECRET_KEY_WORDS)


class PassSecrets:
    """The Secret values of a whole pass at least `MIN_EMBEDDED_SECRET` long, and each in
    base64, masked wherever they stand in a text. Thousands of them make the plain scan
    (`_masked_text`) slow over a list of a thousand releases, so a text is scanned only when
    one of its `MIN_EMBEDDED_SECRET`-character pieces is a piece of such a value."""

    def __init__(self, values: Iterable[str]) -> None:
        long = {value for value in values if len(value) >= MIN_EMBEDDED_SECRET}
        long |= {base64.b64encode(value.encode()).decode() for value in long}
        self._values = frozenset(long)
        self._pieces = frozenset(
            value[start : start + MIN_EMBEDDED_SECRET]
            for value in long
            for start in range(len(value) - MIN_EMBEDDED_SECRET + 1)
        )

    def masked(self, text: str) -> str:
        """`text` with each of the values in it (or it, inside one of them) read `***`."""
        width = MIN_EMBEDDED_SECRET
        if any(text[at : at + width] in self._pieces for at in range(len(text) - width + 1)):
            return _masked_text(text, self._values)
        return text

    def masked_all(self, value: JsonValue) -> JsonValue:
        """Every string in `value` `masked` (keys stay: they are chart or API names)."""
        if isinstance(value, dict):
            return {key: self.masked_all(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.masked_all(item) for item in value]
        return self.masked(value) if isinstance(value, str) else value


def _masked_text(text: str, secrets: frozenset[str]) -> str:
    if text in secrets:
        return MASK
    if len(text) >= MIN_EMBEDDED_SECRET and any(text in secret for secret in secrets):
        return MASK
    for secret in secrets:
        if len(secret) >= MIN_EMBEDDED_SECRET and secret in text:
            text = text.replace(secret, MASK)
    return text
