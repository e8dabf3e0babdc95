"""Secret values kept out of everything Harmonia prints or commits.

Used wherever objects leave the process for a human (render output, diffs,
status files, the API): the keys of a Secret stay visible, their values do not.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from reconciler.render.model import KubeObject

MASK = "***"
SECRET_VALUE_FIELDS = ("data", "stringData")


def is_secret(obj: KubeObject) -> bool:
    return obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def mask_secret(obj: KubeObject) -> KubeObject:
    """A copy of `obj` whose Secret values read `***` (other kinds come back unchanged)."""
    if not is_secret(obj):
        return obj
    masked = copy.deepcopy(obj)
    for field in SECRET_VALUE_FIELDS:
        values = masked.get(field)
        if isinstance(values, dict):
            masked[field] = {key: MASK for key in values}
        elif field in masked:
            masked[field] = MASK  # malformed, and still not to be shown
    return masked


def mask_secrets(objects: Sequence[KubeObject]) -> tuple[KubeObject, ...]:
    return tuple(mask_secret(obj) for obj in objects)
