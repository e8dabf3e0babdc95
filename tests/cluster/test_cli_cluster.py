"""`harmonia apply`, `diff` and `status` as a user runs them: output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster

HARMONIA = (sys.executable, "-m", "reconciler")


def cli_environment(cluster: LiveCluster, kubeconfig: Path | None = None) -> dict[str, str]:
    """The environment a user's `harmonia` has: the cluster's kubeconfig, helm and kubectl."""
    return {
        **os.environ,
        "KUBECONFIG": str(kubeconfig or cluster.kubeconfig),
        "HARMONIA_HELM": str(cluster.binaries["helm"]),
        "HARMONIA_KUBECTL": str(cluster.binaries["kubectl"]),
    }


def harmonia(
    cluster: LiveCluster, *args: str, kubeconfig: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HARMONIA, *args],
        capture_output=True,
        text=True,
        env=cli_environment(cluster, kubeconfig),
        timeout=600,
        check=False,
    )


def test_apply_diff_and_status_speak_through_output_and_exit_codes(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    settings = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings"},
        "data": {"mode": "fast"},
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "token"},
        "stringData": {"token": "cli-secret-value"},
    }
    bench.release(namespace, "app", chartPath=bench.chart("app", [settings, secret]))
    repo = str(bench.root)

    applied = harmonia(cluster, "apply", repo, "--source-id", bench.source)
    assert applied.returncode == 0, applied.stderr
    assert f"{namespace}/app: Applied" in applied.stderr
    clean = harmonia(cluster, "diff", repo, "--exit-code", "--source-id", bench.source)
    assert (clean.returncode, clean.stdout) == (0, ""), clean.stderr

    bench.chart(
        "app",
        [
            {**settings, "data": {"mode": "slow"}},
            {**secret, "stringData": {"token": "cli-secret-changed"}},
        ],
    )
    changed = harmonia(cluster, "diff", repo, "--exit-code", "--source-id", bench.source)
    assert changed.returncode == 1, changed.stderr
    assert "-  mode: fast\n+  mode: slow" in changed.stdout
    assert "cli-secret" not in changed.stdout + changed.stderr
    as_json = json.loads(
        harmonia(cluster, "diff", repo, "-o", "json", "--source-id", bench.source).stdout
    )
    (release,) = as_json["releases"]
    assert release["changes"]["counts"]["configured"] == 2

    status = harmonia(cluster, "status", "-n", namespace)
    assert status.returncode == 0, status.stderr
    assert "app" in status.stdout and "Ready" in status.stdout
    detail = yaml.safe_load(
        harmonia(cluster, "status", "-r", f"{namespace}/app", "-o", "yaml").stdout
    )
    assert detail["state"] == "Ready"
    assert {r["kind"] for r in detail["resources"]} == {"ConfigMap", "Secret"}
    assert "cli-secret" not in json.dumps(detail)


def nowhere_kubeconfig(folder: Path) -> Path:
    """A kubeconfig whose API server (127.0.0.1:9) never answers."""
    kubeconfig = folder / "nowhere.kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "nowhere",
                "clusters": [{"name": "nowhere", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "nobody", "user": {"token": "x"}}],
                "contexts": [
                    {"name": "nowhere", "context": {"cluster": "nowhere", "user": "nobody"}}
                ],
            }
        )
    )
    return kubeconfig


def test_an_unreachable_cluster_exits_3(cluster: LiveCluster, tmp_path: Path) -> None:
    kubeconfig = nowhere_kubeconfig(tmp_path)
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    for command in ("apply", "diff"):
        result = harmonia(cluster, command, str(bench.root), "--kubeconfig", str(kubeconfig))
        assert result.returncode == 3, (command, result.stderr)
        assert "127.0.0.1:9" in result.stderr
    assert harmonia(cluster, "status", "--kubeconfig", str(kubeconfig)).returncode == 3


def test_apply_and_diff_name_every_release_with_its_outcome_and_why(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    plain = bench.chart(
        "plain", [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}]
    )
    kept = bench.chart(
        "kept", [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}]
    )
    bench.release(namespace, "good", chartPath=plain)
    bench.release(namespace, "gone", chartPath=kept)
    repo = str(bench.root)
    first = harmonia(cluster, "apply", repo, "--source-id", bench.source)
    assert first.returncode == 0, first.stderr

    bench.remove_release(namespace, "gone")
    (bench.root / "charts" / "broken").mkdir()
    (bench.root / "charts" / "broken" / "objects.yaml").write_text("data: [not closed\n")
    bench.release(namespace, "broken", chartPath="charts/broken")
    bench.release(namespace, "dependent", chartPath=plain, dependencies={"broken": "broken"})
    diffed = harmonia(cluster, "diff", repo)
    applied = harmonia(cluster, "apply", repo, "--source-id", bench.source)

    assert applied.returncode == 1, applied.stderr
    lines = applied.stderr.splitlines()
    assert f"{namespace}/gone: Removed" in applied.stderr
    assert f"{namespace}/good: Unchanged" in applied.stderr
    (broken,) = [line for line in lines if line.startswith(f"{namespace}/broken: Failed")]
    assert "objects.yaml" in broken
    (dependent,) = [line for line in lines if line.startswith(f"{namespace}/dependent: Blocked")]
    assert f"{namespace}/broken" in dependent
    assert "4 releases, 2 not applied" in applied.stderr
    assert diffed.returncode == 1, diffed.stderr
    assert f"{namespace}/broken: Failed" in diffed.stderr
    assert f"{namespace}/dependent: Blocked" in diffed.stderr


def _releases_refused_before_the_pass(bench: Workbench, namespace: str) -> dict[str, str]:
    """A repository of releases that are never written, each for its own reason: a
    cluster-scoped object the policy forbids, a chart that does not render, a namespace
    outside `--allowed-namespace {namespace}`, a dependent of the broken one; with the
    outcome the pass gives each, by its key."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": f"{namespace}-reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    }
    plain = bench.chart(
        "plain", [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}]
    )
    bench.release(namespace, "admin", chartPath=bench.chart("admin", [role]))
    (bench.root / "charts" / "broken").mkdir()
    (bench.root / "charts" / "broken" / "objects.yaml").write_text("data: [not closed\n")
    bench.release(namespace, "broken", chartPath="charts/broken")
    bench.release(f"{namespace}-outside", "stray", chartPath=plain)
    bench.release(namespace, "dependent", chartPath=plain, dependencies={"broken": "broken"})
    return {
        f"{namespace}/admin": "Failed",
        f"{namespace}/broken": "Failed",
        f"{namespace}-outside/stray": "Invalid",
        f"{namespace}/dependent": "Blocked",
    }


def _assert_reasons(namespace: str, reasons: dict[str, str]) -> None:
    """Each release refused before the pass is given with why, in its own words."""
    admin, broken = reasons[f"{namespace}/admin"], reasons[f"{namespace}/broken"]
    assert f"ClusterRole/{namespace}-reader: cluster-scoped objects are not allowed" in admin
    assert "objects.yaml" in broken and "invalid YAML" in broken
    stray = reasons[f"{namespace}-outside/stray"]
    assert f"namespace '{namespace}-outside' is not allowed" in stray
    assert f"dependency {namespace}/broken failed to render" in reasons[f"{namespace}/dependent"]


def _named(stderr: str) -> dict[str, str]:
    """What the CLI said of each release on stderr (`ns/name: Outcome: why`), by its key."""
    return dict(line.split(": ", 1) for line in stderr.splitlines() if ": " in line)


def test_apply_and_diff_text_name_each_release_refused_before_the_pass_with_its_reason(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    outcomes = _releases_refused_before_the_pass(bench, namespace)
    policy = ("--allowed-namespace", namespace, "--source-id", bench.source)

    applied = harmonia(cluster, "apply", str(bench.root), *policy)
    diffed = harmonia(cluster, "diff", str(bench.root), *policy)

    for result in (applied, diffed):
        assert result.returncode == 1, result.stderr
        named = _named(result.stderr)
        said = {key: named.get(key, "(not named)").split(": ", 1)[0] for key in outcomes}
        assert said == outcomes, result.stderr
        _assert_reasons(namespace, {key: named[key] for key in outcomes})
    assert "4 releases, 4 not applied" in applied.stderr
    markdown = harmonia(cluster, "diff", str(bench.root), "-o", "markdown", *policy)
    for key, outcome in outcomes.items():
        assert f"<code>{key}</code>: {outcome.lower()}" in markdown.stdout
    assert "cluster-scoped objects are not allowed" in markdown.stdout


def test_apply_and_diff_json_carry_each_release_refused_before_the_pass_with_its_reason(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    outcomes = _releases_refused_before_the_pass(bench, namespace)
    policy = ("--allowed-namespace", namespace, "--source-id", bench.source, "-o", "json")

    for command in ("apply", "diff"):
        result = harmonia(cluster, command, str(bench.root), *policy)
        assert result.returncode == 1, (command, result.stderr)
        body = json.loads(result.stdout)
        assert body["failed"] is True
        releases = {entry["release"]: entry for entry in body["releases"]}
        assert {key: entry["outcome"] for key, entry in releases.items()} == outcomes
        _assert_reasons(namespace, {key: entry["message"] for key, entry in releases.items()})


def test_apply_and_diff_of_one_release_name_the_dependency_that_kept_it_back_with_its_reason(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    _releases_refused_before_the_pass(bench, namespace)
    dependent, broken = f"{namespace}/dependent", f"{namespace}/broken"
    chosen = ("-r", dependent, "--allowed-namespace", namespace, "--source-id", bench.source)

    applied = harmonia(cluster, "apply", str(bench.root), *chosen)
    diffed = harmonia(cluster, "diff", str(bench.root), *chosen)

    for result in (applied, diffed):
        assert result.returncode == 1, result.stderr
        named = _named(result.stderr)
        assert named[dependent].startswith("Blocked: "), result.stderr
        assert named[broken].startswith("Failed: "), result.stderr
        assert "objects.yaml" in named[broken] and "invalid YAML" in named[broken]
        assert f"{namespace}/admin" not in named  # not this release's pass
    assert "2 releases, 2 not applied" in applied.stderr
