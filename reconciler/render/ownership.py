"""Ownership metadata on every rendered object, and the policy's say on where objects may go.

The last step of rendering, after plugins: each object gets the Contracts' labels and
owner annotation (listing, adoption and prune key on them) and its namespace when it is
namespaced and has none; an object the reconciler's policy forbids is refused. Pure.

Release labels (`releaseLabels`) are not put on objects: as in WALM they describe the
release (its inventory record and status), not each object in it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TypeAlias

from reconciler.policy import Policy
from reconciler.render.model import KubeObject, RenderError
from reconciler.types import JsonObject, ReleaseKey, split_release_key

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "harmonia"
RELEASE_NAME_LABEL = "harmonia.dev/release-name"
RELEASE_NAMESPACE_LABEL = "harmonia.dev/release-namespace"
OWNER_ANNOTATION = "harmonia.dev/owner"
INVENTORY_NAME_PREFIX = "harmonia-inventory-"
"""ConfigMaps named so are inventory records, written by Harmonia alone: a chart rendering
one could leave its release's record naming another source (whose passes would then remove
the release, or withhold their own removals for it) or squat a future release's record."""

GroupKind: TypeAlias = tuple[str, str]
"""An API group ("" for the core group) and a kind."""

CLUSTER_SCOPED_KINDS: frozenset[GroupKind] = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("storage.k8s.io", "VolumeAttributesClass"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("node.k8s.io", "RuntimeClass"),
        ("networking.k8s.io", "IngressClass"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("resource.k8s.io", "DeviceClass"),
        ("resource.k8s.io", "ResourceSlice"),
        ("resource.k8s.io", "DeviceTaintRule"),
        ("internal.apiserver.k8s.io", "StorageVersion"),
        ("storagemigration.k8s.io", "StorageVersionMigration"),
    }
)
"""Cluster-scoped kinds of Kubernetes itself; discovery adds those of installed CRDs."""

CLUSTER_SCOPED_REFUSAL = (
    "cluster-scoped objects are not allowed by the reconciler's policy: run the "
    "reconciler with --allow-cluster-scoped (allowClusterScoped: true in its config file), "
    "and harmonia.yaml must not set allowClusterScoped: false"
)
"""Names the flag that allows them: a policy narrowed by harmonia.yaml cannot be told apart
from the reconciler's own here, so both are named."""


def object_label(obj: KubeObject) -> str:
    """`Kind/namespace/name`, or `Kind/name` without a namespace, for messages."""
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    parts = (obj.get("kind"), metadata.get("namespace"), metadata.get("name"))
    return "/".join(str(part) for part in parts if part not in (None, ""))


def group_kind(obj: KubeObject) -> GroupKind:
    """`apps/v1` Deployment -> ("apps", "Deployment"); `v1` Service -> ("", "Service")."""
    api_version = str(obj.get("apiVersion") or "")
    group = api_version.rpartition("/")[0]
    return group, str(obj.get("kind") or "")


def is_cluster_scoped(obj: KubeObject, *, extra: Collection[GroupKind] = ()) -> bool:
    found = group_kind(obj)
    return found in CLUSTER_SCOPED_KINDS or found in extra


def ownership_labels(release: ReleaseKey) -> dict[str, str]:
    namespace, name = split_release_key(release)
    return {
        MANAGED_BY_LABEL: MANAGED_BY,
        RELEASE_NAME_LABEL: name,
        RELEASE_NAMESPACE_LABEL: namespace,
    }


def apply_ownership(
    objects: Sequence[KubeObject],
    *,
    release: ReleaseKey,
    policy: Policy,
    extra_cluster_scoped: Collection[GroupKind] = (),
) -> tuple[KubeObject, ...]:
    """Copies of `objects` with ownership metadata; every refusal is reported at once.

    Only the object and the metadata maps it changes are copied; the rest (the spec) is
    shared with the input, which no step changes in place.

    A namespaced object without a namespace gets the release's. A cluster-scoped object
    loses a namespace it was given (Kubernetes ignores it, and keeping it would show as a
    difference). Refused: a namespace the policy does not allow, a cluster-scoped object
    when the policy forbids those, a Namespace object whose name is not allowed, and a
    ConfigMap named like an inventory record.
    """
    release_namespace, _ = split_release_key(release)
    labels = ownership_labels(release)
    owned: list[KubeObject] = []
    refusals: list[str] = []
    for obj in objects:
        copied = dict(obj)
        metadata = copied["metadata"] = dict(ensure_mapping(copied, "metadata"))
        cluster_scoped = is_cluster_scoped(copied, extra=extra_cluster_scoped)
        if cluster_scoped:
            metadata.pop("namespace", None)
        elif not metadata.get("namespace"):
            metadata["namespace"] = release_namespace
        refusal = _refusal(copied, cluster_scoped=cluster_scoped, policy=policy)
        if refusal:
            refusals.append(f"{object_label(copied)}: {refusal}")
        metadata["labels"] = {**ensure_mapping(metadata, "labels"), **labels}
        annotations = ensure_mapping(metadata, "annotations")
        metadata["annotations"] = {**annotations, OWNER_ANNOTATION: str(release)}
        owned.append(copied)
    if refusals:
        raise RenderError("; ".join(refusals))
    return tuple(owned)


def _refusal(obj: KubeObject, *, cluster_scoped: bool, policy: Policy) -> str | None:
    allowed = ", ".join(policy.allowed_namespaces) or "none"
    metadata = ensure_mapping(obj, "metadata")
    if cluster_scoped and not policy.allow_cluster_scoped:
        return CLUSTER_SCOPED_REFUSAL
    if group_kind(obj) == ("", "ConfigMap") and str(metadata.get("name")).startswith(
        INVENTORY_NAME_PREFIX
    ):
        return (
            f"the name prefix {INVENTORY_NAME_PREFIX} is reserved for Harmonia's inventory records"
        )
    if group_kind(obj) == ("", "Namespace"):
        name = str(metadata.get("name") or "")
        if not policy.allows_namespace(name):
            return f"namespace '{name}' is not allowed (allowed: {allowed})"
    if not cluster_scoped:
        namespace = str(metadata.get("namespace"))
        if not policy.allows_namespace(namespace):
            return f"namespace '{namespace}' is not allowed (allowed: {allowed})"
    return None


def ensure_mapping(parent: JsonObject, key: str) -> JsonObject:
    """`parent[key]`, made an empty mapping first when it is missing or not a mapping."""
    child = parent.get(key)
    if not isinstance(child, dict):
        child = parent[key] = {}
    return child
