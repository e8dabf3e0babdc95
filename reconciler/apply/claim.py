"""One owner per release: the source its inventory record names, until the owner lets go.

Asked before a release is planned: another source declaring the same `namespace/name`
fails there, writing and deleting nothing, so two repositories never take turns
rewriting (and pruning) one release. Pure.
"""

from __future__ import annotations

import shlex

from reconciler.apply.inventory import HAND_OVER_ANNOTATION, InventoryRecord, inventory_name
from reconciler.types import split_release_key


def source_conflict(record: InventoryRecord, *, source: str) -> str | None:
    """Why `source` may not apply the release `record` belongs to, or None when it may.

    It may when it owns the record, when a person handed the release over to it (the
    record's hand-over annotation names it), or when the record names no source (written
    by a version before sources were recorded: the first source to apply it claims it).
    The owner lets go by removing the release's file (its pass removes the release and
    its record) or by that annotation.
    """
    if not record.source or source in (record.source, record.handed_over_to):
        return None
    namespace, _name = split_release_key(record.release)
    return (
        f"Release {record.release} belongs to {record.source}; this source ({source}) "
        "declares it too, so nothing was written or deleted. The owner lets go by removing "
        "its file (its next pass removes the release), or hands it over with: kubectl -n "
        f"{namespace} annotate configmap {inventory_name(record.release)} "
        f"{shlex.quote(f'{HAND_OVER_ANNOTATION}={source}')}"
    )
