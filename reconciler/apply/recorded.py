"""What a pass reads first: every inventory record, and the live objects the records name.

Neither needs the desired state: the records say which kinds and namespaces the
releases used last time. So a caller can start reading them while it renders, and
the pass then finds its listings made (for a pass with nothing new, all of them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from reconciler.apply.inventory import (
    INVENTORY_LABEL,
    InventoryFormatError,
    InventoryRecord,
    inventory_release,
    record_from_configmap,
)
from reconciler.apply.live import LiveIndex
from reconciler.kube.client import KubeClient
from reconciler.kube.errors import KubeError
from reconciler.objects import stub_object
from reconciler.types import ReleaseKey

LIST_WORKERS = 8
"""Lists sent side by side (one per kind and namespace)."""


@dataclass(frozen=True)
class Recorded:
    records: Mapping[ReleaseKey, InventoryRecord | InventoryFormatError]
    """Every release's record in the cluster, or why it cannot be read."""
    live: LiveIndex
    """Loaded with every kind and namespace the records name."""


def read_recorded(client: KubeClient, *, source: str) -> Recorded:
    """The records, in one list request, and the objects of `source`'s releases, one list
    per kind and namespace. A list refused here (another installation's namespace) is
    left for the pass, which meets it only if a release of its own needs it."""
    records: dict[ReleaseKey, InventoryRecord | InventoryFormatError] = {}
    for configmap in client.list("v1", "ConfigMap", label_selector=f"{INVENTORY_LABEL}=true"):
        key = inventory_release(configmap)
        if key is None:
            continue
        try:
            records[key] = record_from_configmap(configmap)
        except InventoryFormatError as error:
            records[key] = error
    live = LiveIndex(client)
    stubs = [
        stub_object(entry.ref)
        for record in records.values()
        if isinstance(record, InventoryRecord) and record.source == source
        for entry in record.entries
    ]
    # A scope not listed here is listed (or refused) when a release needs it.
    with ThreadPoolExecutor(max_workers=LIST_WORKERS) as pool, suppress(KubeError):
        live.load(stubs, mapper=pool.map)
    return Recorded(records, live)


@contextmanager
def reading_recorded(client: KubeClient, *, source: str) -> Iterator[Callable[[], Recorded]]:
    """Start `read_recorded` in the background; the value is a call that waits for it.

    For `reconcile(recorded=...)`: the reads overlap rendering. Leaving the block waits
    for them to end.
    """
    with ThreadPoolExecutor(max_workers=1) as early:
        yield early.submit(read_recorded, client, source=source).result
