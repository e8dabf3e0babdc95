"""Two environments of one repository reconciled into the dev cluster by the real CLI.

staging and prod share the release files; each runs in its own namespace (the other's
release is `absent: true` in its overlays) with values from its own overlay. Each
`harmonia run --once --environment` applies its own values and commits its status under
`status/<environment>/`; a pass of one never removes the other's releases; an overlay
change shows in its environment's diff only, and `harmonia apply` of that environment
applies it there alone. Overlays making every release of prod absent, or prod dropped
from harmonia.yaml, remove nothing there.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests import manifests
from tests.cluster.test_run_loop import HARMONIA, environment, remote_git, run_once
from tests.conftest import GitRepos, LiveCluster

TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: {{ .Values.mode | quote }}
  shared: {{ .Values.shared | quote }}
  chart: {{ .Chart.Version | quote }}
"""


def web_charts(*versions: str) -> dict[str, str]:
    """The files of chart `web` at each of `versions` (`charts/web-<version>`), whose
    ConfigMap `settings` says its values' mode and shared, and its own version."""
    files = {}
    for version in versions:
        files[f"charts/web-{version}/Chart.yaml"] = (
            f"apiVersion: v2\nname: web\nversion: {version}.0.0\n"
        )
        files[f"charts/web-{version}/templates/settings.yaml"] = TEMPLATE
    return files


@pytest.fixture()
def second_namespace(cluster: LiveCluster) -> Iterator[str]:
    """prod's namespace (the `namespace` fixture is staging's)."""
    name = f"environments-prod-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false")


def repository_files(staging: str, prod: str, *, prod_mode: str = "prod") -> dict[str, str]:
    config = f"""\
apiVersion: harmonia.dev/v1alpha1
kind: Repository
environments:
  staging: {{allowedNamespaces: [{staging}]}}
  prod: {{allowedNamespaces: [{prod}]}}
"""
    files = {
        "harmonia.yaml": config,
        **web_charts("1"),
        f"environments/staging/{prod}/web.yaml": "absent: true\n",
        f"environments/prod/{staging}/web.yaml": "absent: true\n",
        f"environments/staging/{staging}/web.yaml": "configValues: {mode: staging}\n",
        f"environments/prod/{prod}/web.yaml": f"configValues: {{mode: {prod_mode}}}\n",
    }
    for namespace in (staging, prod):
        release = manifests.release(
            namespace, "web", chartPath="charts/web-1", configValues={"mode": "base", "shared": "s"}
        )
        files[f"releases/{namespace}/web.yaml"] = yaml.safe_dump(release)
    return files


def settings(cluster: LiveCluster, namespace: str) -> dict[str, str]:
    """The data of release web's ConfigMap; empty while it does not exist."""
    found = cluster.kubectl(
        "-n", namespace, "get", "configmap", "settings", "-o", "json", check=False
    )
    if found.returncode != 0:
        return {}
    data: dict[str, str] = json.loads(found.stdout)["data"]
    return data


def status_files(repos: GitRepos) -> list[str]:
    listed = remote_git(repos, "ls-tree", "-r", "--name-only", "harmonia-status")
    return sorted(listed.splitlines())


def harmonia(
    cluster: LiveCluster, cache: Path, *args: str, variables: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HARMONIA, *args],
        capture_output=True,
        text=True,
        env={**environment(cluster, cache), **(variables or {})},
        timeout=300,
        check=False,
    )


def test_each_environment_applies_its_own_values_and_reports_under_its_own_status_folder(
    cluster: LiveCluster,
    namespace: str,
    second_namespace: str,
    git_repos: GitRepos,
    tmp_path: Path,
) -> None:
    staging, prod = namespace, second_namespace
    git_repos.commit_and_push(repository_files(staging, prod), "two environments")
    cache = tmp_path / "cache"

    staged = run_once(cluster, git_repos, cache, "--environment", "staging")
    assert staged.returncode == 0, staged.stderr
    released = harmonia(
        cluster,
        cache,
        "run",
        "--once",
        "--repo",
        str(git_repos.remote),
        "--ref",
        "main",
        "--listen",
        "off",
        variables={"HARMONIA_ENVIRONMENT": "prod"},
    )
    assert released.returncode == 0, released.stderr
    assert settings(cluster, staging) == {"mode": "staging", "shared": "s", "chart": "1.0.0"}
    assert settings(cluster, prod) == {"mode": "prod", "shared": "s", "chart": "1.0.0"}
    assert status_files(git_repos) == [
        "status/prod/README.md",
        f"status/prod/{prod}/web.yaml",
        "status/staging/README.md",
        f"status/staging/{staging}/web.yaml",
    ]
    prod_status = yaml.safe_load(
        remote_git(git_repos, "show", f"harmonia-status:status/prod/{prod}/web.yaml")
    )
    assert prod_status["state"] == "Ready"

    again = run_once(cluster, git_repos, cache, "--environment", "staging")
    assert again.returncode == 0, again.stderr
    assert settings(cluster, prod)["mode"] == "prod", "a staging pass touched prod's release"

    shown = harmonia(cluster, cache, "status", "-o", "json", "--environment", "prod")
    listed = [(entry["namespace"], entry["source"]) for entry in json.loads(shown.stdout)]
    assert listed == [(prod, f"{git_repos.remote}#prod")]
    unknown = run_once(cluster, git_repos, cache, "--environment", "qa", "--no-status")
    assert unknown.returncode == 1, unknown.stderr
    assert "environment 'qa': harmonia.yaml declares staging, prod" in unknown.stderr


def test_an_overlay_change_shows_in_its_environments_diff_and_applies_there_only(
    cluster: LiveCluster, namespace: str, second_namespace: str, tmp_path: Path
) -> None:
    staging, prod = namespace, second_namespace
    root = tmp_path / "repo"
    for relative, text in repository_files(staging, prod).items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    cache = tmp_path / "cache"
    for name in ("staging", "prod"):
        applied = harmonia(cluster, cache, "apply", str(root), "--environment", name)
        assert applied.returncode == 0, applied.stderr

    overlay = root / f"environments/prod/{prod}/web.yaml"
    overlay.write_text("configValues: {mode: prod-2}\n")
    staging_diff = harmonia(
        cluster, cache, "diff", str(root), "--environment", "staging", "--exit-code"
    )
    prod_diff = harmonia(cluster, cache, "diff", str(root), "--environment", "prod", "--exit-code")
    assert (staging_diff.returncode, staging_diff.stdout) == (0, ""), staging_diff.stderr
    assert prod_diff.returncode == 1, prod_diff.stderr
    assert "+  mode: prod-2" in prod_diff.stdout and staging not in prod_diff.stdout

    applied = harmonia(cluster, cache, "apply", str(root), "--environment", "prod")
    assert applied.returncode == 0, applied.stderr
    assert settings(cluster, prod)["mode"] == "prod-2"
    assert settings(cluster, staging)["mode"] == "staging"

    unknown = harmonia(cluster, cache, "apply", str(root), "--environment", "qa")
    assert unknown.returncode == 2
    assert "environment 'qa': harmonia.yaml declares staging, prod" in unknown.stderr
    overlay.write_text("configValues: {mode: prod-2}\ntimeoutSec: soon\n")
    broken = harmonia(cluster, cache, "apply", str(root), "--environment", "prod")
    assert broken.returncode == 1
    assert f"environments/prod/{prod}/web.yaml:2:13: expected an integer" in broken.stderr
    assert settings(cluster, prod)["mode"] == "prod-2", "an invalid release keeps running"
    assert harmonia(cluster, cache, "apply", str(root), "--environment", "staging").returncode == 0


def prod_only_files(prod: str, names: tuple[str, ...], *, environments: str) -> dict[str, str]:
    """Releases `names` in namespace `prod` (each a ConfigMap of its name), with
    harmonia.yaml's `environments`."""
    files = {
        "harmonia.yaml": (
            f"apiVersion: harmonia.dev/v1alpha1\nkind: Repository\nenvironments: {environments}\n"
        ),
        "charts/each/Chart.yaml": "apiVersion: v2\nname: each\nversion: 1.0.0\n",
        "charts/each/templates/cm.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}}\n"
        ),
    }
    for name in names:
        release = manifests.release(prod, name, chartPath="charts/each", configValues={})
        files[f"releases/{name}.yaml"] = yaml.safe_dump(release)
    return files


def test_overlays_making_every_release_absent_or_prod_undeclared_remove_nothing_in_prod(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    names = ("web", "api", "db")
    declared = "{staging: {}, prod: {}}"
    git_repos.commit_and_push(prod_only_files(namespace, names, environments=declared), "prod")
    cache = tmp_path / "cache"
    first = run_once(cluster, git_repos, cache, "--environment", "prod", "--no-status")
    assert first.returncode == 0, first.stderr

    absent = {f"environments/prod/{namespace}/{name}.yaml": "absent: true\n" for name in names}
    git_repos.commit_and_push(absent, "make all of prod absent")
    held = run_once(cluster, git_repos, cache, "--environment", "prod", "--no-status")
    assert "the snapshot lost 3 of 3 releases" in held.stdout + held.stderr
    assert configmaps(cluster, namespace) == [f"configmap/{name}" for name in sorted(names)]

    undeclared = prod_only_files(namespace, names, environments="{staging: {}}")
    git_repos.commit_and_push(
        {"harmonia.yaml": undeclared["harmonia.yaml"]}, "drop prod from harmonia.yaml"
    )
    gone = run_once(cluster, git_repos, cache, "--environment", "prod", "--no-status")
    assert gone.returncode == 1
    assert "environment 'prod': harmonia.yaml declares staging" in gone.stderr
    assert configmaps(cluster, namespace) == [f"configmap/{name}" for name in sorted(names)]


def configmaps(cluster: LiveCluster, namespace: str) -> list[str]:
    listed = cluster.kubectl("-n", namespace, "get", "configmap", "-o", "name").stdout
    ours = ("configmap/kube-root-ca.crt", "configmap/harmonia-")
    return sorted(line for line in listed.splitlines() if not line.startswith(ours))
