"""What of an object the health rules read: the object without the parts they never look
at, for a store that keeps thousands of objects only to judge their health.

A readiness watch of a pass keeps every Deployment, ReplicaSet and pod of the namespaces
it follows (at N = 5000, 15 000 objects); their pod templates and pod specs were most
of that memory. The rules read metadata, status, and of the spec only scalar settings
(replicas, strategy, suspend, type...), a pod's node and its containers' names: the
view keeps those. `tests/unit/test_health_view.py` judges every health fixture both
ways.
"""

from __future__ import annotations

from reconciler.types import JsonObject, JsonValue

TEMPLATES = ("template", "jobTemplate", "volumeClaimTemplates")
"""Spec fields holding what a workload creates, never read by health."""


def health_view(obj: JsonObject) -> JsonObject:
    """`obj` without managedFields, its spec's templates, and of a pod's spec all but its
    node and its containers' names (a new object: `obj` is left as it was)."""
    view = dict(obj)
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        view["metadata"] = {k: v for k, v in metadata.items() if k != "managedFields"}
    spec = obj.get("spec")
    if isinstance(spec, dict):
        view["spec"] = _pod_spec(spec) if obj.get("kind") == "Pod" else _without_templates(spec)
    return view


def _without_templates(spec: dict[str, JsonValue]) -> JsonObject:
    return {k: v for k, v in spec.items() if k not in TEMPLATES}


def _pod_spec(spec: dict[str, JsonValue]) -> JsonObject:
    kept: JsonObject = {}
    if "nodeName" in spec:
        kept["nodeName"] = spec["nodeName"]
    containers = spec.get("containers")
    if isinstance(containers, list):
        kept["containers"] = [
            {"name": container.get("name")} if isinstance(container, dict) else container
            for container in containers
        ]
    return kept
