"""`GET /api/v1/events` of a real `harmonia run`: a client of the stream sees a commit
Applied and Ready and a hand edit DriftCorrected, never a Secret's value, and its stream
ends cleanly when the reconciler stops; a readiness change between passes is said too."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from reconciler.types import JsonObject
from tests import manifests
from tests.cluster.test_run_loop import (
    SECRET_VALUE,
    eventually,
    free_port,
    repository_files,
    running_with,
)
from tests.cluster.test_run_reactor import FAR, mode
from tests.conftest import GitRepos, LiveCluster


class StreamReader:
    """Reads `GET /api/v1/events` in a thread from the moment the server answers, asking
    for every kept event (an unknown `Last-Event-ID`), so nothing said before it connected
    is missed; keeps the events and the raw text."""

    def __init__(self, port: int, query: str) -> None:
        self._url = f"http://127.0.0.1:{port}/api/v1/events{query}"
        self.events: list[JsonObject] = []
        self.text: list[str] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        request = urllib.request.Request(self._url, headers={"Last-Event-ID": "from-the-start"})
        deadline = time.monotonic() + 120
        while True:
            try:
                response = urllib.request.urlopen(request, timeout=60)
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with response:
            while line := response.readline().decode():
                self.text.append(line)
                if line.startswith("data: "):
                    self.events.append(json.loads(line.removeprefix("data: ")))

    def states(self) -> list[str]:
        return [str(event["state"]) for event in list(self.events)]

    def ended(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


def test_a_stream_client_sees_a_commit_awaited_applied_and_ready_then_a_hand_edit_corrected(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    commit = git_repos.commit_and_push(repository_files(namespace), "web")
    port = free_port()
    log = tmp_path / "run.log"
    args = ("--repo", str(git_repos.remote), "--ref", "main", *FAR)
    with running_with(cluster, tmp_path / "cache", log, *args, "--listen", f"127.0.0.1:{port}"):
        release = StreamReader(port, f"?release={namespace}/web")
        elsewhere = StreamReader(port, "?namespace=kube-system")
        said = ["Progressing", "Applied", "Ready"]  # the pass waits for its Deployment first
        eventually(lambda: release.states()[:3] == said, what=", ".join(said), timeout=120)
        awaited, applied, ready = release.events[:3]
        assert (applied["release"], applied["revision"]) == (f"{namespace}/web", commit)
        assert awaited["revision"] == ready["revision"] == commit
        assert "waiting for Ready" in str(awaited["reason"])

        cluster.kubectl("-n", namespace, "patch", "cm", "settings", "-p", '{"data":{"mode":"x"}}')

        eventually(lambda: "DriftCorrected" in release.states(), what="drift said", timeout=60)
        assert mode(cluster, namespace) == "fast"
    drift = next(event for event in release.events if event["state"] == "DriftCorrected")
    assert f"ConfigMap/{namespace}/settings" in str(drift["reason"])
    assert release.ended(timeout=10), "the stream did not end when the reconciler stopped"
    assert elsewhere.ended(timeout=10) and elsewhere.events == []
    assert SECRET_VALUE not in "".join(release.text)


def test_a_stream_client_sees_readiness_change_between_passes(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    """A hand edit the release leaves in place (`selfHeal: false`) stalls its rollout: the
    watches see it Degraded, then Ready once the edit is undone, with no pass."""
    deployment = manifests.workload("Deployment", "api", replicas=1)
    release = manifests.release(namespace, "api", chartPath="charts/api", selfHeal=False)
    files = {
        "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
        f"releases/{namespace}/api.yaml": yaml.safe_dump(release),
        "charts/api/objects.yaml": yaml.safe_dump_all([deployment]),
    }
    git_repos.commit_and_push(files, "api")
    port = free_port()
    log = tmp_path / "run.log"
    args = ("--repo", str(git_repos.remote), "--ref", "main", *FAR)
    with running_with(cluster, tmp_path / "cache", log, *args, "--listen", f"127.0.0.1:{port}"):
        stream = StreamReader(port, f"?namespace={namespace}")
        eventually(lambda: "Ready" in stream.states(), what="Ready after the pass", timeout=120)
        # The watches say nothing of a release's first state they see: a pod touched
        # first lets them see it Ready (the check follows after QUIET_SECONDS).
        poke = ("-n", namespace, "annotate", "pod", "-l", "app=api", "harmonia.dev/poke=1")
        eventually(
            lambda: cluster.kubectl(*poke, check=False).returncode == 0, what="a pod", timeout=60
        )
        time.sleep(3)
        said = len(stream.events)
        nowhere = {"spec": {"template": {"spec": {"nodeSelector": {"harmonia.dev/none": "x"}}}}}
        patch = ("-n", namespace, "patch", "deployment", "api", "--type=merge")
        cluster.kubectl(*patch, "-p", json.dumps(nowhere))
        eventually(
            lambda: {"Degraded", "Progressing"} & set(stream.states()[said:]),
            what="not Ready any more",
            timeout=60,
        )
        undo = {"spec": {"template": {"spec": {"nodeSelector": None}}}}
        cluster.kubectl(*patch, "-p", json.dumps(undo))
        eventually(lambda: stream.states()[-1:] == ["Ready"], what="Ready again", timeout=60)
        text = log.read_text()
    between = stream.events[said:]
    assert {event["release"] for event in between} == {f"{namespace}/api"}
    assert "Applied" not in [event["state"] for event in between], "no pass ran"
    stalled = between[0]
    assert stalled["state"] in ("Degraded", "Progressing")
    assert f"release {namespace}/api is {stalled['state']}: {stalled['reason']}" in text
