"""`harmonia sync`: the request is an annotation on the release's inventory record, set
only by those Kubernetes RBAC lets patch it; without a reconciler to act on it, --wait
says so."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from reconciler.apply.sync_request import REQUESTED_AT
from reconciler.types import JsonObject
from tests.cluster.accounts import namespace_kubeconfig
from tests.cluster.test_cli_cluster import harmonia
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster


def config_map(name: str) -> JsonObject:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": "1"}}


def annotations(cluster: LiveCluster, namespace: str, name: str) -> dict[str, str]:
    found = cluster.kubectl(
        "-n", namespace, "get", "cm", f"harmonia-inventory-{name}", "-o", "json"
    )
    metadata = json.loads(found.stdout)["metadata"]
    return dict(metadata.get("annotations") or {})


def applied(cluster: LiveCluster, namespace: str, tmp_path: Path) -> Workbench:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    bench.release(namespace, "web", chartPath=bench.chart("web", [config_map("a")]))
    assert not bench.run().failed
    return bench


def test_sync_sets_the_request_on_the_record_and_wait_says_when_no_reconciler_acts(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    applied(cluster, namespace, tmp_path)

    requested = harmonia(cluster, "sync", f"{namespace}/web")
    assert requested.returncode == 0, requested.stderr
    stamp = annotations(cluster, namespace, "web")[REQUESTED_AT]
    assert datetime.fromisoformat(stamp).tzinfo is not None
    assert requested.stderr == f"{namespace}/web: sync requested at {stamp}\n"

    waited = harmonia(cluster, "sync", f"{namespace}/web", "--wait", "--timeout", "2s")
    assert waited.returncode == 3, waited.stderr
    assert waited.stderr.endswith(
        f"{namespace}/web: no reconciler acted on the request within 2s: is `harmonia run` "
        "running against this cluster?\n"
    )


def test_sync_without_patch_on_the_record_is_refused_with_the_right_it_takes(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    applied(cluster, namespace, tmp_path)
    before = annotations(cluster, namespace, "web")
    viewer = namespace_kubeconfig(cluster, namespace, tmp_path, role="view")

    refused = harmonia(cluster, "sync", f"{namespace}/web", kubeconfig=viewer)

    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    assert refused.stderr.startswith(
        f"Error: release {namespace}/web: not allowed to request a sync ("
    )
    assert refused.stderr.rstrip().endswith(
        f"it takes `patch` on configmaps in namespace {namespace}"
    )
    assert annotations(cluster, namespace, "web") == before


def test_sync_of_a_release_never_applied_or_without_a_name_is_an_error(
    cluster: LiveCluster, namespace: str
) -> None:
    missing = harmonia(cluster, "sync", f"{namespace}/nothing")
    assert missing.returncode == 1
    assert f"release {namespace}/nothing: no inventory record in the cluster" in missing.stderr
    bare = harmonia(cluster, "sync")
    assert bare.returncode == 2
    assert "name releases (NAMESPACE/NAME) or give --all" in bare.stderr
