"""What a running `harmonia run` serves over HTTP while it applies decrypted SOPS values: the
JSON API (the release list and each release's detail), the event stream and `/metrics`
hold neither the canary plaintexts nor their base64, though the Secret in the cluster does.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.cluster.test_run_events import StreamReader
from tests.cluster.test_run_loop import eventually, free_port, http_get, running_ready
from tests.cluster.test_sops_secrets import found_in, secret_data
from tests.conftest import GitRepos, LiveCluster
from tests.render.test_pipeline import write_repository
from tests.render.test_sops_render import Canaries, repository
from tests.sops_files import age_key


def test_the_api_the_event_stream_and_metrics_never_hold_a_decrypted_value(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    key = age_key(tmp_path / "keys")
    canaries = Canaries.fresh()
    repository(git_repos.work, key, canaries, namespace=namespace)
    git_repos.commit_and_push({}, "web (encrypted values) and other")
    port = free_port()
    decrypting = (
        "--no-leader-elect",
        "--sops",
        str(cluster.binaries["sops"]),
        "--sops-age-key-file",
        str(key.identity_file),
    )
    log = tmp_path / "run.log"
    answers: dict[str, str] = {}

    with running_ready(cluster, git_repos, tmp_path / "cache", log, port, *decrypting):
        stream = StreamReader(port, f"?namespace={namespace}")
        eventually(
            lambda: (
                {"web", "other"}
                <= {
                    str(event["release"]).split("/")[1]
                    for event in list(stream.events)
                    if event["state"] == "Ready"
                }
            ),
            what="web and other Ready in the event stream",
            timeout=180,
        )
        assert secret_data(cluster, namespace, "web-db") == {
            "password": canaries.password,
            "apiToken": canaries.token,
        }, "the values were decrypted and applied"
        for path in (
            "/api/v1/releases",
            f"/api/v1/releases?namespace={namespace}",
            f"/api/v1/releases/{namespace}/web",
            f"/api/v1/releases/{namespace}/other",
            "/metrics",
        ):
            code, body = http_get(port, path)
            assert code == 200, (path, body)
            answers[path] = body
        assert json.loads(answers[f"/api/v1/releases/{namespace}/web"])["state"] == "Ready"
    assert stream.ended(timeout=30), "the stream did not end when the reconciler stopped"
    answers["GET /api/v1/events"] = "".join(stream.text)
    answers["run log"] = log.read_text()

    leaks = {where: found_in(text, canaries) for where, text in answers.items()}
    assert leaks == {where: [] for where in answers}


def consumer_files(namespace: str) -> dict[str, str]:
    """`consumer`: a ConfigMap holding web's `endpoint` output, whose text holds the
    decrypted password: a decrypted value outside a Secret (a warning, not an error)."""
    return {
        "charts/consumer/Chart.yaml": "apiVersion: v2\nname: consumer\nversion: 0.1.0\n",
        "charts/consumer/templates/settings.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: consumer\n"
            "data:\n  endpoint: {{ .Values.dependencies.db.endpoint | quote }}\n"
        ),
        "releases/consumer.yaml": yaml.safe_dump(
            {
                "apiVersion": "harmonia.dev/v1alpha1",
                "kind": "Release",
                "name": "consumer",
                "namespace": namespace,
                "chartPath": "charts/consumer",
                "dependencies": {"db": "web"},
            }
        ),
    }


def test_a_decrypted_value_a_dependent_puts_into_a_configmap_is_masked_in_its_diffs_and_page(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    key = age_key(tmp_path / "keys")
    canaries = Canaries.fresh()
    repository(git_repos.work, key, canaries, namespace=namespace)
    write_repository(git_repos.work, consumer_files(namespace))
    git_repos.commit_and_push({}, "web (encrypted values) and a consumer of its endpoint")
    port = free_port()
    decrypting = (
        "--no-leader-elect",
        "--sops",
        str(cluster.binaries["sops"]),
        "--sops-age-key-file",
        str(key.identity_file),
    )
    detail = f"/api/v1/releases/{namespace}/consumer"
    answers: dict[str, str] = {}

    def changed() -> bool:
        code, body = http_get(port, detail)
        return code == 200 and json.loads(body)["lastChange"] is not None

    with running_ready(
        cluster, git_repos, tmp_path / "cache", tmp_path / "run.log", port, *decrypting
    ):
        eventually(changed, what="consumer applied, its last change known", timeout=180)
        configmap = cluster.kubectl("-n", namespace, "get", "configmap", "consumer", "-o", "json")
        assert canaries.password in configmap.stdout, "the ConfigMap holds the decrypted value"
        for path in (detail, f"/releases/{namespace}/consumer"):
            code, body = http_get(port, path)
            assert code == 200, (path, body)
            answers[path] = body
    diffs = [
        change.get("diff", "")
        for change in json.loads(answers[detail])["lastChange"]["changes"]["changes"]
    ]
    assert any("endpoint: ***" in diff for diff in diffs), diffs
    leaks = {where: found_in(text, canaries) for where, text in answers.items()}
    assert leaks == {where: [] for where in answers}
