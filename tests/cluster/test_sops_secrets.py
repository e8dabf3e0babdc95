"""SOPS-encrypted values, applied to the real dev cluster by `harmonia apply` and `run`.

The keys are made by the real age-keygen, the files encrypted by the real sops. A
release with an encrypted values file and a partly encrypted release file is applied
and Ready, and `harmonia diff` right after shows nothing; the canary plaintexts are then
looked for in every output: the CLI's, the cache folder, the inventory records, the
status branch. A file that cannot be decrypted fails its release alone.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import yaml

from reconciler.apply.inventory import INVENTORY_SELECTOR
from tests.cluster.test_cli_cluster import HARMONIA
from tests.cluster.test_run_loop import STATUS_BRANCH, remote_git, run_once, status_file
from tests.conftest import GitRepos, LiveCluster
from tests.render.test_sops_render import Canaries, repository
from tests.sops_files import age_key


def harmonia(cluster: LiveCluster, *args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "KUBECONFIG": str(cluster.kubeconfig),
        "HARMONIA_HELM": str(cluster.binaries["helm"]),
        "HARMONIA_KUBECTL": str(cluster.binaries["kubectl"]),
        "HARMONIA_CACHE_DIR": str(cache),
    }
    return subprocess.run(
        [*HARMONIA, *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )


def needles(canaries: Canaries) -> dict[str, str]:
    plain = {"token": canaries.token, "password": canaries.password}
    encoded = {f"{k} (base64)": base64.b64encode(v.encode()).decode() for k, v in plain.items()}
    return {**plain, **encoded}


def found_in(text: str, canaries: Canaries) -> list[str]:
    return [what for what, needle in needles(canaries).items() if needle in text]


def files_text(folder: Path) -> str:
    return "\n".join(
        p.read_bytes().decode(errors="replace") for p in folder.rglob("*") if p.is_file()
    )


def secret_data(cluster: LiveCluster, namespace: str, name: str) -> dict[str, str]:
    found = cluster.kubectl("-n", namespace, "get", "secret", name, "-o", "json")
    data = json.loads(found.stdout)["data"]
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


def inventory_records(cluster: LiveCluster, namespace: str) -> str:
    return cluster.kubectl(
        "-n", namespace, "get", "configmaps,secrets", "-l", INVENTORY_SELECTOR, "-o", "json"
    ).stdout


def test_encrypted_values_are_applied_ready_diff_shows_nothing_and_no_output_holds_them(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    key = age_key(tmp_path / "keys")
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries, namespace=namespace)
    source = f"tests:{root}"
    cache = tmp_path / "cache"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return harmonia(
            cluster,
            *args,
            str(root),
            "--source-id",
            source,
            "--sops",
            str(cluster.binaries["sops"]),
            "--sops-age-key-file",
            str(key.identity_file),
            cache=cache,
        )

    applied = run("apply")
    assert applied.returncode == 0, applied.stderr
    assert f"{namespace}/web: Applied" in applied.stderr
    assert secret_data(cluster, namespace, "web-db") == {
        "password": canaries.password,
        "apiToken": canaries.token,
    }
    clean = run("diff", "--exit-code")
    assert (clean.returncode, clean.stdout) == (0, ""), clean.stderr
    as_json = run("diff", "-o", "json")
    status = harmonia(cluster, "status", "-r", f"{namespace}/web", "-o", "yaml", cache=cache)
    assert yaml.safe_load(status.stdout)["state"] == "Ready", status.stdout

    outputs = {
        "apply": applied.stdout + applied.stderr,
        "diff": clean.stdout + clean.stderr,
        "diff json": as_json.stdout + as_json.stderr,
        "status": status.stdout + status.stderr,
        "cache folder": files_text(cache),
        "inventory records": inventory_records(cluster, namespace),
    }
    leaks = {where: found_in(text, canaries) for where, text in outputs.items()}
    assert leaks == {where: [] for where in outputs}


def test_run_reports_a_release_whose_file_cannot_be_decrypted_and_applies_the_others(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    key = age_key(tmp_path / "keys")
    wrong = age_key(tmp_path / "keys", "wrong")
    canaries = Canaries.fresh()
    repository(git_repos.work, key, canaries, namespace=namespace)
    git_repos.commit_and_push({}, "web and other")

    failed = run_once(
        cluster,
        git_repos,
        tmp_path / "cache",
        "--sops",
        str(cluster.binaries["sops"]),
        "--sops-age-key-file",
        str(wrong.identity_file),
    )

    assert failed.returncode == 1, failed.stderr
    web = status_file(git_repos, f"status/{namespace}/web.yaml")
    assert web["state"] == "Failed", web
    message = json.dumps(web)
    assert "valuesFiles values/web.yaml could not be decrypted" in message
    assert key.recipient in message
    assert status_file(git_repos, f"status/{namespace}/other.yaml")["state"] == "Ready"
    absent = cluster.kubectl("-n", namespace, "get", "secret", "web-db", check=False)
    assert absent.returncode != 0, "nothing is applied for the failed release"
    every_status = remote_git(git_repos, "log", "-p", STATUS_BRANCH)
    assert found_in(every_status + failed.stderr, canaries) == []
