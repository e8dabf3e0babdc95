"""Removed API versions in old charts: converted where mechanical (with a warning naming the
object), refused where not, and left alone while the cluster still serves them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from reconciler.render.manifests.api_versions import ApiConversion, convert_removed_api_versions
from reconciler.render.model import KubeObject, RenderError

CURRENT = ("v1", "apps/v1", "batch/v1", "networking.k8s.io/v1", "policy/v1")
LABELS = {"app": "zk", "release": "zk"}
TEMPLATE = {"metadata": {"labels": LABELS}, "spec": {"containers": [{"name": "zk"}]}}


def convert(
    *objects: KubeObject, kube_version: str = "v1.36.3", api_versions: Any = CURRENT
) -> ApiConversion:
    return convert_removed_api_versions(
        objects, kube_version=kube_version, api_versions=api_versions
    )


def obj(
    api_version: str, kind: str, spec: Any = None, name: str = "zk", **extra: Any
) -> KubeObject:
    found: KubeObject = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": "streaming"},
        **extra,
    }
    if spec is not None:
        found["spec"] = spec
    return found


def converted_one(source: KubeObject) -> tuple[KubeObject, str]:
    result = convert(source)
    (converted,) = result.objects
    (warning,) = result.warnings
    return converted, warning


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            obj(
                "extensions/v1beta1",
                "Deployment",
                {"replicas": 3, "rollbackTo": {"revision": 2}, "template": TEMPLATE},
            ),
            obj(
                "apps/v1",
                "Deployment",
                {"replicas": 3, "template": TEMPLATE, "selector": {"matchLabels": LABELS}},
            ),
            id="extensions Deployment: selector from the template, rollbackTo dropped",
        ),
        pytest.param(
            obj("apps/v1beta1", "Deployment", {"template": TEMPLATE}),
            obj(
                "apps/v1", "Deployment", {"template": TEMPLATE, "selector": {"matchLabels": LABELS}}
            ),
            id="apps/v1beta1 Deployment",
        ),
        pytest.param(
            obj("extensions/v1beta1", "DaemonSet", {"templateGeneration": 4, "template": TEMPLATE}),
            obj(
                "apps/v1",
                "DaemonSet",
                {
                    "template": TEMPLATE,
                    "selector": {"matchLabels": LABELS},
                    "updateStrategy": {"type": "OnDelete"},
                },
            ),
            id="extensions DaemonSet keeps its old OnDelete default",
        ),
        pytest.param(
            obj(
                "extensions/v1beta1",
                "DaemonSet",
                {"template": TEMPLATE, "updateStrategy": {"type": "RollingUpdate"}},
            ),
            obj(
                "apps/v1",
                "DaemonSet",
                {
                    "template": TEMPLATE,
                    "selector": {"matchLabels": LABELS},
                    "updateStrategy": {"type": "RollingUpdate"},
                },
            ),
            id="an explicit update strategy is kept",
        ),
        pytest.param(
            obj(
                "extensions/v1beta1",
                "ReplicaSet",
                {"selector": {"matchLabels": {"app": "zk"}}, "template": TEMPLATE},
            ),
            obj(
                "apps/v1",
                "ReplicaSet",
                {"selector": {"matchLabels": {"app": "zk"}}, "template": TEMPLATE},
            ),
            id="a given selector is kept",
        ),
        pytest.param(
            obj("apps/v1beta1", "StatefulSet", {"serviceName": "zk-hl", "template": TEMPLATE}),
            obj(
                "apps/v1",
                "StatefulSet",
                {
                    "serviceName": "zk-hl",
                    "template": TEMPLATE,
                    "selector": {"matchLabels": LABELS},
                    "updateStrategy": {"type": "OnDelete"},
                },
            ),
            id="apps/v1beta1 StatefulSet keeps its old OnDelete default",
        ),
        pytest.param(
            obj(
                "apps/v1beta2",
                "StatefulSet",
                {"selector": {"matchLabels": LABELS}, "template": TEMPLATE},
            ),
            obj(
                "apps/v1",
                "StatefulSet",
                {"selector": {"matchLabels": LABELS}, "template": TEMPLATE},
            ),
            id="apps/v1beta2 StatefulSet already defaulted to RollingUpdate",
        ),
        pytest.param(
            obj(
                "extensions/v1beta1",
                "NetworkPolicy",
                {"podSelector": {}, "policyTypes": ["Ingress"]},
            ),
            obj(
                "networking.k8s.io/v1",
                "NetworkPolicy",
                {"podSelector": {}, "policyTypes": ["Ingress"]},
            ),
            id="NetworkPolicy",
        ),
        pytest.param(
            obj(
                "policy/v1beta1",
                "PodDisruptionBudget",
                {"maxUnavailable": 1, "selector": {"matchLabels": LABELS}},
            ),
            obj(
                "policy/v1",
                "PodDisruptionBudget",
                {"maxUnavailable": 1, "selector": {"matchLabels": LABELS}},
            ),
            id="PodDisruptionBudget with a selector",
        ),
        pytest.param(
            obj("batch/v1beta1", "CronJob", {"schedule": "@daily", "jobTemplate": {"spec": {}}}),
            obj("batch/v1", "CronJob", {"schedule": "@daily", "jobTemplate": {"spec": {}}}),
            id="CronJob",
        ),
        pytest.param(
            obj(
                "rbac.authorization.k8s.io/v1beta1",
                "RoleBinding",
                roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
                subjects=[{"kind": "ServiceAccount", "name": "zk"}],
            ),
            obj(
                "rbac.authorization.k8s.io/v1",
                "RoleBinding",
                roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
                subjects=[{"kind": "ServiceAccount", "name": "zk"}],
            ),
            id="RBAC v1beta1",
        ),
        pytest.param(
            obj(
                "rbac.authorization.k8s.io/v1alpha1",
                "ClusterRoleBinding",
                roleRef={
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "r",
                },
                subjects=[
                    {
                        "kind": "User",
                        "name": "ann",
                        "apiVersion": "rbac.authorization.k8s.io/v1alpha1",
                    },
                    {
                        "kind": "Group",
                        "name": "ops",
                        "apiVersion": "rbac.authorization.k8s.io/v1alpha1",
                    },
                    {
                        "kind": "ServiceAccount",
                        "name": "zk",
                        "namespace": "streaming",
                        "apiVersion": "v1",
                    },
                ],
            ),
            obj(
                "rbac.authorization.k8s.io/v1",
                "ClusterRoleBinding",
                roleRef={
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "r",
                },
                subjects=[
                    {"kind": "User", "name": "ann", "apiGroup": "rbac.authorization.k8s.io"},
                    {"kind": "Group", "name": "ops", "apiGroup": "rbac.authorization.k8s.io"},
                    {
                        "kind": "ServiceAccount",
                        "name": "zk",
                        "namespace": "streaming",
                        "apiGroup": "",
                    },
                ],
            ),
            id="RBAC v1alpha1 subjects name an apiGroup",
        ),
        pytest.param(
            obj(
                "extensions/v1beta1",
                "Ingress",
                {
                    "backend": {"serviceName": "web", "servicePort": 80},
                    "rules": [
                        {
                            "host": "zk.example",
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "backend": {"serviceName": "web", "servicePort": "http"},
                                    },
                                    {
                                        "path": "/api",
                                        "pathType": "Prefix",
                                        "backend": {"serviceName": "api", "servicePort": 8080},
                                    },
                                ]
                            },
                        }
                    ],
                    "tls": [{"hosts": ["zk.example"], "secretName": "tls"}],
                },
            ),
            obj(
                "networking.k8s.io/v1",
                "Ingress",
                {
                    "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}},
                    "rules": [
                        {
                            "host": "zk.example",
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "backend": {
                                            "service": {"name": "web", "port": {"name": "http"}}
                                        },
                                        "pathType": "ImplementationSpecific",
                                    },
                                    {
                                        "path": "/api",
                                        "pathType": "Prefix",
                                        "backend": {
                                            "service": {"name": "api", "port": {"number": 8080}}
                                        },
                                    },
                                ]
                            },
                        }
                    ],
                    "tls": [{"hosts": ["zk.example"], "secretName": "tls"}],
                },
            ),
            id="extensions Ingress",
        ),
        pytest.param(
            obj(
                "networking.k8s.io/v1beta1",
                "Ingress",
                {
                    "ingressClassName": "nginx",
                    "backend": {
                        "resource": {"apiGroup": "k8s.example", "kind": "Bucket", "name": "b"}
                    },
                },
            ),
            obj(
                "networking.k8s.io/v1",
                "Ingress",
                {
                    "ingressClassName": "nginx",
                    "defaultBackend": {
                        "resource": {"apiGroup": "k8s.example", "kind": "Bucket", "name": "b"}
                    },
                },
            ),
            id="networking v1beta1 Ingress with a resource backend",
        ),
    ],
)
def test_a_removed_version_is_converted_with_a_warning_naming_the_object(
    source: KubeObject, expected: KubeObject
) -> None:
    before = copy.deepcopy(source)
    converted, warning = converted_one(source)
    assert converted == expected
    assert warning == (
        f"{source['kind']}/streaming/zk: {source['apiVersion']} is no longer served; "
        f"converted to {expected['apiVersion']}"
    )
    assert source == before, "the rendered object itself is never changed"


def test_the_warning_reads_as_the_issue_asks() -> None:
    _, warning = converted_one(obj("extensions/v1beta1", "Deployment", {"template": TEMPLATE}))
    assert (
        warning
        == "Deployment/streaming/zk: extensions/v1beta1 is no longer served; converted to apps/v1"
    )


def test_current_objects_pass_through_untouched() -> None:
    current = obj(
        "apps/v1", "Deployment", {"selector": {"matchLabels": LABELS}, "template": TEMPLATE}
    )
    other = obj("example.com/v1beta1", "Widget", {"a": 1})
    result = convert(current, other)
    assert result.objects == (current, other)
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param(
            obj(
                "apiextensions.k8s.io/v1beta1",
                "CustomResourceDefinition",
                {"group": "x.io"},
                name="widgets.x.io",
            ),
            "CustomResourceDefinition/streaming/widgets.x.io: apiextensions.k8s.io/v1beta1 is no "
            "longer served; apiextensions.k8s.io/v1 needs a structural schema for every version",
            id="CRD",
        ),
        pytest.param(
            obj("policy/v1beta1", "PodSecurityPolicy", {"privileged": False}),
            "PodSecurityPolicy/streaming/zk: policy/v1beta1 is no longer served; "
            "PodSecurityPolicy was removed without a replacement",
            id="PodSecurityPolicy",
        ),
        pytest.param(
            obj("extensions/v1beta1", "PodSecurityPolicy", {"privileged": False}),
            "PodSecurityPolicy was removed without a replacement",
            id="extensions PodSecurityPolicy",
        ),
        pytest.param(
            obj("extensions/v1beta1", "Deployment", {"template": {"spec": {}}}),
            "Deployment/streaming/zk: extensions/v1beta1 is no longer served and cannot be "
            "converted to apps/v1 mechanically: it has no spec.selector and no pod template "
            "labels to make one from",
            id="workload without labels",
        ),
        pytest.param(
            obj("policy/v1beta1", "PodDisruptionBudget", {"maxUnavailable": 1, "selector": {}}),
            "its selector is empty, which matched no pods in policy/v1beta1 and matches every "
            "pod of the namespace in policy/v1",
            id="PodDisruptionBudget with an empty selector",
        ),
        pytest.param(
            obj("extensions/v1beta1", "Ingress", {"backend": {"serviceName": "web"}}),
            "spec.backend has no servicePort",
            id="Ingress backend without a port",
        ),
        pytest.param(
            obj(
                "extensions/v1beta1",
                "Ingress",
                {"rules": [{"http": {"paths": [{"path": "/", "backend": {"servicePort": 80}}]}}]},
            ),
            "spec.rules[0].http.paths[0].backend names no service",
            id="Ingress path without a service",
        ),
    ],
)
def test_what_cannot_be_converted_mechanically_is_refused_naming_the_object(
    source: KubeObject, message: str
) -> None:
    with pytest.raises(RenderError) as caught:
        convert(source)
    assert message in str(caught.value)


def test_every_refusal_is_reported_at_once() -> None:
    with pytest.raises(RenderError) as caught:
        convert(
            obj("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", name="a.x.io"),
            obj("policy/v1beta1", "PodSecurityPolicy", name="restricted"),
        )
    assert "CustomResourceDefinition/streaming/a.x.io" in str(caught.value)
    assert "PodSecurityPolicy/streaming/restricted" in str(caught.value)


OLD_DEPLOYMENT = obj("extensions/v1beta1", "Deployment", {"template": TEMPLATE})


@pytest.mark.parametrize(
    ("kube_version", "api_versions"),
    [
        ("v1.15.12", (*CURRENT, "extensions/v1beta1")),
        ("v1.36.3", (*CURRENT, "extensions/v1beta1/Deployment")),
        ("not-a-version", (*CURRENT, "extensions/v1beta1")),
    ],
    ids=["an older cluster", "named with its kind", "unknown Kubernetes version"],
)
def test_a_version_the_cluster_still_serves_is_left_alone(
    kube_version: str, api_versions: tuple[str, ...]
) -> None:
    result = convert(OLD_DEPLOYMENT, kube_version=kube_version, api_versions=api_versions)
    assert result.objects == (OLD_DEPLOYMENT,)
    assert result.warnings == ()


def test_a_group_version_that_outlived_a_kind_does_not_serve_that_kind() -> None:
    # extensions/v1beta1 was served up to 1.21 for Ingress only: Deployments left it in 1.16.
    result = convert(
        OLD_DEPLOYMENT, kube_version="v1.20.0", api_versions=(*CURRENT, "extensions/v1beta1")
    )
    assert result.objects[0]["apiVersion"] == "apps/v1"
    ingress = obj(
        "extensions/v1beta1", "Ingress", {"backend": {"serviceName": "w", "servicePort": 80}}
    )
    kept = convert(ingress, kube_version="v1.20.0", api_versions=(*CURRENT, "extensions/v1beta1"))
    assert kept.objects == (ingress,)
