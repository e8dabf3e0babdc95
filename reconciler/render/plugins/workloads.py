"""The pod templates plugins change, found the way WALM's plugins found them.

WALM's pod plugins act on Deployments, StatefulSets, DaemonSets and Jobs (their
`spec.template`); CustomHealthProbe on Deployments and StatefulSets only.
"""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.render.model import KubeObject
from reconciler.render.ownership import ensure_mapping
from reconciler.types import JsonObject, JsonValue

POD_WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job"})


def workloads(objects: list[KubeObject], kinds: frozenset[str]) -> Iterator[KubeObject]:
    return (obj for obj in objects if obj.get("kind") in kinds)


def pod_template(workload: KubeObject) -> JsonObject:
    """`spec.template`, made when missing."""
    return ensure_mapping(ensure_mapping(workload, "spec"), "template")


def pod_spec(workload: KubeObject) -> JsonObject:
    return ensure_mapping(pod_template(workload), "spec")


def containers(workload: KubeObject) -> list[JsonObject]:
    found = pod_spec(workload).get("containers")
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


def append_items(parent: JsonObject, key: str, items: list[JsonValue]) -> None:
    """Add `items` at the end of the list at `parent[key]`, made when missing."""
    if not items:
        return
    current = parent.get(key)
    parent[key] = [*(current if isinstance(current, list) else []), *items]


def name_of(obj: KubeObject) -> str:
    metadata = obj.get("metadata")
    return str(metadata.get("name") or "") if isinstance(metadata, dict) else ""
