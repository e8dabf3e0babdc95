"""Whether a live object still holds every field a desired object sets, with the same value.

Planning skips the server-side-apply dry-run of an object whose desired form is the one
last applied and whose live form still holds all of it: controllers writing `status`
(every Deployment rollout) change the resourceVersion, not what Harmonia applied. Only
an exact match counts; anything else (a defaulted quantity, a reordered list) goes to
the dry-run as before. Pure.
"""

from __future__ import annotations

from reconciler.diff.normalize import normalize
from reconciler.render.model import KubeObject
from reconciler.render.secrets.masking import is_secret
from reconciler.types import JsonValue


def still_applied(desired: KubeObject, live: KubeObject) -> bool:
    """True when every field of `desired` is in `live` with an equal value (lists whole).

    Compared as they are (what the server adds to `live` is extra, not different), but a
    Secret's `stringData` first folded into `data`, as the server stores it.
    """
    if is_secret(desired):
        return _holds(normalize(desired), normalize(live))
    return _holds(desired, live)


def _holds(wanted: JsonValue, present: JsonValue) -> bool:
    if isinstance(wanted, dict):
        return isinstance(present, dict) and all(
            key in present and _holds(value, present[key]) for key, value in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(present, list)
            and len(wanted) == len(present)
            and all(_holds(item, other) for item, other in zip(wanted, present, strict=True))
        )
    # `True == 1` in Python; the API server would not treat them alike.
    return type(wanted) is type(present) and wanted == present
