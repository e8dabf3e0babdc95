"""The quantity tables of tests/unit/test_quantity.py are what the API server stores:
each value sent through Harmonia's own client in a server-side-apply dry run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.kube.client import KubeClient
from reconciler.kube.connection import KubeTarget
from reconciler.types import JsonObject, JsonValue
from tests.conftest import LiveCluster
from tests.unit.test_quantity import REJECTED, STORED


def pod(namespace: str, limits: list[JsonValue], sizes: list[JsonValue]) -> JsonObject:
    """A Pod with one container per CPU limit and one emptyDir per size limit."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "quantities", "namespace": namespace},
        "spec": {
            "containers": [
                {
                    "name": f"c{i}",
                    "image": "registry.invalid/q:1",
                    "resources": {"limits": {"cpu": cpu}},
                }
                for i, cpu in enumerate(limits)
            ],
            "volumes": [
                {"name": f"v{i}", "emptyDir": {"sizeLimit": size}} for i, size in enumerate(sizes)
            ],
        },
    }


def test_the_api_server_stores_each_quantity_as_the_table_says(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    written: list[JsonValue] = [value for value, _, _ in STORED]
    with KubeClient.connect(KubeTarget(cluster.kubeconfig), cache_dir=tmp_path) as client:
        stored: Any = client.apply(pod(namespace, written, written), dry_run=True)["spec"]

    # The service account admission adds a volume of its own, after ours.
    single = [volume["emptyDir"]["sizeLimit"] for volume in stored["volumes"][: len(STORED)]]
    listed = [container["resources"]["limits"]["cpu"] for container in stored["containers"]]
    assert single == [value for _, value, _ in STORED]
    assert listed == [value for _, _, value in STORED]


@pytest.mark.parametrize("written", REJECTED)
def test_the_api_server_rejects_what_is_not_a_quantity(
    cluster: LiveCluster, namespace: str, written: str
) -> None:
    body = json.dumps(pod(namespace, [written], []))
    result = cluster.kubectl("create", "--dry-run=server", "-f", "-", stdin=body, check=False)
    assert result.returncode != 0 and "cannot be handled as a Pod" in result.stderr, result.stderr
