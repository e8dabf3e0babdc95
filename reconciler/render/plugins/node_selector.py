"""NodeSelector: node affinity terms and tolerations added to a release's pod templates.

A post-render plugin (WALM's NodeSelector). args: `nodeAffinity` with
`requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms` and
`preferredDuringSchedulingIgnoredDuringExecution` as in Kubernetes, and
`nodeTolerations` (Kubernetes tolerations). Terms and tolerations are appended to those
of Deployments, StatefulSets, DaemonSets and Jobs; as in WALM, an appended required term
is one more alternative (Kubernetes ORs the terms), not a narrowing.
"""

from __future__ import annotations

from reconciler.render.model import KubeObject
from reconciler.render.ownership import ensure_mapping
from reconciler.render.plugins.args import ArgsReader
from reconciler.render.plugins.base import PluginContext, Transform
from reconciler.render.plugins.workloads import (
    POD_WORKLOAD_KINDS,
    append_items,
    pod_spec,
    workloads,
)
from reconciler.types import JsonObject, JsonValue

NAME = "NodeSelector"
REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"
_SET_OPERATORS = ("In", "NotIn")
_EXISTENCE_OPERATORS = ("Exists", "DoesNotExist")
_NUMBER_OPERATORS = ("Gt", "Lt")
_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def build(args: JsonValue) -> Transform:
    reader = ArgsReader()
    fields = reader.fields(args, "args", ("nodeAffinity", "nodeTolerations"))
    affinity = reader.fields(fields.get("nodeAffinity"), "args.nodeAffinity", (REQUIRED, PREFERRED))
    required_where = f"args.nodeAffinity.{REQUIRED}"
    required = reader.fields(affinity.get(REQUIRED), required_where, ("nodeSelectorTerms",))
    terms: list[JsonValue] = [
        _term(reader, item, where)
        for item, where in reader.listed(
            required.get("nodeSelectorTerms"), f"{required_where}.nodeSelectorTerms"
        )
    ]
    preferred: list[JsonValue] = [
        _preferred(reader, item, where)
        for item, where in reader.listed(affinity.get(PREFERRED), f"args.nodeAffinity.{PREFERRED}")
    ]
    tolerations: list[JsonValue] = [
        _toleration(reader, item, where)
        for item, where in reader.listed(fields.get("nodeTolerations"), "args.nodeTolerations")
    ]
    reader.done()

    def select_nodes(objects: list[KubeObject], context: PluginContext) -> list[KubeObject]:
        for workload in workloads(objects, POD_WORKLOAD_KINDS):
            spec = pod_spec(workload)
            append_items(spec, "tolerations", tolerations)
            if not terms and not preferred:
                continue
            node_affinity = ensure_mapping(ensure_mapping(spec, "affinity"), "nodeAffinity")
            append_items(node_affinity, PREFERRED, preferred)
            if terms:
                append_items(ensure_mapping(node_affinity, REQUIRED), "nodeSelectorTerms", terms)
        return objects

    return select_nodes


def _term(reader: ArgsReader, value: JsonValue, where: str) -> JsonObject:
    fields = reader.fields(value, where, ("matchExpressions", "matchFields"))
    term: JsonObject = {}
    for key in ("matchExpressions", "matchFields"):
        requirements: list[JsonValue] = [
            _requirement(reader, item, item_where)
            for item, item_where in reader.listed(fields.get(key), f"{where}.{key}")
        ]
        if requirements:
            term[key] = requirements
    if not term and isinstance(value, dict):
        reader.problem(
            where, "a term needs matchExpressions or matchFields (an empty one matches no node)"
        )
    return term


def _requirement(reader: ArgsReader, value: JsonValue, where: str) -> JsonObject:
    fields = reader.fields(value, where, ("key", "operator", "values"))
    key = reader.string(fields.get("key"), f"{where}.key", required=True)
    operator = reader.string(fields.get("operator"), f"{where}.operator", required=True)
    values = reader.strings(fields.get("values"), f"{where}.values")
    known = (*_SET_OPERATORS, *_EXISTENCE_OPERATORS, *_NUMBER_OPERATORS)
    if operator and operator not in known:
        reader.problem(f"{where}.operator", f"'{operator}' is not one of {', '.join(known)}")
    elif operator in _SET_OPERATORS and not values:
        reader.problem(f"{where}.values", f"{operator} needs at least one value")
    elif operator in _EXISTENCE_OPERATORS and values:
        reader.problem(f"{where}.values", f"{operator} takes no values")
    elif operator in _NUMBER_OPERATORS and (
        len(values) != 1 or not values[0].lstrip("-").isdigit()
    ):
        reader.problem(f"{where}.values", f"{operator} takes exactly one whole number")
    requirement: JsonObject = {"key": key, "operator": operator}
    if values:
        requirement["values"] = list(values)
    return requirement


def _preferred(reader: ArgsReader, value: JsonValue, where: str) -> JsonObject:
    fields = reader.fields(value, where, ("weight", "preference"))
    weight = reader.integer(fields.get("weight"), f"{where}.weight", low=1, high=100)
    if weight is None and "weight" not in fields and isinstance(value, dict):
        reader.problem(f"{where}.weight", "is required (1 to 100)")
    preference = _term(reader, fields.get("preference"), f"{where}.preference")
    if "preference" not in fields and isinstance(value, dict):
        reader.problem(f"{where}.preference", "is required")
    return {"weight": weight or 1, "preference": preference}


def _toleration(reader: ArgsReader, value: JsonValue, where: str) -> JsonObject:
    fields = reader.fields(
        value, where, ("key", "operator", "value", "effect", "tolerationSeconds")
    )
    operator = reader.string(fields.get("operator"), f"{where}.operator") or "Equal"
    toleration: JsonObject = {
        "key": reader.string(fields.get("key"), f"{where}.key"),
        "operator": operator,
        "value": reader.string(fields.get("value"), f"{where}.value"),
        "effect": reader.string(fields.get("effect"), f"{where}.effect"),
    }
    seconds = reader.integer(
        fields.get("tolerationSeconds"), f"{where}.tolerationSeconds", low=-(2**63), high=2**63 - 1
    )
    if operator not in ("Equal", "Exists"):
        reader.problem(f"{where}.operator", f"'{operator}' is not Equal or Exists")
    if operator == "Exists" and toleration["value"]:
        reader.problem(f"{where}.value", "must be empty when the operator is Exists")
    if not toleration["key"] and operator != "Exists":
        reader.problem(
            f"{where}.key", "an empty key tolerates every taint only with operator Exists"
        )
    if toleration["effect"] and toleration["effect"] not in _EFFECTS:
        reader.problem(
            f"{where}.effect", f"'{toleration['effect']}' is not one of {', '.join(_EFFECTS)}"
        )
    if seconds is not None:
        if toleration["effect"] != "NoExecute":
            reader.problem(f"{where}.tolerationSeconds", "applies only with effect NoExecute")
        toleration["tolerationSeconds"] = seconds
    return {key: item for key, item in toleration.items() if item != ""}
