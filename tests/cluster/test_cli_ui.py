"""`harmonia ui` as a user runs it, a real process against the dev cluster: the releases
recorded in the cluster (or those of a repository, joined with their live state) on the
pages and the API, their state changes on the event stream with no pass, nothing written to
the cluster, Ctrl-C a clean exit; bad input named, with the Contracts' exit codes."""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests import manifests
from tests.cluster.test_cli_cluster import HARMONIA, cli_environment, harmonia, nowhere_kubeconfig
from tests.cluster.test_run_events import StreamReader
from tests.cluster.test_run_loop import eventually, http_get
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster

URL = re.compile(r"http://127\.0\.0\.1:(\d+)/")


@dataclass
class UiProcess:
    process: subprocess.Popen[str]
    port: int = 0
    lines: list[str] = field(default_factory=list)

    def get(self, path: str) -> str:
        status, body = http_get(self.port, path)
        assert status == 200, (path, status, body)
        return body

    def releases(self, namespace: str) -> dict[str, Any]:
        body = json.loads(self.get(f"/api/v1/releases?namespace={namespace}"))
        return {release["name"]: release for release in body["releases"]}

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C: its exit code and what it said on stderr."""
        self.process.send_signal(signal.SIGINT)
        _out, err = self.process.communicate(timeout=30)
        return self.process.returncode, err


@contextmanager
def serving(cluster: LiveCluster, *args: str) -> Iterator[UiProcess]:
    """`harmonia ui ARGS` on a free loopback port, once it has said where it serves."""
    process = subprocess.Popen(
        [*HARMONIA, "ui", "--listen", "127.0.0.1:0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_environment(cluster),
    )
    ui = UiProcess(process)

    def read() -> None:
        assert process.stdout is not None
        ui.lines.extend(iter(process.stdout.readline, ""))

    threading.Thread(target=read, daemon=True).start()
    try:
        eventually(
            lambda: any(URL.search(line) for line in ui.lines) or process.poll() is not None,
            what="the URL to open",
            timeout=120,
        )
        found = next((URL.search(line) for line in ui.lines if URL.search(line)), None)
        assert found is not None, process.communicate(timeout=10)
        ui.port = int(found.group(1))
        yield ui
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)


def depending_releases(bench: Workbench, namespace: str) -> None:
    """`db` (a Deployment) and `web`, which depends on it."""
    db = manifests.workload("Deployment", "db", replicas=1)
    settings = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-settings"}}
    bench.release(namespace, "db", chartPath=bench.chart("db", [db]))
    bench.release(
        namespace, "web", chartPath=bench.chart("web", [settings]), dependencies={"db": "db"}
    )


def written_by_harmonia(cluster: LiveCluster, namespace: str) -> dict[str, str]:
    """The inventory records' resource versions and the Events about them, by name."""
    found: dict[str, str] = {}
    for kind in ("configmaps", "events"):
        listed = json.loads(cluster.kubectl("-n", namespace, "get", kind, "-o", "json").stdout)
        for item in listed["items"]:
            involved = item.get("involvedObject", {})
            if kind == "events" and involved.get("kind") != "ConfigMap":
                continue  # the controllers' Events about the Deployment's rollout
            metadata = item["metadata"]
            found[f"{kind}/{metadata['name']}"] = metadata["resourceVersion"]
    return found


def test_ui_without_a_repository_serves_the_clusters_releases_and_their_changes_live(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    depending_releases(bench, namespace)
    applied = harmonia(cluster, "apply", str(bench.root), "--source-id", bench.source)
    assert applied.returncode == 0, applied.stderr
    before = written_by_harmonia(cluster, namespace)

    with serving(cluster) as ui:
        releases = ui.releases(namespace)
        assert {name: r["state"] for name, r in releases.items()} == {"db": "Ready", "web": "Ready"}
        assert releases["web"]["dependsOn"] == [f"{namespace}/db"], "from the record"
        page = ui.get(f"/?namespace={namespace}")
        assert f'data-release="{namespace}/db"' in page
        assert f'data-release="{namespace}/web"' in page
        graph = ui.get(f"/graph?namespace={namespace}")
        assert f'data-from="{namespace}/db" data-to="{namespace}/web"' in graph
        stream = StreamReader(ui.port, f"?namespace={namespace}")
        eventually(lambda: stream.text, what="the stream open", timeout=30)

        nowhere = {"spec": {"template": {"spec": {"nodeSelector": {"harmonia.dev/none": "x"}}}}}
        cluster.kubectl(
            "-n", namespace, "patch", "deployment", "db", "--type=merge", "-p", json.dumps(nowhere)
        )
        eventually(
            lambda: {"Degraded", "Progressing"} & set(stream.states()),
            what="db not Ready any more, on the stream",
            timeout=60,
        )
        code, err = ui.interrupt()

    assert code == 0, err
    assert {event["release"] for event in stream.events} == {f"{namespace}/db"}
    assert stream.ended(timeout=10), "the stream did not end when the ui stopped"
    assert written_by_harmonia(cluster, namespace) == before, "nothing written"


def test_ui_of_a_repository_shows_its_releases_live_and_its_invalid_files_as_invalid(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    depending_releases(bench, namespace)
    applied = harmonia(cluster, "apply", str(bench.root))  # recorded under PATH's own source
    assert applied.returncode == 0, applied.stderr
    bench.release(namespace, "later", chartPath="charts/web")
    broken = bench.root / "releases" / namespace / "broken.yaml"
    unknown_field = "x: 1\n"
    broken.write_text(
        manifests.release_yaml(namespace, "broken", chartPath="charts/web") + unknown_field
    )

    with serving(cluster, str(bench.root)) as ui:
        releases = ui.releases(namespace)
        states = {name: (r["state"], r["outcome"]) for name, r in releases.items()}
        assert states == {
            "db": ("Ready", None),
            "web": ("Ready", None),
            "later": ("NotInstalled", None),
            "broken": ("NotInstalled", "Invalid"),
        }
        assert f"releases/{namespace}/broken.yaml:" in releases["broken"]["message"]
        assert releases["web"]["dependsOn"] == [f"{namespace}/db"]
        assert f'data-from="{namespace}/db" data-to="{namespace}/web"' in ui.get(
            f"/graph?namespace={namespace}"
        )
        stream = StreamReader(ui.port, f"?release={namespace}/db")
        eventually(lambda: stream.text, what="the stream open", timeout=30)

        bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Not_A_Name"}}
        bench.chart("db", [bad])
        again = harmonia(cluster, "apply", str(bench.root))
        assert again.returncode == 1, again.stderr
        eventually(lambda: "Failed" in stream.states(), what="db Failed on the stream", timeout=60)
        code, err = ui.interrupt()

    failed = next(event for event in stream.events if event["state"] == "Failed")
    assert "Not_A_Name" in str(failed["reason"])
    assert code == 1, "invalid files: exit 1, as plan and apply"
    assert f"releases/{namespace}/broken.yaml:" in err


def test_ui_exits_3_when_the_cluster_cannot_be_reached_and_1_when_path_is_no_repository(
    cluster: LiveCluster, tmp_path: Path
) -> None:
    unreachable = harmonia(cluster, "ui", "--kubeconfig", str(nowhere_kubeconfig(tmp_path)))
    assert unreachable.returncode == 3, unreachable.stderr
    assert unreachable.stderr.startswith("error: ") and "port=9" in unreachable.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = harmonia(cluster, "ui", str(empty), "--listen", "127.0.0.1:0")
    assert nothing.returncode == 1, nothing.stderr
    assert "harmonia.yaml" in nothing.stderr and "nothing served" in nothing.stderr
    assert "http://" not in nothing.stdout


def asked_as(port: int, path: str, host: str) -> tuple[int, str]:
    """`GET path` on loopback with `Host: host` (what a browser sends for a page's own
    address, even once its name resolves to 127.0.0.1)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host})
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()


def test_ui_on_loopback_answers_no_request_for_another_host_so_dns_rebinding_reads_nothing(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    depending_releases(bench, namespace)
    applied = harmonia(cluster, "apply", str(bench.root), "--source-id", bench.source)
    assert applied.returncode == 0, applied.stderr

    with serving(cluster) as ui:
        path = f"/api/v1/releases?namespace={namespace}"
        for host in (
            f"attacker.example:{ui.port}",
            "attacker.example",
            f"127.0.0.1.nip.io:{ui.port}",
        ):
            for asked in (path, f"/releases/{namespace}/db", "/api/v1/events"):
                status, body = asked_as(ui.port, asked, host)
                assert status == 403, (host, asked, status, body)
                assert namespace not in body, body
        for host in (f"127.0.0.1:{ui.port}", f"localhost:{ui.port}", "localhost", "[::1]"):
            status, body = asked_as(ui.port, path, host)
            assert status == 200, (host, status, body)
            assert f'"namespace": "{namespace}"' in body
        code, err = ui.interrupt()
    assert code == 0, err


def test_ui_masks_another_releases_secret_value_that_an_event_about_a_release_quotes(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    password = f"pw-{namespace[-6:]}-0f3c9a"
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    credentials = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db-credentials"},
        "stringData": {"password": password},
    }
    settings = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-settings"}}
    bench.release(namespace, "db", chartPath=bench.chart("db", [credentials]))
    bench.release(namespace, "web", chartPath=bench.chart("web", [settings]))
    applied = harmonia(cluster, "apply", str(bench.root))
    assert applied.returncode == 0, applied.stderr
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web-settings.quoted", "namespace": namespace},
        "involvedObject": {"kind": "ConfigMap", "namespace": namespace, "name": "web-settings"},
        "reason": "Quoted",
        "type": "Warning",
        "message": f"a controller says: login with {password} failed",
        "lastTimestamp": "2026-12-07T02:00:00Z",
        "count": 1,
    }
    cluster.kubectl("-n", namespace, "create", "-f", "-", stdin=json.dumps(event))

    with serving(cluster, str(bench.root)) as ui:
        detail = ui.get(f"/api/v1/releases/{namespace}/web")
        page = ui.get(f"/releases/{namespace}/web")
        code, err = ui.interrupt()

    assert code == 0, err
    quoted = [e for e in json.loads(detail)["events"] if e["reason"] == "Quoted"]
    assert [e["message"] for e in quoted] == ["a controller says: login with *** failed"]
    assert password not in detail and password not in page
