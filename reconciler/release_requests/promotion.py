"""Promotion: the overlay an environment needs so that a release there runs what it runs
in another environment (`harmonia promote NAMESPACE/NAME --from staging --to prod`).

Pure, no I/O: `promoted_overlay` takes the release file's document and both overlays and
returns the target's new overlay. Only `PROMOTED_FIELDS` are promoted (the chart and its
values); everything else the target's overlay says (paused, timeouts, narrowing,
replicas set outside configValues...) stays as it is.
"""

from __future__ import annotations

from typing import Final

from reconciler.release_requests.overlay import OVERLAY_ONLY, merge_overlay
from reconciler.types import JsonObject, JsonValue

PROMOTED_FIELDS: Final = (
    "chartPath",
    "repoName",
    "chartName",
    "chartVersion",
    "chartImage",
    "configValues",
)
"""What a promotion makes equal: the chart (its source and version) and `configValues`.
Not `valuesFiles` (they name files, often the environment's own, such as its secrets),
not `paused`, `absent`, timeouts or anything else an environment sets for itself."""


class _Missing:
    """A field a document does not have (unlike a `null`, which an overlay uses to
    delete one)."""


MISSING: Final = _Missing()


def effective(base: JsonObject, overlay: JsonObject | None) -> JsonObject | None:
    """The release document an environment runs (None: absent there)."""
    return merge_overlay(base, overlay or {})


def promoted_fields_differ(source: JsonObject, target: JsonObject) -> tuple[str, ...]:
    """The promoted fields on which two environments' release documents differ."""
    return tuple(
        field
        for field in PROMOTED_FIELDS
        if source.get(field, MISSING) != target.get(field, MISSING)
    )


def promoted_overlay(
    base: JsonObject, source_overlay: JsonObject | None, target_overlay: JsonObject | None
) -> JsonObject:
    """The target's overlay after promotion: the target's own with each promoted field
    replaced by the smallest change that turns the release file's value into the
    source's effective value (left out when the release file already has it; `null`
    where the source deleted it). Its other fields, and their order, are kept."""
    source = effective(base, source_overlay)
    if source is None:
        raise ValueError("the release is absent in the source environment")
    result: JsonObject = dict(target_overlay or {})
    for field in PROMOTED_FIELDS:
        needed = overlay_delta(base.get(field, MISSING), source.get(field, MISSING))
        if isinstance(needed, _Missing):
            result.pop(field, None)
        else:
            result[field] = needed
    return result


def overlay_delta(base: JsonValue | _Missing, wanted: JsonValue | _Missing) -> JsonValue | _Missing:
    """What an overlay must hold so that the overlay rule turns `base` into `wanted`:
    nothing when they are equal, `null` to delete, the changed keys of two mappings (as
    the rule merges them deeply), else `wanted` itself (lists and scalars replace)."""
    if base == wanted:
        return MISSING
    if isinstance(wanted, _Missing):
        return None
    if isinstance(base, dict) and isinstance(wanted, dict):
        delta: JsonObject = {}
        for key in [*wanted, *(key for key in base if key not in wanted)]:
            needed = overlay_delta(base.get(key, MISSING), wanted.get(key, MISSING))
            if not isinstance(needed, _Missing):
                delta[key] = needed
        return delta
    return wanted


def is_empty_overlay(overlay: JsonObject) -> bool:
    """An overlay that changes nothing (its `apiVersion` and `kind` aside): its file can go."""
    return all(key in OVERLAY_ONLY and key != "absent" for key in overlay)
