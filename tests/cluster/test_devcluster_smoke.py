"""The dev cluster is a real control plane: workloads converge through the real
controllers and scheduler with KWOK as kubelet, volumes bind, CRDs establish,
namespaces finalise, RBAC refuses, and helm renders against the server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from devcluster.pins import KUBERNETES_VERSION
from tests import manifests
from tests.conftest import LiveCluster
from tests.waiting import wait_for

LABELS = {"app": "smoke"}


def _pod_template() -> client.V1PodTemplateSpec:
    return client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(labels=LABELS),
        spec=client.V1PodSpec(
            containers=[client.V1Container(name="app", image="registry.invalid/app:1")]
        ),
    )


def test_deployment_becomes_available_with_pods_on_kwok_nodes(
    cluster: LiveCluster, namespace: str
) -> None:
    api = cluster.api()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(
        namespace,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name="web"),
            spec=client.V1DeploymentSpec(
                replicas=2,
                selector=client.V1LabelSelector(match_labels=LABELS),
                template=_pod_template(),
            ),
        ),
    )
    deployment = wait_for(
        lambda: apps.read_namespaced_deployment_status("web", namespace),
        until=lambda d: (d.status.available_replicas or 0) == 2,
        what="Deployment web to have 2 available replicas",
    )
    conditions = {c.type: c.status for c in deployment.status.conditions}
    assert conditions["Available"] == "True"
    pods = core.list_namespaced_pod(namespace, label_selector="app=smoke").items
    assert len(pods) == 2
    for pod in pods:
        assert pod.status.phase == "Running"
        node = core.read_node(pod.spec.node_name)
        assert node.metadata.annotations.get("kwok.x-k8s.io/node") == "fake"


def test_statefulset_with_claim_template_becomes_ready_and_claims_bind(
    cluster: LiveCluster, namespace: str
) -> None:
    api = cluster.api()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    claim = client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name="data"),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}),
        ),
    )
    template = _pod_template()
    template.spec.containers[0].volume_mounts = [
        client.V1VolumeMount(name="data", mount_path="/data")
    ]
    apps.create_namespaced_stateful_set(
        namespace,
        client.V1StatefulSet(
            metadata=client.V1ObjectMeta(name="db"),
            spec=client.V1StatefulSetSpec(
                replicas=2,
                service_name="db",
                selector=client.V1LabelSelector(match_labels=LABELS),
                template=template,
                volume_claim_templates=[claim],
            ),
        ),
    )
    wait_for(
        lambda: apps.read_namespaced_stateful_set_status("db", namespace).status,
        until=lambda s: (s.ready_replicas or 0) == 2,
        what="StatefulSet db to have 2 ready replicas",
    )
    claims = core.list_namespaced_persistent_volume_claim(namespace).items
    assert sorted(c.metadata.name for c in claims) == ["data-db-0", "data-db-1"]
    assert {c.status.phase for c in claims} == {"Bound"}
    assert {c.spec.storage_class_name for c in claims} == {"standard"}


def test_crd_becomes_established_and_accepts_objects(cluster: LiveCluster, namespace: str) -> None:
    group = f"{namespace}.smoke.harmonia.dev"
    crd = manifests.crd(
        group, "Widget", spec_properties={"size": {"type": "integer", "default": 3}}
    )
    cluster.kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(crd))
    try:
        cluster.kubectl(
            "wait", "--for=condition=Established", f"crd/widgets.{group}", "--timeout=120s"
        )
        custom = client.CustomObjectsApi(cluster.api())
        custom.create_namespaced_custom_object(
            group,
            "v1",
            namespace,
            "widgets",
            {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}},
        )
        widget = custom.get_namespaced_custom_object(group, "v1", namespace, "widgets", "w")
        assert widget["spec"] == {"size": 3}
    finally:
        cluster.kubectl("delete", f"crd/widgets.{group}", "--wait=false")


def test_namespace_deletion_completes(cluster: LiveCluster, namespace: str) -> None:
    core = client.CoreV1Api(cluster.api())
    doomed = f"{namespace}-gone"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=doomed)))
    core.create_namespaced_config_map(
        doomed, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c"), data={"k": "v"})
    )
    core.delete_namespace(doomed)

    def phase() -> str:
        try:
            return str(core.read_namespace(doomed).status.phase)
        except ApiException as error:
            return "Gone" if error.status == 404 else f"error {error.status}"

    wait_for(phase, until=lambda p: p == "Gone", what=f"namespace {doomed} to be deleted")


def test_service_account_without_grants_is_refused_listing_secrets(
    cluster: LiveCluster, namespace: str
) -> None:
    core = client.CoreV1Api(cluster.api())
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="nobody"))
    )
    token = core.create_namespaced_service_account_token(
        "nobody",
        namespace,
        client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600)
        ),
    ).status.token
    admin_config = cluster.api().configuration
    restricted = client.Configuration()
    restricted.host = admin_config.host
    restricted.ssl_ca_cert = admin_config.ssl_ca_cert
    restricted.api_key = {"authorization": f"Bearer {token}"}
    with client.ApiClient(restricted) as as_nobody:
        review = client.AuthenticationV1Api(cluster.api()).create_token_review(
            client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token))
        )
        assert review.status.user.username == f"system:serviceaccount:{namespace}:nobody"
        try:
            client.CoreV1Api(as_nobody).list_namespaced_secret(namespace)
        except ApiException as error:
            assert error.status == 403
            assert 'cannot list resource "secrets"' in json.loads(error.body)["message"]
        else:
            raise AssertionError("a ServiceAccount without grants was allowed to list Secrets")


def test_helm_template_sees_the_server_version(cluster: LiveCluster, tmp_path: Path) -> None:
    chart = tmp_path / "capabilities"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: capabilities\nversion: 0.1.0\n")
    (chart / "templates" / "version.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        "data:\n  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}\n"
        '  hasApps: {{ .Capabilities.APIVersions.Has "apps/v1" | quote }}\n'
    )
    server = client.VersionApi(cluster.api()).get_code().git_version
    rendered = subprocess.run(
        [
            str(cluster.binaries["helm"]),
            "template",
            "probe",
            str(chart),
            "--validate",
            f"--kubeconfig={cluster.kubeconfig}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    config_map = yaml.safe_load(rendered)
    assert config_map["data"] == {"kubeVersion": server, "hasApps": "true"}


def test_kubectl_and_server_report_the_pinned_version(cluster: LiveCluster) -> None:
    reported = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    assert reported["clientVersion"]["gitVersion"] == KUBERNETES_VERSION
    assert reported["serverVersion"]["gitVersion"] == KUBERNETES_VERSION
