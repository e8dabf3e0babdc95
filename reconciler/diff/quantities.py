"""Resource quantities written as the API server stores them, before two objects are compared.

Part of normalising (normalize.py): the server keeps `memory: 0.125Gi` as `128Mi`, so a
pull-request diff of two rendered revisions must not call that a change, and a live diff
sees the same strings the server returns. Only fields of built-in kinds that the server
reads as quantities are touched (a custom resource's strings stay as written); a value
that is no quantity stays too, for the API server to reject. Pure.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from reconciler.quantity import NotAQuantity, canonical_quantity
from reconciler.render.model import KubeObject
from reconciler.types import JsonValue

FieldPath = tuple[str, ...]
"""Field names from the object's root; `*` is every item of a list or map."""

_RESOURCE_LISTS: tuple[FieldPath, ...] = (("limits", "*"), ("requests", "*"))
_CONTAINER_FIELDS: tuple[tuple[FieldPath, bool], ...] = (
    *((("resources", *path), True) for path in _RESOURCE_LISTS),
    (("env", "*", "valueFrom", "resourceFieldRef", "divisor"), False),
)
_DOWNWARD_ITEMS: FieldPath = ("items", "*", "resourceFieldRef", "divisor")
_POD_SPEC_FIELDS: tuple[tuple[FieldPath, bool], ...] = (
    *(
        ((containers, "*", *path), in_list)
        for containers in ("containers", "initContainers", "ephemeralContainers")
        for path, in_list in _CONTAINER_FIELDS
    ),
    *((("resources", *path), True) for path in _RESOURCE_LISTS),
    (("overhead", "*"), True),
    (("volumes", "*", "emptyDir", "sizeLimit"), False),
    *(
        (("volumes", "*", "ephemeral", "volumeClaimTemplate", "spec", "resources", *path), True)
        for path in _RESOURCE_LISTS
    ),
    (("volumes", "*", "downwardAPI", *_DOWNWARD_ITEMS), False),
    (("volumes", "*", "projected", "sources", "*", "downwardAPI", *_DOWNWARD_ITEMS), False),
)
_CLAIM_SPEC_FIELDS: tuple[tuple[FieldPath, bool], ...] = tuple(
    (("resources", *path), True) for path in _RESOURCE_LISTS
)


def _under(
    prefix: FieldPath, fields: tuple[tuple[FieldPath, bool], ...]
) -> tuple[tuple[FieldPath, bool], ...]:
    return tuple(((*prefix, *path), in_list) for path, in_list in fields)


_TEMPLATE = ("spec", "template", "spec")
QUANTITY_FIELDS: Mapping[tuple[str, str], tuple[tuple[FieldPath, bool], ...]] = {
    ("", "Pod"): _under(("spec",), _POD_SPEC_FIELDS),
    ("", "PodTemplate"): _under(("template", "spec"), _POD_SPEC_FIELDS),
    ("", "ReplicationController"): _under(_TEMPLATE, _POD_SPEC_FIELDS),
    ("apps", "Deployment"): _under(_TEMPLATE, _POD_SPEC_FIELDS),
    ("apps", "ReplicaSet"): _under(_TEMPLATE, _POD_SPEC_FIELDS),
    ("apps", "DaemonSet"): _under(_TEMPLATE, _POD_SPEC_FIELDS),
    ("apps", "StatefulSet"): (
        *_under(_TEMPLATE, _POD_SPEC_FIELDS),
        *_under(("spec", "volumeClaimTemplates", "*", "spec"), _CLAIM_SPEC_FIELDS),
    ),
    ("batch", "Job"): _under(_TEMPLATE, _POD_SPEC_FIELDS),
    ("batch", "CronJob"): _under(("spec", "jobTemplate", *_TEMPLATE), _POD_SPEC_FIELDS),
    ("", "PersistentVolumeClaim"): _under(("spec",), _CLAIM_SPEC_FIELDS),
    ("", "PersistentVolume"): ((("spec", "capacity", "*"), True),),
    ("", "ResourceQuota"): ((("spec", "hard", "*"), True),),
    ("", "LimitRange"): tuple(
        (("spec", "limits", "*", bound, "*"), True)
        for bound in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio")
    ),
}
"""Where each built-in kind (API group, kind) holds quantities, and whether each is in a
resource list (which the server also rounds up to thousandths)."""


def canonical_quantities(obj: KubeObject) -> None:
    """Rewrite `obj`'s quantities in place as the API server would store them."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return
    group = api_version.rpartition("/")[0]
    for path, in_resource_list in QUANTITY_FIELDS.get((group, kind), ()):
        _rewrite(obj, path, functools.partial(_canonical, in_resource_list=in_resource_list))


def _canonical(value: JsonValue, *, in_resource_list: bool) -> JsonValue:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return value
    try:
        return canonical_quantity(value, in_resource_list=in_resource_list)
    except NotAQuantity:
        return value


def _rewrite(node: JsonValue, path: FieldPath, change: Callable[[JsonValue], JsonValue]) -> None:
    """Replace every value at `path` under `node` by `change(value)`."""
    step, rest = path[0], path[1:]
    if isinstance(node, dict):
        for key in list(node) if step == "*" else [step] if step in node else []:
            if rest:
                _rewrite(node[key], rest, change)
            else:
                node[key] = change(node[key])
    elif isinstance(node, list) and step == "*":
        for index, item in enumerate(node):
            if rest:
                _rewrite(item, rest, change)
            else:
                node[index] = change(item)
