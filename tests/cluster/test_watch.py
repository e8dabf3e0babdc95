"""Reflectors on the real API server: a list, then a watch that follows every change;
stopping ends the open watch at once. A watch from a version the API server no longer
keeps (410) lists again and says what it missed: tests/faults/test_watches_api_server_restart.py,
where an API server restarted makes that happen for certain (a young cluster's watch
cache still serves old versions, so a test here could not count on it)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from reconciler.kube.client import KubeClient
from reconciler.kube.connection import KubeTarget
from reconciler.kube.watch import Change, Reflector, WatchScope
from tests.conftest import LiveCluster
from tests.waiting import wait_for

LABEL = "harmonia.test/watched=yes"


def client_of(cluster: LiveCluster, tmp_path: Path) -> KubeClient:
    return KubeClient.connect(KubeTarget(cluster.kubeconfig), cache_dir=tmp_path / "cache")


def config_map(cluster: LiveCluster, namespace: str, name: str, *, labelled: bool = True) -> None:
    cluster.kubectl("-n", namespace, "create", "cm", name, "--from-literal=v=1")
    if labelled:
        cluster.kubectl("-n", namespace, "label", "cm", name, LABEL.replace("=yes", "=yes"))


def eventually(condition: Callable[[], bool], what: str) -> None:
    wait_for(condition, until=bool, what=what, timeout=30)


def names(reflector: Reflector) -> set[str]:
    return {str(obj["metadata"]["name"]) for obj in reflector.objects() or []}  # type: ignore[index]


class Recorder:
    def __init__(self) -> None:
        self.changes: list[Change] = []
        self._lock = threading.Lock()

    def __call__(self, change: Change) -> None:
        with self._lock:
            self.changes.append(change)

    def seen(self) -> set[tuple[str, str, bool]]:
        with self._lock:
            return {
                (c.type, str(c.object["metadata"]["name"]), c.relisted)  # type: ignore[index]
                for c in self.changes
            }


def test_a_reflector_lists_then_follows_creates_edits_and_deletes_of_its_scope_only(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    config_map(cluster, namespace, "before")
    config_map(cluster, namespace, "unlabelled", labelled=False)
    recorder = Recorder()
    with client_of(cluster, tmp_path) as client:
        scope = WatchScope("v1", "ConfigMap", namespace, LABEL)
        reflector = Reflector(client, scope, on_change=recorder)
        reflector.start()
        try:
            assert reflector.wait_synced(30)
            assert names(reflector) == {"before"}
            config_map(cluster, namespace, "after")
            cluster.kubectl("-n", namespace, "patch", "cm", "before", "-p", '{"data":{"v":"2"}}')
            cluster.kubectl("-n", namespace, "delete", "cm", "after")
            eventually(lambda: ("DELETED", "after", False) in recorder.seen(), "the deletion seen")
            assert names(reflector) == {"before"}
            before = next(o for o in reflector.objects() or [] if o["metadata"]["name"] == "before")  # type: ignore[index]
            assert before["data"] == {"v": "2"}
            assert "managedFields" not in before["metadata"]  # type: ignore[operator]
            assert ("MODIFIED", "before", False) in recorder.seen()
            assert not any(name == "unlabelled" for _type, name, _relisted in recorder.seen())
            assert reflector.lists == 1
        finally:
            reflector.stop()


def test_stopping_a_reflector_ends_its_open_watch(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    with client_of(cluster, tmp_path) as client:
        reflector = Reflector(client, WatchScope("v1", "ConfigMap", namespace))
        reflector.start()
        assert reflector.wait_synced(30)
        eventually(lambda: client.requests_sent >= 2, "the watch opened after the list")
        reflector.stop()
        assert not reflector.running
