"""No answer of the web UI's server holds a Secret's value: a random canary sits in a plain
Secret of a release, reaches a pod's environment (by reference) and, as an output, a
dependent's Secret; then every GET route `ROUTES` lists (its placeholders filled in with the
canary's release, so a new route is fetched without a new line here), every UI asset and
the event stream are read from a real `harmonia run` on the dev cluster, and neither the
canary nor its base64 is in any. A failure message made to quote the canary (the API server
refuses a ConfigMap key made of it) reaches the pages' event stream and the API masked."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from reconciler.loop.server import ROUTES
from reconciler.loop.ui import ASSET_PATHS
from reconciler.render.secrets.masking import MASK
from tests import manifests
from tests.cluster.test_run_events import StreamReader
from tests.cluster.test_run_loop import free_port, http_get, running_ready
from tests.cluster.test_secret_outputs import DEPENDENT_TEMPLATE, PUBLISHER_TEMPLATE
from tests.cluster.workbench import helm_chart
from tests.conftest import GitRepos, LiveCluster
from tests.waiting import wait_for

DEPLOYMENT_TEMPLATE = """
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-password
stringData:
  password: {{ .Values.password | quote }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: 1
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec:
      containers:
        - name: db
          image: example.invalid/db:1
          env:
            - name: PASSWORD
              valueFrom: {secretKeyRef: {name: {{ .Release.Name }}-password, key: password}}
"""
"""Beside the publisher's output: the canary in a plain Secret and in a pod's environment."""
SELECTOR = "team=shop"
STREAM_SECONDS = 3.0


def canary_files(git_repos: GitRepos, namespace: str, canary: str) -> None:
    """db publishes the canary as an output and holds it in a Secret its pod reads; app,
    depending on db, places it in its own Secret."""
    db_chart = helm_chart(git_repos.work, "db", PUBLISHER_TEMPLATE + DEPLOYMENT_TEMPLATE)
    app_chart = helm_chart(git_repos.work, "app", DEPENDENT_TEMPLATE)
    labels = {"releaseLabels": {"team": "shop"}}
    db = manifests.release(
        namespace, "db", chartPath=db_chart, configValues={"password": canary}, **labels
    )
    app = manifests.release(
        namespace, "app", chartPath=app_chart, dependencies={"db": "db"}, **labels
    )
    git_repos.write(
        {
            "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
            f"releases/{namespace}/db.yaml": yaml.safe_dump(db),
            f"releases/{namespace}/app.yaml": yaml.safe_dump(app),
        }
    )


def quoting_app(namespace: str) -> dict[str, str]:
    """app made to fail with a message quoting the canary (a ConfigMap key made of it)."""
    app = manifests.release(
        namespace,
        "app",
        chartPath="charts/app",
        configValues={"keyFromPassword": True},
        dependencies={"db": "db"},
        releaseLabels={"team": "shop"},
    )
    return {f"releases/{namespace}/app.yaml": yaml.safe_dump(app)}


def get_paths(namespace: str, name: str) -> list[str]:
    """Every GET route of `ROUTES`, placeholders filled in, each with and without its query;
    an assertion naming a placeholder this test cannot fill (a new route needs one here)."""
    values = {"namespace": namespace, "name": name, "state": "Failed", "selector": SELECTOR}
    paths: list[str] = []
    for route in ROUTES["routes"]:  # type: ignore[union-attr]
        method, _, target = str(route).partition(" ")
        if method != "GET":
            continue
        filled = re.sub(r"<(\w+)>", lambda found: values.get(found[1], found[0]), target)
        assert "<" not in filled, f"{route}: a placeholder this test cannot fill"
        paths += [filled, filled.partition("?")[0]]
    return sorted(set(paths))


def read_for(port: int, path: str, seconds: float) -> tuple[int, str]:
    """(status, body) of GET `path`; a stream is read for `seconds`."""
    url = f"http://127.0.0.1:{port}{path}"
    try:
        response = urllib.request.urlopen(url, timeout=seconds)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    with response:
        try:
            while time.monotonic() < deadline and (line := response.readline()):
                lines.append(line.decode())
        except TimeoutError:
            pass  # the stream, read long enough
        return response.status, "".join(lines)


def test_no_route_asset_or_event_of_the_ui_server_holds_a_secret_value(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    canary = f"canary-{secrets.token_hex(16)}"
    needles = {"canary": canary, "its base64": base64.b64encode(canary.encode()).decode()}
    canary_files(git_repos, namespace, canary)
    git_repos.commit_and_push({}, "db publishes the canary, app takes it")
    port = free_port()
    log = tmp_path / "run.log"
    answers: dict[str, str] = {}
    with running_ready(cluster, git_repos, tmp_path / "cache", log, port, "--no-leader-elect"):
        stream = StreamReader(port, f"?namespace={namespace}")
        wait_for(
            lambda: http_get(port, f"/api/v1/releases?namespace={namespace}")[1],
            until=lambda body: body.count('"state": "Ready"') == 2,
            what="db and app Ready",
            timeout=180,
        )
        git_repos.commit_and_push(quoting_app(namespace), "app quotes the canary")
        wait_for(
            lambda: http_get(port, f"/api/v1/releases/{namespace}/app")[1],
            until=lambda detail: f"{MASK}/x" in detail,
            what="app's failure quoting the canary, masked",
            timeout=120,
        )
        for name in ("db", "app"):
            for path in get_paths(namespace, name):
                status, body = read_for(port, path, STREAM_SECONDS)
                assert status == 200, (path, status, body[:300])
                answers[f"GET {path}"] = body
        for path in ASSET_PATHS:
            answers[f"GET {path}"] = read_for(port, path, STREAM_SECONDS)[1]
    assert stream.ended(timeout=30), "the stream did not end when the reconciler stopped"
    answers["the event stream from the start"] = "".join(stream.text)
    assert f"{MASK}/x" in answers["the event stream from the start"], "app's failure, masked"
    answers["run log"] = log.read_text()

    secret = cluster.kubectl("-n", namespace, "get", "secret", "app-db", "-o", "json").stdout
    assert json.loads(secret)["data"]["password"] == needles["its base64"], "the canary applied"
    assert any(path.startswith("GET /api/v1/events?") for path in answers)
    leaks = {
        where: [what for what, needle in needles.items() if needle in text]
        for where, text in answers.items()
    }
    assert leaks == {where: [] for where in answers}
