"""SOPS-encrypted manifests of plain and Kustomize charts, applied to the real dev cluster.

An encrypted Secret in a plain chart and one in a Kustomize chart (namespace, namePrefix
and label transformers) are applied and Ready, `harmonia diff` right after shows
nothing, and the canaries are in no output, cache file or inventory record. A decrypted
value in a ConfigMap is a warning naming the field (in the CLI's output, and under
`run` in the log and the status file), masked in every diff; under `--strict-secrets`
it fails that release alone, before anything of it is applied.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import yaml

from tests.cluster.test_run_loop import STATUS_BRANCH, remote_git, run_once, status_file
from tests.cluster.test_sops_secrets import files_text, harmonia, inventory_records, secret_data
from tests.conftest import GitRepos, LiveCluster
from tests.render.test_sops_manifests import (
    Canaries,
    encrypted_config_map,
    repository,
)
from tests.sops_files import AgeKey, age_key


def needles(canaries: Canaries) -> list[str]:
    texts = [canaries.password, canaries.token]
    return [*texts, *(base64.b64encode(text.encode()).decode() for text in texts)]


def leaks(outputs: dict[str, str], canaries: Canaries) -> dict[str, list[str]]:
    return {
        where: [needle for needle in needles(canaries) if needle in text]
        for where, text in outputs.items()
    }


def harmonia_with_key(
    cluster: LiveCluster, root: Path, key: AgeKey, cache: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    return harmonia(
        cluster,
        *args,
        str(root),
        "--source-id",
        f"tests:{root}",
        "--sops",
        str(cluster.binaries["sops"]),
        "--sops-age-key-file",
        str(key.identity_file),
        cache=cache,
    )


def test_encrypted_secrets_of_plain_and_kustomize_charts_are_applied_ready_and_leak_nowhere(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    key = age_key(tmp_path / "keys")
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries, namespace=namespace)
    cache = tmp_path / "cache"

    applied = harmonia_with_key(cluster, root, key, cache, "apply")

    assert applied.returncode == 0, applied.stderr
    expected = {"password": canaries.password, "token": canaries.token}
    assert secret_data(cluster, namespace, "db") == expected
    assert secret_data(cluster, namespace, "app-db") == expected
    prefixed = cluster.kubectl("-n", namespace, "get", "secret", "app-db", "-o", "yaml")
    assert yaml.safe_load(prefixed.stdout)["metadata"]["labels"]["team"] == "pay"
    assert "sops" not in yaml.safe_load(prefixed.stdout)
    clean = harmonia_with_key(cluster, root, key, cache, "diff", "--exit-code")
    assert (clean.returncode, clean.stdout) == (0, ""), clean.stderr
    states = {}
    for name in ("plain", "kustomized"):
        status = harmonia(cluster, "status", "-r", f"{namespace}/{name}", "-o", "yaml", cache=cache)
        states[name] = yaml.safe_load(status.stdout)["state"]
    assert states == {"plain": "Ready", "kustomized": "Ready"}
    outputs = {
        "apply": applied.stdout + applied.stderr,
        "diff": clean.stdout + clean.stderr,
        "cache folder": files_text(cache),
        "inventory records": inventory_records(cluster, namespace),
    }
    assert leaks(outputs, canaries) == {where: [] for where in outputs}


def test_a_decrypted_value_in_a_config_map_warns_and_strict_secrets_keeps_that_release_out(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    key = age_key(tmp_path / "keys")
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries, namespace=namespace)
    encrypted_config_map(root, key, canaries)
    cache = tmp_path / "cache"
    warning = (
        f"warning: release {namespace}/plain: ConfigMap/{namespace}/settings data.dsn holds a "
        "value decrypted from settings.yaml of chart plain"
    )

    planned = harmonia_with_key(cluster, root, key, cache, "diff")
    assert warning in planned.stderr, planned.stderr
    assert "+  dsn: ***\n" in planned.stdout, planned.stdout
    comment = harmonia_with_key(cluster, root, key, cache, "diff", "-o", "markdown")
    planned_json = harmonia_with_key(cluster, root, key, cache, "diff", "-o", "json")

    strict = harmonia_with_key(cluster, root, key, cache, "apply", "--strict-secrets")

    assert strict.returncode == 1, strict.stderr
    assert f"{namespace}/plain: Failed" in strict.stderr
    assert "strictSecrets is on" in strict.stderr
    for kind, name in (("configmap", "settings"), ("secret", "db")):
        absent = cluster.kubectl("-n", namespace, "get", kind, name, check=False)
        assert absent.returncode != 0, f"{kind} {name}: nothing of the failed release is applied"
    assert secret_data(cluster, namespace, "app-db")["password"] == canaries.password
    outputs = {
        "diff": planned.stdout + planned.stderr,
        "diff markdown": comment.stdout + comment.stderr,
        "diff json": planned_json.stdout + planned_json.stderr,
        "apply": strict.stdout + strict.stderr,
        "cache folder": files_text(cache),
        "inventory records": inventory_records(cluster, namespace),
    }
    assert leaks(outputs, canaries) == {where: [] for where in outputs}


def test_run_logs_the_warning_and_keeps_it_in_the_status_file_never_the_value(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    key = age_key(tmp_path / "keys")
    canaries = Canaries.fresh()
    repository(git_repos.work, key, canaries, namespace=namespace)
    encrypted_config_map(git_repos.work, key, canaries)
    git_repos.commit_and_push({}, "plain, kustomized and other")
    warning = (
        f"ConfigMap/{namespace}/settings data.dsn holds a value decrypted from "
        "settings.yaml of chart plain"
    )

    ran = run_once(
        cluster,
        git_repos,
        tmp_path / "cache",
        "--sops",
        str(cluster.binaries["sops"]),
        "--sops-age-key-file",
        str(key.identity_file),
    )

    assert ran.returncode == 0, ran.stderr
    assert f"release {namespace}/plain: {warning}" in ran.stderr
    plain = status_file(git_repos, f"status/{namespace}/plain.yaml")
    assert plain["state"] == "Ready", plain
    assert plain["sync"]["warnings"] == [warning]  # type: ignore[index]
    events = cluster.kubectl(
        "-n", namespace, "get", "events", "--field-selector", "reason=SecretWarning",
        "-o", "jsonpath={.items[*].message}",
    ).stdout  # fmt: skip
    assert warning in events, events
    every_status = remote_git(git_repos, "log", "-p", STATUS_BRANCH)
    outputs = {"run": ran.stdout + ran.stderr, "status branch": every_status, "events": events}
    assert leaks(outputs, canaries) == {where: [] for where in outputs}
