"""What the reconciler page and `GET /api/v1/reconciler` tell of the loop: the last pass, the
errors, the webhook deliveries received and the notifications sent, each history bounded.

The pass, the webhook route and the notification dispatcher write here as they go (from
their own threads); `service.py` reads a `JournalView` when asked and adds what it reads
live (the Lease, the next pass) with `reconciler_body`, a pure function. Messages come in
masked (the catalog's masking, as the API's); a webhook's body and signature never come in.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from reconciler.loop.hook_receiver import HookAnswer
from reconciler.loop.webhooks import PROVIDERS, event_kind
from reconciler.outcome import Outcome
from reconciler.reconcile import PassReport
from reconciler.types import JsonObject, JsonValue, ReleaseKey

RECENT = 20
"""Entries kept of each history (errors, webhook deliveries, notifications), newest first."""
LISTED = 50
"""Releases named per list of a pass (the outcome counts cover them all)."""
MESSAGE_CHARACTERS = 300
"""Of one message kept: a long render error says enough in its first lines."""
APPLIED = frozenset({Outcome.APPLIED, Outcome.REMOVED})
"""The outcomes that changed the cluster; `UNCHANGED` needed nothing, the rest did not go."""
NOT_APPLIED = frozenset(Outcome) - APPLIED - {Outcome.UNCHANGED, Outcome.PLANNED}


@dataclass(frozen=True)
class PassRecord:
    started: datetime
    finished: datetime
    why: str
    revision: str | None
    problem: str | None
    """Why the pass stopped early or went wrong (the source's fetch, the cluster)."""
    outcomes: Mapping[str, int]
    applied: tuple[str, ...]
    not_applied: tuple[tuple[str, str, str], ...]
    """(release, outcome, masked message)."""


@dataclass(frozen=True)
class ErrorRecord:
    time: datetime
    subject: str
    """`pass` for the pass's own problem, else the release that failed."""
    message: str


@dataclass(frozen=True)
class HookRecord:
    time: datetime
    provider: str
    event: str
    status: int
    answer: str
    """What the answer said (accepted, ignored and why, refused and why)."""


@dataclass(frozen=True)
class DeliveryRecord:
    time: datetime
    receiver: str
    result: str


@dataclass(frozen=True)
class JournalView:
    running: tuple[datetime, str] | None
    """(since, why) of the pass under way."""
    last_pass: PassRecord | None
    errors: tuple[ErrorRecord, ...]
    hooks: tuple[HookRecord, ...]
    notifications: tuple[DeliveryRecord, ...]


def _short(text: str) -> str:
    return text if len(text) <= MESSAGE_CHARACTERS else text[: MESSAGE_CHARACTERS - 1] + "…"


def pass_record(
    report: PassReport | None,
    *,
    started: datetime,
    finished: datetime,
    why: str,
    revision: str | None,
    problem: str | None,
    masked: Callable[[ReleaseKey, str], str],
) -> PassRecord:
    """The record of one pass from its report (None when it stopped before reconciling);
    `masked` masks what a release's message may quote of its Secrets."""
    entries = [] if report is None else [report.releases[key] for key in sorted(report.releases)]
    return PassRecord(
        started=started,
        finished=finished,
        why=why,
        revision=revision,
        problem=None if problem is None else _short(problem),
        outcomes=dict(sorted(Counter(str(entry.outcome) for entry in entries).items())),
        applied=tuple(entry.release for entry in entries if entry.outcome in APPLIED)[:LISTED],
        not_applied=tuple(
            (entry.release, str(entry.outcome), _short(masked(entry.release, entry.message)))
            for entry in entries
            if entry.outcome in NOT_APPLIED
        )[:LISTED],
    )


class LoopJournal:
    """The bounded record the loop's threads write to and the API reads."""

    def __init__(self, size: int = RECENT) -> None:
        self._lock = threading.Lock()
        self._running: tuple[datetime, str] | None = None
        self._last: PassRecord | None = None
        self._errors: deque[ErrorRecord] = deque(maxlen=size)
        self._hooks: deque[HookRecord] = deque(maxlen=size)
        self._notifications: deque[DeliveryRecord] = deque(maxlen=size)

    def pass_started(self, since: datetime, why: str) -> None:
        with self._lock:
            self._running = (since, why)

    def pass_finished(self, record: PassRecord) -> None:
        """The pass is the last one; its problem and failed releases join the errors."""
        errors = [ErrorRecord(record.finished, "pass", record.problem)] if record.problem else []
        errors += [
            ErrorRecord(record.finished, release, f"{outcome}: {message}")
            for release, outcome, message in record.not_applied
            if outcome in (Outcome.FAILED, Outcome.INVALID, Outcome.BLOCKED)
        ]
        with self._lock:
            self._running, self._last = None, record
            self._errors.extendleft(reversed(errors))

    def hook_answered(self, record: HookRecord) -> None:
        with self._lock:
            self._hooks.appendleft(record)

    def notification_done(self, record: DeliveryRecord) -> None:
        with self._lock:
            self._notifications.appendleft(record)

    def view(self) -> JournalView:
        with self._lock:
            return JournalView(
                self._running,
                self._last,
                tuple(self._errors),
                tuple(self._hooks),
                tuple(self._notifications),
            )


def journaled_hook(
    hook: Callable[[str, Mapping[str, str], bytes], HookAnswer],
    journal: LoopJournal,
    *,
    clock: Callable[[], datetime],
) -> Callable[[str, Mapping[str, str], bytes], HookAnswer]:
    """`hook`, each of its answers written to `journal`: the provider, the event its
    headers name and what the answer said; never the body, a signature or a header's value
    beyond the event's kind."""

    def answer(provider: str, headers: Mapping[str, str], body: bytes) -> HookAnswer:
        answered = hook(provider, headers, body)
        known = provider in PROVIDERS
        said = answered.body.get("detail") or answered.body.get("error") or ""
        journal.hook_answered(
            HookRecord(
                time=clock(),
                provider=provider if known else "(unknown)",
                event=event_kind(provider, headers) if known else "",
                status=answered.status,
                answer=_short(f"{answered.body.get('result', 'refused')}: {said}"),
            )
        )
        return answered

    return answer


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _pass_json(record: PassRecord) -> JsonObject:
    return {
        "revision": record.revision,
        "why": record.why,
        "started": _time(record.started),
        "finished": _time(record.finished),
        "seconds": round((record.finished - record.started).total_seconds(), 3),
        "problem": record.problem,
        "outcomes": dict(record.outcomes),
        "applied": list(record.applied),
        "notApplied": [
            {"release": release, "outcome": outcome, "message": message}
            for release, outcome, message in record.not_applied
        ],
    }


def reconciler_body(
    view: JournalView,
    *,
    instance: str,
    leading: bool,
    lease: JsonObject | None,
    next_pass: tuple[datetime | None, str],
    shards: JsonObject | None = None,
) -> JsonObject:
    """The body of `GET /api/v1/reconciler`: `view` with this instance's name, whether it
    leads, the Lease as read (None: no leader election) and the next pass (when, why);
    under sharding, `shards`: the set and this replica's share (shard_set.shards_json)."""
    running: JsonValue = (
        None if view.running is None else {"since": _time(view.running[0]), "why": view.running[1]}
    )
    return {
        "instance": instance,
        "leading": leading,
        "lease": lease,
        "running": running,
        "lastPass": None if view.last_pass is None else _pass_json(view.last_pass),
        "nextPass": {"at": _time(next_pass[0]), "why": next_pass[1]},
        "errors": [
            {"time": _time(error.time), "subject": error.subject, "message": error.message}
            for error in view.errors
        ],
        "hooks": [
            {
                "time": _time(hook.time),
                "provider": hook.provider,
                "event": hook.event,
                "status": hook.status,
                "answer": hook.answer,
            }
            for hook in view.hooks
        ],
        "notifications": [
            {"time": _time(sent.time), "receiver": sent.receiver, "result": sent.result}
            for sent in view.notifications
        ],
        **({"shards": shards} if shards is not None else {}),
    }


def lease_json(lease: JsonObject | None, *, namespace: str, name: str) -> JsonObject:
    """What the page shows of the Lease object read (None: it does not exist yet)."""
    spec: Mapping[str, JsonValue] = {}
    if lease is not None and isinstance(lease.get("spec"), dict):
        spec = lease["spec"]  # type: ignore[assignment]
    return {
        "namespace": namespace,
        "name": name,
        "holder": spec.get("holderIdentity") or None,
        "acquired": spec.get("acquireTime"),
        "renewed": spec.get("renewTime"),
        "transitions": spec.get("leaseTransitions", 0),
        "durationSeconds": spec.get("leaseDurationSeconds"),
    }
