"""The dry-run resource estimate of rendered releases (WALM's), with Kubernetes' pod math."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from reconciler.render.model import KubeObject, RenderError
from reconciler.review.estimate import (
    TABLE_HEADER,
    ClaimEstimate,
    PodResources,
    estimate,
    estimate_release,
    parse_quantity,
)
from reconciler.types import JsonObject, JsonValue, ReleaseKey

RELEASE = ReleaseKey("shop/web")


def container(
    name: str,
    requests: JsonObject | None = None,
    limits: JsonObject | None = None,
    **extra: JsonValue,
) -> JsonObject:
    resources: JsonObject = {}
    if requests is not None:
        resources["requests"] = requests
    if limits is not None:
        resources["limits"] = limits
    return {"name": name, "image": f"{name}:1", "resources": resources, **extra}


DEPLOYMENT: KubeObject = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {
        "replicas": 3,
        "template": {
            "spec": {
                "containers": [
                    container(
                        "app",
                        {"cpu": "250m", "memory": "256Mi"},
                        {"cpu": "500m", "memory": "512Mi"},
                    ),
                    container("proxy", {"cpu": "100m", "memory": "64Mi"}, {"cpu": "200m"}),
                ],
                # Larger than the app containers' sum in CPU only.
                "initContainers": [
                    container(
                        "migrate", {"cpu": 1, "memory": "128Mi"}, {"cpu": 1, "memory": "128Mi"}
                    )
                ],
            }
        },
    },
}

STATEFUL_SET: KubeObject = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "db", "namespace": "shop"},
    "spec": {
        "replicas": 2,
        "template": {
            "spec": {
                # Limits only: the requests default to them.
                "containers": [container("db", limits={"cpu": "2", "memory": "4Gi"})],
                "initContainers": [
                    container(
                        "log-shipper",
                        {"cpu": "100m", "memory": "100Mi"},
                        restartPolicy="Always",
                    ),
                    container("prepare", {"cpu": "2500m", "memory": "1Gi"}),
                ],
            }
        },
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "data"},
                "spec": {
                    "storageClassName": "fast",
                    "resources": {"requests": {"storage": "10Gi"}},
                },
            },
            {
                "metadata": {"name": "logs"},
                "spec": {"resources": {"requests": {"storage": "500Mi"}}},
            },
        ],
    },
}

CLAIM: KubeObject = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {
        "name": "shared",
        "annotations": {"volume.beta.kubernetes.io/storage-class": "slow"},
    },
    "spec": {"resources": {"requests": {"storage": "1Gi"}}},
}

SERVICE: KubeObject = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}


def test_a_deployment_counts_an_init_container_only_where_it_is_larger() -> None:
    (web,) = estimate_release(RELEASE, [DEPLOYMENT]).workloads
    assert (web.kind, web.namespace, web.name, web.pods, web.per_node) == (
        "Deployment",
        "shop",
        "web",
        3,
        False,
    )
    assert web.requests == PodResources(cpu_cores=1.0, memory_mib=320.0)
    assert web.limits == PodResources(cpu_cores=1.0, memory_mib=512.0)
    assert web.claims == ()


def test_a_stateful_set_adds_sidecars_and_claims_one_volume_per_template_per_pod() -> None:
    (db,) = estimate_release(RELEASE, [STATEFUL_SET]).workloads
    assert db.pods == 2
    assert db.requests == PodResources(cpu_cores=2.6, memory_mib=4196.0)
    assert db.limits == PodResources(cpu_cores=2.0, memory_mib=4096.0)
    assert db.claims == (
        ClaimEstimate("data", 10.0, "fast"),
        ClaimEstimate("logs", 0.489, None),
    )


def test_a_release_totals_its_workloads_times_their_pods_and_its_own_claims() -> None:
    release = estimate_release(RELEASE, [DEPLOYMENT, STATEFUL_SET, CLAIM, SERVICE])
    assert release.claims == (ClaimEstimate("shared", 1.0, "slow"),)
    totals = release.totals
    assert totals.requests == PodResources(cpu_cores=8.2, memory_mib=9352.0)
    assert totals.limits == PodResources(cpu_cores=7.0, memory_mib=9728.0)
    assert totals.storage_gib == 21.978


def test_the_estimate_of_several_releases_adds_them_up_in_release_order() -> None:
    result = estimate({ReleaseKey("shop/web"): [DEPLOYMENT], ReleaseKey("data/db"): [STATEFUL_SET]})
    assert [release.release for release in result.releases] == ["data/db", "shop/web"]
    assert result.totals.requests == PodResources(cpu_cores=8.2, memory_mib=9352.0)
    assert result.totals.storage_gib == 20.978


def test_the_estimate_as_json_is_plain_and_stable() -> None:
    result = estimate({RELEASE: [DEPLOYMENT, STATEFUL_SET, CLAIM]})
    document = result.to_json()
    assert json.dumps(document, sort_keys=True) == json.dumps(
        estimate({RELEASE: [DEPLOYMENT, STATEFUL_SET, CLAIM]}).to_json(), sort_keys=True
    )
    releases = document["releases"]
    assert isinstance(releases, list) and isinstance(releases[0], dict)
    workloads = releases[0]["workloads"]
    assert isinstance(workloads, list)
    assert workloads[1] == {
        "kind": "StatefulSet",
        "namespace": "shop",
        "name": "db",
        "pods": 2,
        "perNode": False,
        "requests": {"cpuCores": 2.6, "memoryMiB": 4196.0},
        "limits": {"cpuCores": 2.0, "memoryMiB": 4096.0},
        "claims": [
            {"name": "data", "sizeGiB": 10.0, "storageClass": "fast"},
            {"name": "logs", "sizeGiB": 0.489, "storageClass": None},
        ],
    }
    assert document["totals"] == {
        "requests": {"cpuCores": 8.2, "memoryMiB": 9352.0},
        "limits": {"cpuCores": 7.0, "memoryMiB": 9728.0},
        "storageGiB": 21.978,
    }


def test_the_estimate_as_a_table_has_a_row_per_workload_claim_release_and_total() -> None:
    rows = estimate({RELEASE: [DEPLOYMENT, STATEFUL_SET, CLAIM]}).table_rows()
    assert all(len(row) == len(TABLE_HEADER) for row in rows)
    assert rows == [
        ("shop/web", "Deployment", "web", "3", "1", "1", "320", "512", ""),
        (
            "shop/web",
            "StatefulSet",
            "db",
            "2",
            "2.6",
            "2",
            "4196",
            "4096",
            "data 10 (fast), logs 0.489 (default class)",
        ),
        ("shop/web", "PersistentVolumeClaim", "shared", "", "", "", "", "", "shared 1 (slow)"),
        ("shop/web", "release total", "", "", "8.2", "7", "9352", "9728", "21.978"),
        ("", "total", "", "", "8.2", "7", "9352", "9728", "21.978"),
    ]


def pod_workload(kind: str, spec: JsonObject) -> KubeObject:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": "w"}, "spec": spec}


ONE_CPU_POD: JsonObject = {"containers": [container("c", {"cpu": "1"})]}


@pytest.mark.parametrize(
    ("kind", "spec", "pods", "per_node"),
    [
        ("Deployment", {"template": {"spec": ONE_CPU_POD}}, 1, False),
        ("ReplicaSet", {"replicas": 4, "template": {"spec": ONE_CPU_POD}}, 4, False),
        ("DaemonSet", {"template": {"spec": ONE_CPU_POD}}, 1, True),
        ("Job", {"template": {"spec": ONE_CPU_POD}}, 1, False),
        ("Job", {"parallelism": 5, "template": {"spec": ONE_CPU_POD}}, 5, False),
        ("Job", {"parallelism": 5, "completions": 2, "template": {"spec": ONE_CPU_POD}}, 2, False),
        (
            "CronJob",
            {"jobTemplate": {"spec": {"parallelism": 3, "template": {"spec": ONE_CPU_POD}}}},
            3,
            False,
        ),
        ("Pod", ONE_CPU_POD, 1, False),
    ],
)
def test_each_workload_kind_counts_its_pods(
    kind: str, spec: JsonObject, pods: int, per_node: bool
) -> None:
    (workload,) = estimate_release(RELEASE, [pod_workload(kind, spec)]).workloads
    assert (workload.pods, workload.per_node, workload.requests.cpu_cores) == (pods, per_node, 1.0)


def test_a_daemon_set_is_shown_per_node_in_the_table() -> None:
    daemon_set = pod_workload("DaemonSet", {"template": {"spec": ONE_CPU_POD}})
    rows = estimate({RELEASE: [daemon_set]}).table_rows()
    assert rows[0][3] == "1/node"


def test_pod_level_resources_win_over_the_containers() -> None:
    spec: JsonObject = {**ONE_CPU_POD, "resources": {"requests": {"cpu": "3", "memory": "1Gi"}}}
    (workload,) = estimate_release(RELEASE, [pod_workload("Pod", spec)]).workloads
    assert workload.requests == PodResources(cpu_cores=3.0, memory_mib=1024.0)


def test_ephemeral_volume_claims_count_per_pod() -> None:
    spec: JsonObject = {
        **ONE_CPU_POD,
        "volumes": [
            {
                "name": "scratch",
                "ephemeral": {
                    "volumeClaimTemplate": {"spec": {"resources": {"requests": {"storage": "2Gi"}}}}
                },
            },
            {"name": "config", "configMap": {"name": "c"}},
        ],
    }
    (workload,) = estimate_release(RELEASE, [pod_workload("Pod", spec)]).workloads
    assert workload.claims == (ClaimEstimate("scratch", 2.0, None),)


def test_objects_that_run_no_pods_are_left_out() -> None:
    assert estimate_release(RELEASE, [SERVICE]).workloads == ()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Fraction(1, 2)),
        ("2", Fraction(2)),
        (2, Fraction(2)),
        (0.5, Fraction(1, 2)),
        ("1.5", Fraction(3, 2)),
        ("1Ki", Fraction(1024)),
        ("1Gi", Fraction(2**30)),
        ("1G", Fraction(10**9)),
        ("1e3", Fraction(1000)),
        ("1E", Fraction(10**18)),
        ("100n", Fraction(1, 10**7)),
        (".5", Fraction(1, 2)),
        ("Gi", Fraction(0)),  # the API server reads a bare suffix as zero
    ],
)
def test_kubernetes_quantities_are_read_exactly(text: JsonValue, value: Fraction) -> None:
    assert parse_quantity(text, where="x") == value


@pytest.mark.parametrize("text", ["1x", "", "1.2.3", "one", "1e3Mi", "1e99", True, None, [1]])
def test_a_bad_quantity_is_an_error_naming_where_it_is(text: JsonValue) -> None:
    pod = pod_workload("Pod", {"containers": [container("c", {"cpu": text})]})
    with pytest.raises(RenderError, match=r"^Pod/w: container c: resources\.requests\.cpu: "):
        estimate_release(RELEASE, [pod])


def test_bad_replicas_are_an_error_naming_the_workload() -> None:
    bad = pod_workload("Deployment", {"replicas": "three", "template": {"spec": ONE_CPU_POD}})
    with pytest.raises(RenderError, match=r"Deployment/w: spec\.replicas must be a whole number"):
        estimate_release(RELEASE, [bad])


def test_a_bad_claim_size_is_an_error_naming_the_claim() -> None:
    claim: KubeObject = {
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "c", "namespace": "shop"},
        "spec": {"resources": {"requests": {"storage": "lots"}}},
    }
    with pytest.raises(RenderError, match="PersistentVolumeClaim/shop/c: storage: 'lots'"):
        estimate_release(RELEASE, [claim])
