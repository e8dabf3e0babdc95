"""The order objects are written in: what others depend on first.

Namespaces and CRDs first (CRs need their CRD Established), then cluster-scoped
classes and RBAC, then configuration and Services, then workloads and everything
else, admission webhooks last (a webhook whose service is not up yet would refuse
the rest). Pure; prune and delete use the reverse.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.render.model import KubeObject

NAMESPACES_AND_CRDS = 0
CLASSES_AND_RBAC = 1
CONFIGURATION = 2
WORKLOADS = 3
WEBHOOKS = 4

_STAGE_OF_KIND = {
    "Namespace": NAMESPACES_AND_CRDS,
    "CustomResourceDefinition": NAMESPACES_AND_CRDS,
    "StorageClass": CLASSES_AND_RBAC,
    "PriorityClass": CLASSES_AND_RBAC,
    "IngressClass": CLASSES_AND_RBAC,
    "RuntimeClass": CLASSES_AND_RBAC,
    "ClusterRole": CLASSES_AND_RBAC,
    "ClusterRoleBinding": CLASSES_AND_RBAC,
    "Role": CLASSES_AND_RBAC,
    "RoleBinding": CLASSES_AND_RBAC,
    "ServiceAccount": CLASSES_AND_RBAC,
    "ResourceQuota": CLASSES_AND_RBAC,
    "LimitRange": CLASSES_AND_RBAC,
    "ConfigMap": CONFIGURATION,
    "Secret": CONFIGURATION,
    "Service": CONFIGURATION,
    "PersistentVolume": CONFIGURATION,
    "PersistentVolumeClaim": CONFIGURATION,
    "ValidatingWebhookConfiguration": WEBHOOKS,
    "MutatingWebhookConfiguration": WEBHOOKS,
    "ValidatingAdmissionPolicy": WEBHOOKS,
    "ValidatingAdmissionPolicyBinding": WEBHOOKS,
    "APIService": WEBHOOKS,
}


def stage_of(obj: KubeObject) -> int:
    return _STAGE_OF_KIND.get(str(obj.get("kind")), WORKLOADS)


def staged(objects: Sequence[KubeObject]) -> list[list[KubeObject]]:
    """`objects` grouped by stage, in stage order; render order kept inside a stage."""
    stages: list[list[KubeObject]] = [[] for _ in range(WEBHOOKS + 1)]
    for obj in objects:
        stages[stage_of(obj)].append(obj)
    return [stage for stage in stages if stage]
