"""An inventory record no one can read fails its own release, and only that: nothing of
it is applied over, pruned or removed, and the other releases carry on."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.reconcile import Outcome
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster
from tests.faults.convergence import config_maps


def live_value(cluster: LiveCluster, namespace: str, name: str) -> str:
    found = cluster.kubectl("-n", namespace, "get", "cm", name, "-o", "json")
    return str(json.loads(found.stdout)["data"]["v"])


def test_an_unreadable_record_fails_its_release_alone_and_keeps_its_objects(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    bench.release(
        namespace, "good", chartPath=bench.chart("good", config_maps(["good"], value="1"))
    )
    bench.release(namespace, "bad", chartPath=bench.chart("bad", config_maps(["bad"], value="1")))
    assert not bench.run().failed
    cluster.kubectl(
        "-n",
        namespace,
        "patch",
        "cm",
        "harmonia-inventory-bad",
        "--type=merge",
        "-p",
        json.dumps({"data": {"inventory.json": "{not json"}}),
    )
    bench.chart("good", config_maps(["good"], value="2"))
    bench.chart("bad", config_maps(["bad"], value="2"))

    report = bench.run()

    bad = report.releases[f"{namespace}/bad"]  # type: ignore[index]
    assert bad.outcome is Outcome.FAILED, bad
    assert bad.message.startswith(
        f"ConfigMap/{namespace}/harmonia-inventory-bad: not a readable inventory record"
    ), bad.message
    assert report.releases[f"{namespace}/good"].outcome is Outcome.APPLIED  # type: ignore[index]
    assert (live_value(cluster, namespace, "good"), live_value(cluster, namespace, "bad")) == (
        "2",
        "1",
    )

    # Its file gone, the release whose record cannot be read is not removed either.
    bench.remove_release(namespace, "bad")
    after = bench.run()
    assert f"{namespace}/bad" not in after.releases
    assert live_value(cluster, namespace, "bad") == "1"
