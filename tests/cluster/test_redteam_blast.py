"""Red team, blast radius: single objects the API server cannot take (a kind no CRD
defines, a namespace that does not exist, a body over the request size limit, an
apiVersion the server does not serve) each fail their own release; the pass finishes and
the other releases are applied."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

from reconciler.reconcile import Outcome
from reconciler.types import JsonObject
from tests.cluster.test_release_owner import config_map
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster


def test_objects_the_api_server_cannot_take_fail_their_release_alone(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    missing_namespace = f"{namespace}-missing"
    bad: dict[str, JsonObject] = {
        "crdless": {
            "apiVersion": "redteam.example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "spec": {"size": 1},
        },
        "old-api": {
            "apiVersion": "extensions/v1beta1",
            "kind": "Deployment",
            "metadata": {"name": "old"},
        },
        "nowhere": {
            **config_map("nowhere"),
            "metadata": {"name": "x", "namespace": missing_namespace},
        },
        "huge": {**config_map("huge"), "data": {"blob": "x" * (3 * 1024 * 1024 + 1)}},
    }
    keys = {
        name: bench.release(namespace, name, chartPath=bench.chart(name, [obj]))
        for name, obj in bad.items()
    }
    good = bench.release(namespace, "good", chartPath=bench.chart("good", [config_map("g")]))

    report = bench.run()

    assert report.releases[good].outcome is Outcome.APPLIED, report.releases[good]
    for name, key in keys.items():
        failed = report.releases[key]
        assert failed.outcome is Outcome.FAILED, (name, failed)
        assert "Traceback" not in failed.message
        assert failed.message.startswith(EXPECTED[name]), (name, failed.message)
    assert bench.run().releases[good].outcome is Outcome.UNCHANGED


EXPECTED = {
    "crdless": "Widget (redteam.example.com/v1): the cluster serves no such kind",
    "old-api": "Deployment/",
    "nowhere": "ConfigMap/",
    "huge": "ConfigMap/",
}


def test_odd_documents_and_lists_fail_their_release_alone(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    cm = config_map("in-list")
    odd: dict[str, list[object]] = {
        "scalar-item": [{"apiVersion": "v1", "kind": "List", "items": [cm, "text", 3]}],
        "null-items": [{"apiVersion": "v1", "kind": "List", "items": None}],
        "dict-items": [{"apiVersion": "v1", "kind": "RoleList", "items": {"a": cm}}],
        "metadata-list": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": ["x"]}],
        "name-number": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": 7}}],
        "kind-map": [{"apiVersion": "v1", "kind": {"a": 1}, "metadata": {"name": "k"}}],
        "list-document": [[cm]],
        "scalar-document": ["just text"],
        "deep-list": [_nested(120)],
        "labels-list": [{**cm, "metadata": {"name": "l", "labels": ["a"]}}],
        "annotations-null": [{**cm, "metadata": {"name": "n", "annotations": None}}],
    }
    keys = {}
    for name, documents in odd.items():
        folder = bench.root / "charts" / name
        folder.mkdir(parents=True)
        (folder / "objects.yaml").write_text(yaml.safe_dump_all(documents, sort_keys=False))
        keys[name] = bench.release(namespace, name, chartPath=f"charts/{name}")
    big = [{"apiVersion": "v1", "kind": "List", "items": [config_map(f"b{i}") for i in range(300)]}]
    big_key = bench.release(namespace, "big", chartPath=bench.chart("big", big))  # type: ignore[arg-type]
    good = bench.release(namespace, "good", chartPath=bench.chart("good", [config_map("g")]))

    report = bench.run()

    assert report.releases[good].outcome is Outcome.APPLIED, report.releases[good]
    assert report.releases[big_key].outcome is Outcome.APPLIED, report.releases[big_key]
    applied = {"deep-list", "labels-list", "annotations-null"}  # read as kubectl reads them
    for name, key in keys.items():
        found = report.releases[key]
        if name in applied:
            assert found.outcome is Outcome.APPLIED, (name, found)
        else:
            assert found.outcome is Outcome.FAILED, (name, found)
            assert found.message.startswith(f"release {key}: chart {name}: "), found.message


def _nested(depth: int) -> JsonObject:
    inner: JsonObject = config_map("deep")
    for _ in range(depth):
        inner = {"apiVersion": "v1", "kind": "List", "items": [inner]}
    return inner


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A loopback port that accepts connections and never answers (bounded: closed after)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@contextlib.contextmanager
def hanging_webhook(cluster: LiveCluster, namespace: str, port: int) -> Iterator[None]:
    """A validating webhook for ConfigMaps of `namespace` alone that never answers."""
    name = f"redteam-{namespace}"[:63]
    config = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [
            {
                "name": "hang.redteam.example.com",
                "clientConfig": {"url": f"https://127.0.0.1:{port}/validate"},
                "rules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["configmaps"],
                    }
                ],
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                "objectSelector": {"matchLabels": {"redteam": "hang"}},
                "failurePolicy": "Fail",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": 2,
            }
        ],
    }
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(config))
    try:
        yield
    finally:
        cluster.kubectl("delete", "validatingwebhookconfiguration", name, "--wait=false")


def test_a_webhook_that_times_out_fails_its_release_alone(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    hung: JsonObject = {
        **config_map("hung"),
        "metadata": {"name": "hung", "labels": {"redteam": "hang"}},
    }
    slow = bench.release(namespace, "slow", chartPath=bench.chart("slow", [hung]))
    good = bench.release(namespace, "good", chartPath=bench.chart("good", [config_map("g")]))

    with silent_listener() as port, hanging_webhook(cluster, namespace, port):
        time.sleep(1)  # the API server's webhook configuration is read from a watch
        report = bench.run()

    assert report.releases[good].outcome is Outcome.APPLIED, report.releases[good]
    failed = report.releases[slow]
    assert failed.outcome is Outcome.FAILED, failed
    assert failed.message.startswith(f"ConfigMap/{namespace}/hung apply failed: "), failed.message
    assert "failed calling webhook" in failed.message, failed.message
