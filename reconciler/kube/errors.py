"""What can go wrong talking to the API server, as a small tree the engine can act on.

KubeError                  subject (Kind/namespace/name) + message; `temporary` flag
├── ClusterUnreachable     no answer, timeouts, 502/503/504, 429 after retries, a 500 from
│                          its storage (etcd did not answer): retry later
├── NotFound               404
├── Forbidden              403: RBAC or admission said no
├── Conflict               409 from server-side apply: another field manager owns fields
├── StaleObject            other 409s: changed since read (resourceVersion), or already exists
├── Expired                410: a watch's resourceVersion is too old; list again
└── Invalid                422: the object was refused; `immutable` when a field cannot change

Any other answer (400, a 500 such as server-side apply's "failed to create typed patch
object" for a number where a string belongs) is a plain `KubeError`: the API server
said no to this object, so its release fails and the pass goes on. A failed apply's
subject names the verb: `ConfigMap/shop/web apply failed: ...`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from reconciler.kube.redact import without_secret_values
from reconciler.types import JsonObject


class KubeError(Exception):
    temporary = False

    def __init__(self, subject: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{subject}: {message}" if subject else message)
        self.subject = subject
        self.message = message
        self.status = status


class ClusterUnreachable(KubeError):
    """The kubeconfig is missing or broken, or the API server does not answer."""

    temporary = True


class NotFound(KubeError):
    pass


class Forbidden(KubeError):
    pass


@dataclass(frozen=True)
class FieldConflict:
    field: str
    manager: str


class Conflict(KubeError):
    """Server-side apply refused: fields are owned by other managers (`force` takes them)."""

    def __init__(self, subject: str, message: str, *, conflicts: tuple[FieldConflict, ...]) -> None:
        super().__init__(subject, message, status=409)
        self.conflicts = conflicts


class StaleObject(KubeError):
    """The write lost a race: the object changed since it was read (a `resourceVersion`
    precondition failed), or a create found it already there."""


class Expired(KubeError):
    """410 Gone: a watch asked for changes since a resourceVersion the API server no longer
    keeps (compacted, or older than its watch cache). The watcher lists again."""


class Invalid(KubeError):
    def __init__(self, subject: str, message: str, *, immutable: bool) -> None:
        super().__init__(subject, message, status=422)
        self.immutable = immutable


@dataclass(frozen=True)
class StatusBody:
    """The parts of a `metav1.Status` error body that the messages use."""

    message: str = ""
    reason: str = ""
    causes: tuple[dict[str, str], ...] = field(default=())

    @classmethod
    def parse(cls, body: str | bytes | None) -> StatusBody:
        try:
            raw = json.loads(body or "{}")
        except (ValueError, TypeError):
            return cls(message=str(body or "")[:500])
        if not isinstance(raw, dict):
            return cls()
        details = raw.get("details") or {}
        return cls(
            message=str(raw.get("message", "")),
            reason=str(raw.get("reason", "")),
            causes=tuple(c for c in details.get("causes", []) if isinstance(c, dict)),
        )


def from_status(
    subject: str, status: int, body: str | bytes | None, *, sent: JsonObject | None = None
) -> KubeError:
    """The KubeError for an API error response to a request about `sent` (the object in
    the request's body, if any): a Secret's values are taken out of the message."""
    parsed = StatusBody.parse(body)
    message = parsed.message or f"HTTP {status}"
    if sent is not None:
        message = without_secret_values(message, sent)
    if status == 404:
        return NotFound(subject, message, status=status)
    if status == 403:
        return Forbidden(subject, message, status=status)
    if status == 409 and parsed.reason == "Conflict" and parsed.causes:
        conflicts = tuple(
            FieldConflict(field=c.get("field", ""), manager=_manager(c.get("message", "")))
            for c in parsed.causes
        )
        owners = "; ".join(f"{c.field} is owned by {c.manager}" for c in conflicts)
        return Conflict(
            subject, f"apply conflicts with other field managers: {owners}", conflicts=conflicts
        )
    if status == 409:
        return StaleObject(subject, message, status=status)
    if status == 410:
        return Expired(subject, message, status=status)
    if status == 422:
        immutable = "immutable" in message or "Forbidden: updates to" in message
        return Invalid(subject, _without_dumps(message), immutable=immutable)
    storage_down = _STORAGE_DOWN.search(message) and not _WEBHOOK_FAILED.search(message)
    if status in UNREACHABLE_STATUSES or (status == 500 and storage_down):
        return ClusterUnreachable(subject, message, status=status)
    return KubeError(subject, message, status=status)


UNREACHABLE_STATUSES = frozenset({429, 502, 503, 504})
"""Answers that say the API server (or what is in front of it) cannot serve now, not that
it refuses the request: a gateway or the server overloaded, a timeout. 429 counts once
the client has stopped retrying it."""

_STORAGE_DOWN = re.compile(
    r"etcdserver|rpc error|Timeout: request did not complete|context deadline exceeded"
)
"""A 500 that says the API server's storage did not answer (etcd down or slow): the
cluster cannot serve now; the request itself may be fine (the error contract: temporary)."""

_WEBHOOK_FAILED = re.compile(r"failed calling webhook")
"""An admission webhook that did not answer in time also says "context deadline exceeded":
that is the webhook's failure, which fails the object's release alone."""

RATE_LIMIT_TRIES = 4
RATE_LIMIT_WAIT_CAP = 10.0
"""Seconds waited at most before one retry of a 429, whatever Retry-After asks."""


def rate_limit_wait(status: int, retry_after: str | None, *, attempt: int) -> float | None:
    """Seconds to wait before retrying a request answered with `status`, or None when it
    is not retried: only 429 (too many requests), at most RATE_LIMIT_TRIES tries in all,
    after the Retry-After seconds the server asks (1 when absent or not a number)."""
    if status != 429 or attempt + 1 >= RATE_LIMIT_TRIES:
        return None
    try:
        asked = float(retry_after) if retry_after is not None else 1.0
    except ValueError:
        asked = 1.0
    if math.isnan(asked):
        asked = 1.0
    return min(max(asked, 0.0), RATE_LIMIT_WAIT_CAP)


_LONG_VALUE = re.compile(r"Invalid value: (.{120,}?): (field is immutable|[a-z])")


def _without_dumps(message: str) -> str:
    """The API server quotes a whole rejected value (a pod template can be kilobytes);
    the field path and the rule are what a person needs."""
    return _LONG_VALUE.sub(lambda match: f"Invalid value: (omitted): {match.group(2)}", message)


def _manager(message: str) -> str:
    """`conflict with "kubectl-client-side-apply" using apps/v1` -> kubectl-client-side-apply."""
    if '"' in message:
        return message.split('"')[1]
    return message
