"""Alerts from a real `harmonia run`: a webhook receiver on loopback gets a release's
failure, signed and with its reason, once; the recovery after a fixing commit; nothing
for a receiver whose filter does not take the release; never a Secret's value."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from pathlib import Path
from typing import Any

import yaml

from reconciler.types import JsonObject
from tests import manifests
from tests.cluster.test_run_loop import eventually, run_once, running_with
from tests.conftest import GitRepos, LiveCluster
from tests.recording_server import Recorded, RecordingServer, Reply, recording_server

CANARY = "c4nary-alert-s3cret"
KEY = b"alert-signing-key"


def files(namespace: str, *, broken: bool) -> dict[str, str]:
    """A release with a Secret holding the canary; `broken`: its ConfigMap has a key the
    API server refuses (422), so the release fails to apply."""
    data = {"mode": "fast", **({"bad key!": "x"} if broken else {})}
    objects = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": data},
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "token"},
            "stringData": {"token": CANARY},
        },
    ]
    release = manifests.release(
        namespace, "web", chartPath="charts/web", releaseLabels={"team": "shop"}
    )
    return {
        "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
        f"releases/{namespace}/web.yaml": yaml.safe_dump(release),
        "charts/web/objects.yaml": yaml.safe_dump_all(objects),
    }


def config(
    tmp_path: Path, namespace: str, ops: str, elsewhere: str, *, stuck: str | None = None
) -> Path:
    """`ops` signed and filtered to the release; `elsewhere` filtered away from it;
    `stuck`, when given, takes everything."""
    key = tmp_path / "ops-key"
    key.write_bytes(KEY + b"\n")
    document: dict[str, Any] = {
        "apiVersion": "harmonia.dev/v1alpha1",
        "kind": "ReconcilerConfig",
        "notifications": {
            "receivers": [
                {
                    "name": "ops",
                    "type": "webhook",
                    "url": ops,
                    "secretFile": str(key),
                    "namespaces": [namespace],
                    "releaseLabels": {"team": "shop"},
                },
                {
                    "name": "elsewhere",
                    "type": "webhook",
                    "url": elsewhere,
                    "namespaces": ["kube-*"],
                },
                *([{"name": "stuck", "type": "webhook", "url": stuck}] if stuck else []),
            ]
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def verified(receiver: RecordingServer) -> list[JsonObject]:
    """The bodies received, each checked as a receiver checks it: HMAC-SHA256 of the exact
    bytes with its copy of the key, compared in constant time."""
    bodies = []
    for request in receiver.requests:
        expected = "sha256=" + hmac.new(KEY, request.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(request.headers["x-harmonia-signature"], expected)
        assert (request.method, request.headers["content-type"]) == ("POST", "application/json")
        bodies.append(json.loads(request.body))
    return bodies


def test_run_once_sends_a_failed_release_to_the_receiver_that_wants_it_signed_and_without_secrets(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    commit = git_repos.commit_and_push(files(namespace, broken=True), "web, broken")
    with recording_server() as ops, recording_server() as elsewhere:
        path = config(tmp_path, namespace, ops.hook_url, elsewhere.hook_url)
        finished = run_once(cluster, git_repos, tmp_path / "cache", "--config", str(path))
        assert finished.returncode == 1, finished.stderr
        (alert,) = verified(ops)
        assert elsewhere.requests == []
        every_body = b"".join(ops.bodies())
    assert alert["kind"] == "Failed" and alert["state"] == "Failed"
    assert (alert["release"], alert["namespace"], alert["name"]) == (
        f"{namespace}/web",
        namespace,
        "web",
    )
    assert alert["revision"] == commit and alert["labels"] == {"team": "shop"}
    assert f"ConfigMap/{namespace}/settings" in str(alert["reason"])
    assert CANARY.encode() not in every_body
    assert CANARY not in finished.stderr + finished.stdout


def test_a_running_reconciler_says_a_failure_once_and_the_recovery_after_a_fix(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    """A receiver that never answers slows no pass, is said once, and does not keep the
    reconciler from stopping on SIGTERM (rc 0 within running_with's minute)."""
    git_repos.commit_and_push(files(namespace, broken=True), "web, broken")
    log = tmp_path / "run.log"
    never = threading.Event()

    def hang(_request: Recorded) -> Reply:
        never.wait(60)
        return Reply()

    with (
        recording_server() as ops,
        recording_server() as elsewhere,
        recording_server(hang) as stuck,
    ):
        path = config(tmp_path, namespace, ops.hook_url, elsewhere.hook_url, stuck=stuck.hook_url)
        args = (
            *("--repo", str(git_repos.remote), "--ref", "main", "--config", str(path)),
            *("--interval", "2s", "--jitter", "0", "--no-leader-elect", "--no-status"),
            *("--listen", "off"),
        )
        with running_with(cluster, tmp_path / "cache", log, *args) as process:
            eventually(lambda: ops.requests, what="the Failed alert", timeout=120)
            fixed = git_repos.commit_and_push(files(namespace, broken=False), "web, fixed")
            eventually(
                lambda: any(json.loads(body)["kind"] == "Recovered" for body in ops.bodies()),
                what="the Recovered alert",
                timeout=120,
            )
        never.set()
        assert process.returncode == 0, log.read_text()
        kinds = [(body["kind"], body["revision"]) for body in verified(ops)]
        assert elsewhere.requests == []
        every_body = b"".join(ops.bodies())
    assert kinds[0][0] == "Failed" and kinds.count(kinds[0]) == 1, kinds
    assert kinds[-1] == ("Recovered", fixed), kinds
    assert CANARY.encode() not in every_body
    text = log.read_text()
    assert CANARY not in text and ops.hook_url not in text and stuck.hook_url not in text
    assert text.count("notification receiver stuck failing: timed out") == 1, text
