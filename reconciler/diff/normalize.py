"""Objects as users write them: what the API server owns or adds is taken out before a diff,
and what it rewrites (Secret `stringData`, quantities) is written its way.

The first step of every comparison. The server-side-apply dry-run result and the live
object go through the same function, so fields the server defaults are on both sides
and never show; only fields no user writes are dropped. Pure.
"""

from __future__ import annotations

import base64
import copy

from reconciler.diff.quantities import canonical_quantities
from reconciler.render.model import KubeObject
from reconciler.render.secrets.masking import is_secret

LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"

SERVER_METADATA_FIELDS = (
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
    # Set when a delete starts. The apply step reads it from the live object before
    # comparing; in a diff it would only repeat what both sides already say.
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)

SERVER_ANNOTATIONS = (
    # Client-side apply's copy of the whole object, Secret values included.
    LAST_APPLIED_ANNOTATION,
    "deployment.kubernetes.io/revision",
)


def normalize(obj: KubeObject) -> KubeObject:
    """A copy of `obj` without status, server-owned metadata and server annotations.

    Empty `labels`/`annotations` maps go too (the server never stores them), a
    Secret's `stringData` is folded into `data` and resource quantities are written as
    the server would store them (`0.125Gi` as `128Mi`).
    """
    normalized = copy.deepcopy(obj)
    normalized.pop("status", None)
    metadata = normalized.get("metadata")
    if isinstance(metadata, dict):
        for field in SERVER_METADATA_FIELDS:
            metadata.pop(field, None)
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict):
            for annotation in SERVER_ANNOTATIONS:
                annotations.pop(annotation, None)
        for field in ("labels", "annotations"):
            if field in metadata and not metadata[field]:
                del metadata[field]
    if is_secret(normalized):
        _fold_string_data(normalized)
    canonical_quantities(normalized)
    return normalized


def _fold_string_data(secret: KubeObject) -> None:
    """`stringData` is write-only: the server stores each value base64-encoded in `data`.

    Flux's `normalize.go` (`normalizeSecret`) and Argo CD's `NormalizeSecret` do the same,
    so a value moved between the two fields is no change.
    """
    string_data = secret.get("stringData")
    if not isinstance(string_data, dict):
        return
    data = secret.get("data")
    data = data if isinstance(data, dict) else {}
    for key, value in list(string_data.items()):
        if isinstance(value, str):
            data[key] = base64.b64encode(value.encode()).decode()
            del string_data[key]
    if data:
        secret["data"] = data
    if not string_data:
        del secret["stringData"]
