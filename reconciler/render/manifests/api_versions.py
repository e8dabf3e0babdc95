"""Objects of API versions the cluster no longer serves, converted where that is mechanical.

The last step of rendering, after ownership. WALM's older charts render
`extensions/v1beta1` Deployments, `apps/v1beta1` StatefulSets and the like; when the
target cluster (the render environment) does not serve such a version, each object is
rewritten to the current version if the conversion is mechanical, with a warning naming
it, and refused with an error naming it if not. Pure.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.render.model import KubeObject, RenderError
from reconciler.render.ownership import object_label
from reconciler.semver import parse_semver


class NotMechanical(Exception):
    """An object of a removed version whose conversion would need a person's judgement."""


Converter = Callable[[KubeObject, str], None]
"""Rewrites a copy of the object (of the given old apiVersion) in place."""


@dataclass(frozen=True)
class Removal:
    """An API version of some kinds that Kubernetes stopped serving in `removed_in`."""

    api_version: str
    kinds: frozenset[str]
    removed_in: tuple[int, int]
    """Kubernetes (major, minor) that no longer serves it."""
    target: str | None
    """The version to convert to; None when there is none to convert to."""
    convert: Converter | None = None
    refusal: str = ""
    """Why it is refused, when `convert` is None."""


@dataclass(frozen=True)
class ApiConversion:
    objects: tuple[KubeObject, ...]
    warnings: tuple[str, ...]


# --- converters -------------------------------------------------------------------------


def _spec(obj: KubeObject) -> dict[str, Any]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    return spec


def _workload(obj: KubeObject, old: str) -> None:
    """To apps/v1: the selector the old versions defaulted from the template's labels,
    fields apps/v1 dropped removed, and the old `OnDelete` update strategy kept explicit
    where it was the old default (apps/v1 defaults to RollingUpdate)."""
    spec = _spec(obj)
    spec.pop("rollbackTo", None)
    spec.pop("templateGeneration", None)
    if not spec.get("selector"):
        template: Any = spec.get("template")
        metadata: Any = template.get("metadata") if isinstance(template, dict) else None
        labels = metadata.get("labels") if isinstance(metadata, dict) else None
        if not isinstance(labels, dict) or not labels:
            raise NotMechanical(
                "it has no spec.selector and no pod template labels to make one from"
            )
        spec["selector"] = {"matchLabels": copy.deepcopy(labels)}
    old_on_delete = (old, obj.get("kind")) in (
        ("extensions/v1beta1", "DaemonSet"),
        ("apps/v1beta1", "StatefulSet"),
    )
    if old_on_delete and not (spec.get("updateStrategy") or {}).get("type"):
        spec["updateStrategy"] = {**(spec.get("updateStrategy") or {}), "type": "OnDelete"}


def _same_schema(_obj: KubeObject, _old: str) -> None:
    """The new version has the old one's fields: only apiVersion changes."""


def _pod_disruption_budget(obj: KubeObject, _old: str) -> None:
    selector: Any = _spec(obj).get("selector")
    if not isinstance(selector, dict) or not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    ):
        raise NotMechanical(
            "its selector is empty, which matched no pods in policy/v1beta1 and matches "
            "every pod of the namespace in policy/v1; give it a selector"
        )


def _role_binding(obj: KubeObject, old: str) -> None:
    """v1alpha1 subjects named an `apiVersion`; v1 names an `apiGroup` (as Kubernetes
    converted them: users and groups are RBAC's, service accounts the core group's)."""
    if old != "rbac.authorization.k8s.io/v1alpha1":
        return
    subjects: Any = obj.get("subjects") or []
    for subject in subjects:
        if not isinstance(subject, dict):
            continue
        api_version = str(subject.pop("apiVersion", "") or "")
        if "apiGroup" in subject:
            continue
        if subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = "rbac.authorization.k8s.io"
        elif subject.get("kind") == "ServiceAccount":
            subject["apiGroup"] = ""
        elif api_version:
            subject["apiGroup"] = api_version.rpartition("/")[0]


def _ingress(obj: KubeObject, _old: str) -> None:
    """`backend` becomes `defaultBackend`, `serviceName`/`servicePort` become
    `service.name`/`service.port.number|name`, and a path without `pathType` gets the
    old versions' behaviour, `ImplementationSpecific`."""
    spec = _spec(obj)
    if "backend" in spec:
        spec["defaultBackend"] = _ingress_backend(spec.pop("backend"), "spec.backend")
    for rule_index, rule in enumerate(spec.get("rules") or []):
        http = rule.get("http") if isinstance(rule, dict) else None
        paths = http.get("paths") if isinstance(http, dict) else None
        for path_index, path in enumerate(paths or []):
            if not isinstance(path, dict):
                continue
            where = f"spec.rules[{rule_index}].http.paths[{path_index}].backend"
            path["backend"] = _ingress_backend(path.get("backend"), where)
            path.setdefault("pathType", "ImplementationSpecific")


def _ingress_backend(backend: Any, where: str) -> dict[str, Any]:
    if not isinstance(backend, dict):
        raise NotMechanical(f"{where} is missing")
    service_name, port = backend.get("serviceName"), backend.get("servicePort")
    resource = backend.get("resource")
    if resource is not None and service_name is None and port is None:
        return {"resource": copy.deepcopy(resource)}
    if resource is not None or not isinstance(service_name, str) or not service_name:
        raise NotMechanical(f"{where} names no service (or both a service and a resource)")
    if isinstance(port, bool) or not isinstance(port, int | str) or port == "":
        raise NotMechanical(f"{where} has no servicePort")
    service_port = {"number": port} if isinstance(port, int) else {"name": port}
    return {"service": {"name": service_name, "port": service_port}}


# --- the table --------------------------------------------------------------------------

_WORKLOADS = frozenset({"Deployment", "DaemonSet", "ReplicaSet", "StatefulSet"})
_RBAC = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
_CRD_REFUSAL = (
    "apiextensions.k8s.io/v1 needs a structural schema for every version, which cannot be "
    "derived mechanically; rewrite it as apiextensions.k8s.io/v1"
)
_PSP_REFUSAL = (
    "PodSecurityPolicy was removed without a replacement; take it out of the chart and use "
    "Pod Security Admission (namespace labels) instead"
)


def _rbac(api_version: str) -> Removal:
    return Removal(api_version, _RBAC, (1, 22), "rbac.authorization.k8s.io/v1", _role_binding)


REMOVALS: tuple[Removal, ...] = (
    Removal(
        "extensions/v1beta1",
        frozenset({"Deployment", "DaemonSet", "ReplicaSet"}),
        (1, 16),
        "apps/v1",
        _workload,
    ),
    Removal(
        "apps/v1beta1", frozenset({"Deployment", "StatefulSet"}), (1, 16), "apps/v1", _workload
    ),
    Removal("apps/v1beta2", _WORKLOADS, (1, 16), "apps/v1", _workload),
    Removal(
        "extensions/v1beta1",
        frozenset({"NetworkPolicy"}),
        (1, 16),
        "networking.k8s.io/v1",
        _same_schema,
    ),
    Removal(
        "extensions/v1beta1", frozenset({"Ingress"}), (1, 22), "networking.k8s.io/v1", _ingress
    ),
    Removal(
        "networking.k8s.io/v1beta1",
        frozenset({"Ingress"}),
        (1, 22),
        "networking.k8s.io/v1",
        _ingress,
    ),
    Removal(
        "policy/v1beta1",
        frozenset({"PodDisruptionBudget"}),
        (1, 25),
        "policy/v1",
        _pod_disruption_budget,
    ),
    Removal("batch/v1beta1", frozenset({"CronJob"}), (1, 25), "batch/v1", _same_schema),
    Removal("batch/v2alpha1", frozenset({"CronJob"}), (1, 21), "batch/v1", _same_schema),
    _rbac("rbac.authorization.k8s.io/v1beta1"),
    _rbac("rbac.authorization.k8s.io/v1alpha1"),
    Removal(
        "apiextensions.k8s.io/v1beta1",
        frozenset({"CustomResourceDefinition"}),
        (1, 22),
        None,
        refusal=_CRD_REFUSAL,
    ),
    Removal(
        "extensions/v1beta1", frozenset({"PodSecurityPolicy"}), (1, 16), None, refusal=_PSP_REFUSAL
    ),
    Removal(
        "policy/v1beta1", frozenset({"PodSecurityPolicy"}), (1, 25), None, refusal=_PSP_REFUSAL
    ),
)


def removal_of(obj: KubeObject) -> Removal | None:
    """The removal that concerns `obj`'s apiVersion and kind, if any."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    return next(
        (item for item in REMOVALS if item.api_version == api_version and kind in item.kinds),
        None,
    )


def is_served(
    removal: Removal, kind: str, *, kube_version: str, api_versions: Collection[str]
) -> bool:
    """Whether the cluster still serves the removed version for `kind`: named with its kind
    (Helm's `group/version/Kind`), or its group/version is served and the cluster is older
    than the removal (a group/version can outlive some of its kinds)."""
    if f"{removal.api_version}/{kind}" in api_versions:
        return True
    if removal.api_version not in api_versions:
        return False
    version = parse_semver(kube_version)
    return version is None or version.numbers[:2] < removal.removed_in


def convert_removed_api_versions(
    objects: Sequence[KubeObject], *, kube_version: str, api_versions: Collection[str]
) -> ApiConversion:
    """The objects with every removed API version the cluster does not serve converted.

    Warnings name each converted object; every object that cannot be converted is
    named in one RenderError. Objects are copied, never changed.
    """
    converted: list[KubeObject] = []
    warnings: list[str] = []
    refusals: list[str] = []
    for obj in objects:
        removal = removal_of(obj)
        kind = str(obj.get("kind"))
        if removal is None or is_served(
            removal, kind, kube_version=kube_version, api_versions=api_versions
        ):
            converted.append(obj)
            continue
        subject = f"{object_label(obj)}: {removal.api_version} is no longer served"
        if removal.convert is None or removal.target is None:
            refusals.append(f"{subject}; {removal.refusal}")
            continue
        copied = copy.deepcopy(obj)
        try:
            removal.convert(copied, removal.api_version)
        except NotMechanical as reason:
            refusals.append(
                f"{subject} and cannot be converted to {removal.target} mechanically: {reason}"
            )
            continue
        copied["apiVersion"] = removal.target
        converted.append(copied)
        warnings.append(f"{subject}; converted to {removal.target}")
    if refusals:
        raise RenderError("; ".join(refusals))
    return ApiConversion(tuple(converted), tuple(warnings))
