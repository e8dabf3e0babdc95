"""No spurious diffs: apply then diff shows nothing, for every kind of a broad corpus
and for the examples; a one-field change in Git shows exactly that field."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest

from reconciler.diff.changeset import Action
from reconciler.policy import Policy
from reconciler.reconcile import Outcome, PassReport
from reconciler.types import JsonObject, ReleaseKey
from tests import manifests
from tests.cluster.workbench import EXAMPLES_SOURCE, Workbench
from tests.conftest import LiveCluster

EXAMPLES = Path(__file__).parents[2] / "examples"


def corpus(namespace: str) -> list[JsonObject]:
    group = f"{namespace}.corpus.harmonia.dev"
    labels = {"app": "corpus"}
    pod: JsonObject = {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1"}]},
    }
    job_pod: JsonObject = {
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "job", "image": "registry.invalid/job:1"}],
        }
    }
    return [
        manifests.crd(
            group,
            "Widget",
            spec_properties={
                "size": {"type": "integer", "default": 3},
                "color": {"type": "string", "default": "blue"},
            },
        ),
        {
            "apiVersion": f"{group}/v1",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "spec": {"color": "red"},
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "corpus"}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "corpus"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "corpus"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "corpus"},
            "subjects": [{"kind": "ServiceAccount", "name": "corpus", "namespace": namespace}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "corpus"},
            "data": {"mode": "fast"},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "corpus"},
            "stringData": {"password": "corpus-secret-value"},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "corpus"},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": labels}, "template": pod},
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 1,
                "maxReplicas": 4,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 80},
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db"},
            "spec": {
                "serviceName": "corpus",
                "replicas": 1,
                "selector": {"matchLabels": {"app": "db"}},
                "template": {
                    "metadata": {"labels": {"app": "db"}},
                    "spec": {"containers": [{"name": "db", "image": "registry.invalid/db:1"}]},
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "migrate"},
            "spec": {"backoffLimit": 2, "template": job_pod},
        },
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "nightly"},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": job_pod}}},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "corpus"},
            "spec": {
                "rules": [
                    {
                        "host": "corpus.example.invalid",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {"name": "corpus", "port": {"number": 80}}
                                    },
                                }
                            ]
                        },
                    }
                ]
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "corpus"},
            "spec": {"podSelector": {"matchLabels": labels}, "policyTypes": ["Ingress"]},
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "corpus"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}},
        },
    ]


# (kind, path into the object as written, new value, the JSON pointer the diff must name)
ONE_FIELD_CHANGES = [
    ("CustomResourceDefinition", ("spec", "names", "shortNames"), ["wd"], "/spec/names/shortNames"),
    ("Widget", ("spec", "size"), 5, "/spec/size"),
    ("ServiceAccount", ("automountServiceAccountToken",), False, "/automountServiceAccountToken"),
    ("Role", ("rules", 0, "verbs"), ["get"], "/rules/0/verbs/1"),
    ("RoleBinding", ("metadata", "labels"), {"tier": "x"}, "/metadata/labels/tier"),
    ("ConfigMap", ("data", "mode"), "slow", "/data/mode"),
    ("Secret", ("stringData", "password"), "another-secret-value", "/data/password"),
    ("Service", ("spec", "ports", 0, "targetPort"), 9090, "/spec/ports/0/targetPort"),
    ("Deployment", ("spec", "minReadySeconds"), 5, "/spec/minReadySeconds"),
    ("HorizontalPodAutoscaler", ("spec", "maxReplicas"), 6, "/spec/maxReplicas"),
    ("StatefulSet", ("spec", "replicas"), 2, "/spec/replicas"),
    ("Job", ("spec", "backoffLimit"), 4, "/spec/backoffLimit"),
    ("CronJob", ("spec", "schedule"), "0 4 * * *", "/spec/schedule"),
    ("Ingress", ("spec", "rules", 0, "host"), "other.example.invalid", "/spec/rules/0/host"),
    ("NetworkPolicy", ("spec", "policyTypes"), ["Ingress", "Egress"], "/spec/policyTypes/1"),
    ("PodDisruptionBudget", ("spec", "minAvailable"), 2, "/spec/minAvailable"),
]


def changes_of(report: PassReport, release: ReleaseKey) -> dict[str, Any]:
    entry = report.releases[release]
    assert entry.outcome not in (Outcome.FAILED, Outcome.BLOCKED), entry.message
    assert entry.changes is not None
    return {str(c.ref): c for c in entry.changes.changes if c.is_change}


@pytest.fixture()
def corpus_bench(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> tuple[Workbench, ReleaseKey]:
    bench = Workbench(
        cluster,
        tmp_path / "repo",
        tmp_path / "cache",
        policy=Policy(allowed_namespaces=(namespace,), allow_cluster_scoped=True),
    )
    chart = bench.chart("corpus", corpus(namespace))
    key = bench.release(namespace, "corpus", chartPath=chart)
    applied = bench.run()
    assert applied.releases[key].outcome is Outcome.APPLIED, applied.releases[key].message
    yield bench, key
    with bench.client() as client:
        crd = corpus(namespace)[0]
        client.delete(crd)


def test_apply_then_diff_shows_nothing_for_every_kind(
    corpus_bench: tuple[Workbench, ReleaseKey],
) -> None:
    bench, key = corpus_bench
    assert changes_of(bench.run(dry_run=True), key) == {}
    again = bench.run()  # a second apply writes nothing
    assert again.releases[key].outcome is Outcome.UNCHANGED
    assert changes_of(again, key) == {}


@pytest.mark.parametrize(
    ("kind", "path", "value", "pointer"),
    ONE_FIELD_CHANGES,
    ids=[case[0] for case in ONE_FIELD_CHANGES],
)
def test_a_one_field_change_in_git_shows_exactly_that_field(
    corpus_bench: tuple[Workbench, ReleaseKey],
    namespace: str,
    kind: str,
    path: tuple[Any, ...],
    value: Any,
    pointer: str,
) -> None:
    bench, key = corpus_bench
    objects = copy.deepcopy(corpus(namespace))
    target: Any = next(o for o in objects if o["kind"] == kind)
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    bench.chart("corpus", objects)
    changed = changes_of(bench.run(dry_run=True), key)
    assert len(changed) == 1, sorted(changed)
    (change,) = changed.values()
    assert change.ref.kind == kind
    assert change.action is Action.CONFIGURED
    assert change.changed_paths == (pointer,)
    assert "corpus-secret-value" not in (change.diff_text or "")
    assert "another-secret-value" not in (change.diff_text or "")


def test_every_example_applies_and_then_diffs_clean(cluster: LiveCluster, tmp_path: Path) -> None:
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root)
    bench = Workbench(cluster, root, tmp_path / "cache", source=EXAMPLES_SOURCE)
    first = bench.run()
    assert not first.failed, {k: r.message for k, r in first.releases.items()}
    second = bench.run(dry_run=True)
    for key, report in second.releases.items():
        assert report.changes is not None and not report.changes.has_changes, (key, report.changes)
