"""What a running `harmonia run` serves over HTTP while it applies decrypted SOPS values: the
JSON API (the release list and each release's detail), the event stream and `/metrics`
hold neither the canary plaintexts nor their base64, though the Secret in the cluster does.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.cluster.test_run_events import StreamReader
from tests.cluster.test_run_loop import eventually, free_port, http_get, running_ready
from tests.cluster.test_sops_secrets import found_in, secret_data
from tests.conftest import GitRepos, LiveCluster
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
