"""What can go wrong talking to the API server, as a small tree the engine can act on.

KubeError                  subject (Kind/namespace/name) + message; `temporary` flag
├── ClusterUnreachable     connection refused, timeouts, 5xx, 429: retry later
├── NotFound               404
├── Forbidden              403: RBAC or admission said no
├── Conflict               409 from server-side apply: another field manager owns fields
├── StaleObject            other 409s: changed since read (resourceVersion), or already exists
└── Invalid                422: the object was refused; `immutable` when a field cannot change
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field


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


def from_status(subject: str, status: int, body: str | bytes | None) -> KubeError:
    """The KubeError for an API error response."""
    parsed = StatusBody.parse(body)
    message = parsed.message or f"HTTP {status}"
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
    if status == 422:
        immutable = "immutable" in message or "Forbidden: updates to" in message
        return Invalid(subject, _without_dumps(message), immutable=immutable)
    if status == 429 or status >= 500:
        return ClusterUnreachable(subject, message, status=status)
    return KubeError(subject, message, status=status)


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
