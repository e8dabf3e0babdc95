"""A person's request that the running reconciler reconcile one release now, and the
reconciler's answer: two annotations on the release's inventory record (the Contracts'
sync request).

`harmonia sync` sets `harmonia.dev/requested-at` to the time of the request, as anyone
Kubernetes RBAC lets patch the record may; the reconciler's watch of the records sees
it, runs a pass for that release, and sets `harmonia.dev/handled-at` to the same value,
which is how the requester knows it is done. Pure: the patches and the reading.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reconciler.types import JsonObject

REQUESTED_AT = "harmonia.dev/requested-at"
HANDLED_AT = "harmonia.dev/handled-at"


def request_patch(now: datetime) -> JsonObject:
    """The merge patch that asks for a pass now."""
    stamp = now.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return {"metadata": {"annotations": {REQUESTED_AT: stamp}}}


def handled_patch(requested: str) -> JsonObject:
    """The merge patch that says the request made at `requested` was acted on."""
    return {"metadata": {"annotations": {HANDLED_AT: requested}}}


def _annotation(record: JsonObject, name: str) -> str | None:
    metadata: Any = record.get("metadata") or {}
    value = (metadata.get("annotations") or {}).get(name)
    return value if isinstance(value, str) else None


def requested_at(record: JsonObject) -> str | None:
    return _annotation(record, REQUESTED_AT)


def handled_at(record: JsonObject) -> str | None:
    return _annotation(record, HANDLED_AT)


def pending_request(record: JsonObject) -> str | None:
    """The request the reconciler has yet to act on, or None. A value that is not an RFC
    3339 time is no request (nothing is run for a typo, and the requester's `--wait`
    says so)."""
    requested = requested_at(record)
    if requested is None or requested == handled_at(record):
        return None
    try:
        datetime.fromisoformat(requested)
    except ValueError:
        return None
    return requested
