"""Object bodies several tests apply: written once so each test shows only what it varies."""

from __future__ import annotations

from reconciler.types import JsonObject

OPEN_SCHEMA: JsonObject = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def crd(
    group: str, kind: str, *, version: str = "v1", spec_properties: JsonObject | None = None
) -> JsonObject:
    """A namespaced CustomResourceDefinition; `spec_properties` gives a structural schema
    (with defaults) for `.spec`, else the schema keeps unknown fields."""
    plural = kind.lower() + "s"
    schema: JsonObject = OPEN_SCHEMA
    if spec_properties is not None:
        schema = {
            "type": "object",
            "properties": {"spec": {"type": "object", "properties": spec_properties}},
        }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }
