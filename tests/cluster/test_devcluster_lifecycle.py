"""`harmonia dev-cluster` lifecycle: up is idempotent, down stops exactly what up
started, and start-up failures name the component with the end of its log."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devcluster.build import ensure_binaries
from devcluster.cluster import ClusterError, DevCluster
from devcluster.state import ClusterState, Ports, is_running

HARMONIA = [sys.executable, "-m", "reconciler"]


def harmonia(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HARMONIA, *args], capture_output=True, text=True, timeout=600)


def test_up_status_down_lifecycle_leaves_no_process(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    first = harmonia("dev-cluster", "up", "--state-dir", str(state_dir), "--random-ports")
    assert first.returncode == 0, first.stderr
    assert f"export KUBECONFIG={state_dir / 'kubeconfig'}" in first.stdout
    recorded = ClusterState.load(state_dir)
    assert recorded is not None
    assert set(recorded.processes) == {
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
    }
    pids = {record.pid for record in recorded.processes.values()}

    again = harmonia("dev-cluster", "up", "--state-dir", str(state_dir))
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stderr
    assert {r.pid for r in ClusterState.load(state_dir).processes.values()} == pids  # type: ignore[union-attr]

    status = harmonia("dev-cluster", "status", "--state-dir", str(state_dir))
    assert status.returncode == 0, status.stdout
    assert status.stdout.count("running") == 5
    path = harmonia("dev-cluster", "kubeconfig", "--state-dir", str(state_dir))
    assert path.stdout.strip() == str(state_dir / "kubeconfig")

    down = harmonia("dev-cluster", "down", "--state-dir", str(state_dir))
    assert down.returncode == 0, down.stderr
    assert not any(is_running(record) for record in recorded.processes.values())
    assert not state_dir.exists()
    assert harmonia("dev-cluster", "status", "--state-dir", str(state_dir)).returncode == 3
    repeat = harmonia("dev-cluster", "down", "--state-dir", str(state_dir))
    assert (repeat.returncode, repeat.stdout.strip()) == (0, "no dev cluster was running")


def test_up_refuses_a_taken_port_and_names_it(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        ports = Ports.free()
        ports = Ports(
            taken,
            ports.etcd_client,
            ports.etcd_peer,
            ports.controller_manager,
            ports.scheduler,
            ports.kwok,
        )
        with pytest.raises(ClusterError, match=rf"port {taken} \(kube-apiserver\) already in use"):
            DevCluster(tmp_path / "state").up(ensure_binaries(), ports=ports)
    assert ClusterState.load(tmp_path / "state") is None


def test_a_component_that_dies_is_reported_with_its_log(tmp_path: Path) -> None:
    dying = tmp_path / "kube-apiserver"
    dying.write_text("#!/bin/sh\necho 'error: the storage backend is on fire' >&2\nexit 7\n")
    dying.chmod(0o755)
    binaries = dict(ensure_binaries(), **{"kube-apiserver": dying})
    cluster = DevCluster(tmp_path / "state")
    with pytest.raises(ClusterError) as failure:
        cluster.up(binaries, ports=Ports.free())
    message = str(failure.value)
    assert message.startswith("kube-apiserver exited with code 7 during start-up")
    assert "the storage backend is on fire" in message
    recorded = ClusterState.load(tmp_path / "state")
    assert recorded is not None
    assert not is_running(recorded.processes["etcd"]), "etcd was left running after the failure"
    cluster.down()


def test_up_after_a_component_died_starts_it_again_keeping_ports_data_and_the_rest(
    tmp_path: Path,
) -> None:
    state_dir = tmp_path / "state"
    first = harmonia("dev-cluster", "up", "--state-dir", str(state_dir), "--random-ports")
    assert first.returncode == 0, first.stderr
    cluster = DevCluster(state_dir)
    try:
        kubectl = [str(ensure_binaries()["kubectl"]), f"--kubeconfig={state_dir / 'kubeconfig'}"]
        made = subprocess.run(
            [*kubectl, "create", "configmap", "kept", "--from-literal=data=survives"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert made.returncode == 0, made.stderr
        before = ClusterState.load(state_dir)
        assert before is not None
        cluster.kill("etcd")
        cluster.kill("kube-scheduler")

        again = harmonia("dev-cluster", "up", "--state-dir", str(state_dir), "--random-ports")

        assert again.returncode == 0, again.stderr
        assert "etcd is not running healthy: starting it again" in again.stderr
        after = ClusterState.load(state_dir)
        assert after is not None and after.ports == before.ports
        for name in ("etcd", "kube-scheduler"):
            assert after.processes[name].pid != before.processes[name].pid
        for name in ("kube-controller-manager", "kwok"):
            assert after.processes[name].pid == before.processes[name].pid
        assert all(is_running(record) for record in after.processes.values())
        kept = subprocess.run(
            [*kubectl, "get", "configmap", "kept", "-o", "jsonpath={.data.data}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (kept.returncode, kept.stdout) == (0, "survives"), kept.stderr
    finally:
        cluster.down()
