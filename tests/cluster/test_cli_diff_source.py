"""`harmonia diff --source-id`: the same repository identity `apply` and `run` record
releases under, so a diff predicts what that apply would do, removals included."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cluster.test_cli_cluster import harmonia
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster


def test_diff_with_the_source_id_of_the_apply_shows_what_that_apply_would_remove(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    for name in ("one", "two", "gone"):
        settings = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
        bench.release(namespace, name, chartPath=bench.chart(name, [settings]))
    repo = str(bench.root)
    applied = harmonia(cluster, "apply", repo, "--source-id", bench.source)
    assert applied.returncode == 0, applied.stderr
    bench.remove_release(namespace, "gone")

    named = harmonia(cluster, "diff", repo, "--source-id", bench.source, "-o", "json")
    unnamed = harmonia(cluster, "diff", repo, "-o", "json")

    assert named.returncode == 0, named.stderr
    releases = {entry["release"]: entry for entry in json.loads(named.stdout)["releases"]}
    assert "would be removed" in releases[f"{namespace}/gone"]["message"]
    assert f"{namespace}/gone" not in unnamed.stdout  # recorded under another identity
    assert cluster.kubectl("get", "configmap", "gone", "-n", namespace).returncode == 0


def test_diff_between_revisions_refuses_a_source_id_as_a_usage_error(
    cluster: LiveCluster, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    result = harmonia(cluster, "diff", str(bench.root), "--base", "HEAD", "--source-id", "x")
    assert result.returncode == 2
    assert "--source-id names releases in the cluster: not with --base" in result.stderr
