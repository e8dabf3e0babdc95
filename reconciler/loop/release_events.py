"""The Kubernetes Events about one release, read live for its detail (`events`).

Those on its inventory ConfigMap (where the loop records what a pass did, `events.py`),
on the objects its inventory names and on their pods: listed once per namespace they
live in, newest first, at most `SHOWN_EVENTS`. Choosing and shaping them is pure
(`release_events`); `read_release_events` lists them and says why when it cannot.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.apply.inventory import inventory_name
from reconciler.kube.client import KubeClient
from reconciler.kube.errors import KubeError
from reconciler.status.live import ReleaseStatus
from reconciler.types import JsonObject, JsonValue, ReleaseKey, split_release_key

SHOWN_EVENTS = 20
MAX_NAMESPACES = 8
"""Namespaces listed for one release's Events: its objects rarely leave its own."""

Involved = tuple[str, str, str]
"""(kind, namespace, name) of an object an Event may be about."""


def involved_objects(key: ReleaseKey, status: ReleaseStatus | None) -> frozenset[Involved]:
    """The release's inventory ConfigMap, its recorded objects and their pods."""
    namespace, _ = split_release_key(key)
    found = {("ConfigMap", namespace, inventory_name(key))}
    if status is not None:
        found.update((e.ref.kind, e.ref.namespace, e.ref.name) for e in status.record.entries)
        for resource in status.health.resources:
            pods = resource.pods or ()
            found.update(("Pod", resource.namespace, pod.name) for pod in pods)
    return frozenset(found)


def release_events(listed: Iterable[JsonObject], involved: frozenset[Involved]) -> list[JsonObject]:
    """The core v1 Events of `listed` about `involved`, newest first, at most
    `SHOWN_EVENTS`, each as the detail shows it (time, type, reason, object, message,
    count)."""
    chosen = [event for event in listed if _about(event) in involved]
    chosen.sort(key=_time, reverse=True)
    return [_shown(event) for event in chosen[:SHOWN_EVENTS]]


def read_release_events(
    client: KubeClient, key: ReleaseKey, status: ReleaseStatus | None
) -> tuple[list[JsonObject], str | None]:
    """The release's Events read now, and None; or none and why they could not be read."""
    involved = involved_objects(key, status)
    namespaces = sorted({namespace for _, namespace, _ in involved if namespace})
    listed: list[JsonObject] = []
    try:
        for namespace in namespaces[:MAX_NAMESPACES]:
            listed.extend(client.list("v1", "Event", namespace=namespace))
    except KubeError as error:
        return [], f"Events of release {key} could not be read: {error}"
    return release_events(listed, involved), None


def _about(event: JsonObject) -> Involved:
    involved = _mapping(event.get("involvedObject"))
    return (
        _text(involved.get("kind")),
        _text(involved.get("namespace")),
        _text(involved.get("name")),
    )


def _time(event: JsonObject) -> str:
    """When it last happened, to the second (RFC 3339 sorts as text)."""
    series = _mapping(event.get("series"))
    metadata = _mapping(event.get("metadata"))
    for stamp in (
        series.get("lastObservedTime"),
        event.get("lastTimestamp"),
        event.get("eventTime"),
        metadata.get("creationTimestamp"),
    ):
        if isinstance(stamp, str) and stamp:
            return stamp[:19] + "Z"
    return ""


def _shown(event: JsonObject) -> JsonObject:
    kind, _, name = _about(event)
    count = event.get("count")
    return {
        "time": _time(event),
        "type": _text(event.get("type")),
        "reason": _text(event.get("reason")),
        "object": f"{kind}/{name}",
        "message": _text(event.get("message")),
        "count": count if isinstance(count, int) and not isinstance(count, bool) else 1,
    }


def _mapping(value: JsonValue) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _text(value: JsonValue) -> str:
    return value if isinstance(value, str) else ""
