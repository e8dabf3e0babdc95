"""Reading a release's health from the cluster, and waiting for it to become Ready.

After apply, before dependents: the objects the inventory names are read live, the
namespace's pods, ReplicaSets and Jobs are listed once per check, and the pure
health rules (`reconciler.health`) decide. Waiting polls until Ready, until a
resource Failed, or until the release's timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from reconciler.apply.inventory import InventoryRecord
from reconciler.health import (
    HealthContext,
    ReleaseHealth,
    ReleaseState,
    not_found,
    release_health,
    resource_health,
)
from reconciler.kube.client import KubeClient
from reconciler.objects import stub_object
from reconciler.types import split_release_key

POLL_INTERVAL = 1.0


def current_health(
    client: KubeClient,
    record: InventoryRecord,
    *,
    paused: bool = False,
    since_change: timedelta = timedelta(0),
    timeout: timedelta = timedelta(minutes=5),
    was_ready: bool = False,
) -> ReleaseHealth:
    """The release's health now, from the live objects its inventory names."""
    namespace, _name = split_release_key(record.release)
    context = HealthContext(
        pods=tuple(client.list("v1", "Pod", namespace=namespace)),
        replica_sets=tuple(client.list("apps/v1", "ReplicaSet", namespace=namespace)),
        jobs=tuple(client.list("batch/v1", "Job", namespace=namespace)),
        paused=paused,
        waited=since_change,
        timeout=timeout,
    )
    states = []
    for entry in record.entries:
        live = client.get(stub_object(entry.ref))
        if live is None:
            states.append(not_found(entry.ref.kind, entry.ref.namespace, entry.ref.name))
        else:
            states.append(resource_health(live, context=context))
    return release_health(
        states, paused=paused, since_change=since_change, timeout=timeout, was_ready=was_ready
    )


def wait_until_ready(
    client: KubeClient,
    record: InventoryRecord,
    *,
    timeout: timedelta,
    paused: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> ReleaseHealth:
    """Poll until the release settles: Ready, Paused, Failed, or its timeout has passed."""
    started = time.monotonic()
    while True:
        waited = timedelta(seconds=time.monotonic() - started)
        health = current_health(client, record, paused=paused, since_change=waited, timeout=timeout)
        if health.state is not ReleaseState.PROGRESSING:
            return health
        sleep(POLL_INTERVAL)
