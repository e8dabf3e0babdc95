"""Start, stop and inspect the local control plane: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and KWOK, all on 127.0.0.1.

`up` is idempotent (a healthy cluster is left alone; of a half-dead one, what died is
started again on its ports, with its data), `down` stops exactly the pids recorded in the
state folder and removes it; `kill` and `restart` crash and revive one component, for the
fault tests.
Failures name the component and quote the end of its log.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from devcluster import pki
from devcluster.build import KWOK_STAGES_FILE
from devcluster.state import ClusterState, Ports, ProcessRecord, is_running, port_is_free

Progress = Callable[[str], None]

NODE_COUNT = 3
STORAGE_CLASS = "standard"
STARTUP_TIMEOUT = 120.0
LOG_TAIL_LINES = 25
REVIVE_GRACE = 20.0
"""Seconds a running component may take to answer healthy again before `up` restarts it."""
CONTROLLER_CLIENT_LIMITS = ("--kube-api-qps=200", "--kube-api-burst=400")
"""The controller-manager's request rate to the API server (the scheduler's default, 50/s,
keeps up). Upstream's
default (20/s, bursts of 30) lets them make about 4 Deployments Ready per second, which
would cap every benchmark and slow every test; large managed clusters raise it likewise."""


class ClusterError(Exception):
    """The dev cluster could not be brought up or inspected; the message says which part."""


@dataclass(frozen=True)
class ClusterInfo:
    state_dir: Path
    kubeconfig: Path
    server: str
    ports: Ports


def kubeconfig_path(state_dir: Path) -> Path:
    return state_dir / "kubeconfig"


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log written)"
    return "\n".join(text.rstrip().splitlines()[-lines:]) or "(log is empty)"


def write_kubeconfig(
    path: Path, *, server: str, pki_dir: Path, identity: pki.ClientIdentity
) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "harmonia-dev",
                "cluster": {"server": server, "certificate-authority": str(pki_dir / "ca.crt")},
            }
        ],
        "users": [
            {
                "name": identity.user,
                "user": {
                    "client-certificate": str(pki_dir / f"{identity.file_stem}.crt"),
                    "client-key": str(pki_dir / f"{identity.file_stem}.key"),
                },
            }
        ],
        "contexts": [
            {"name": "harmonia-dev", "context": {"cluster": "harmonia-dev", "user": identity.user}}
        ],
        "current-context": "harmonia-dev",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


def _commands(state_dir: Path, ports: Ports, binaries: dict[str, Path]) -> dict[str, list[str]]:
    """The command line of every component, in start order."""
    p = state_dir / "pki"
    kubeconfigs = state_dir / "kubeconfigs"
    etcd = f"http://127.0.0.1:{ports.etcd_client}"
    peer = f"http://127.0.0.1:{ports.etcd_peer}"
    return {
        "etcd": [
            str(binaries["etcd"]),
            "--name=dev",
            f"--data-dir={state_dir / 'etcd'}",
            f"--listen-client-urls={etcd}",
            f"--advertise-client-urls={etcd}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=dev={peer}",
            "--listen-metrics-urls=",
            "--log-level=warn",
            "--unsafe-no-fsync=true",
            "--quota-backend-bytes=4294967296",
        ],
        "kube-apiserver": [
            str(binaries["kube-apiserver"]),
            f"--etcd-servers={etcd}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={ports.apiserver}",
            f"--cert-dir={p}",
            f"--tls-cert-file={p / 'apiserver.crt'}",
            f"--tls-private-key-file={p / 'apiserver.key'}",
            f"--client-ca-file={p / 'ca.crt'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={p / 'sa.pub'}",
            f"--service-account-signing-key-file={p / 'sa.key'}",
            f"--service-cluster-ip-range={pki.SERVICE_CLUSTER_IP_RANGE}",
            "--authorization-mode=Node,RBAC",
            "--allow-privileged=true",
            "--profiling=false",
            "--v=1",
        ],
        "kube-controller-manager": [
            str(binaries["kube-controller-manager"]),
            f"--kubeconfig={kubeconfigs / 'controller-manager.kubeconfig'}",
            f"--authentication-kubeconfig={kubeconfigs / 'controller-manager.kubeconfig'}",
            f"--authorization-kubeconfig={kubeconfigs / 'controller-manager.kubeconfig'}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports.controller_manager}",
            f"--cert-dir={state_dir / 'controller-manager'}",
            f"--service-account-private-key-file={p / 'sa.key'}",
            f"--root-ca-file={p / 'ca.crt'}",
            f"--cluster-signing-cert-file={p / 'ca.crt'}",
            f"--cluster-signing-key-file={p / 'ca.key'}",
            f"--service-cluster-ip-range={pki.SERVICE_CLUSTER_IP_RANGE}",
            "--use-service-account-credentials=true",
            "--leader-elect=false",
            "--enable-hostpath-provisioner=true",
            "--controllers=*",
            *CONTROLLER_CLIENT_LIMITS,
            "--profiling=false",
            "--v=1",
        ],
        "kube-scheduler": [
            str(binaries["kube-scheduler"]),
            f"--kubeconfig={kubeconfigs / 'scheduler.kubeconfig'}",
            f"--authentication-kubeconfig={kubeconfigs / 'scheduler.kubeconfig'}",
            f"--authorization-kubeconfig={kubeconfigs / 'scheduler.kubeconfig'}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports.scheduler}",
            f"--cert-dir={state_dir / 'scheduler'}",
            "--leader-elect=false",
            "--profiling=false",
            "--v=1",
        ],
        "kwok": [
            str(binaries["kwok"]),
            f"--kubeconfig={kubeconfigs / 'kwok.kubeconfig'}",
            f"--config={binaries['kwok'].parent / KWOK_STAGES_FILE}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--server-address=127.0.0.1:{ports.kwok}",
            "--node-ip=127.0.0.1",
            "--cidr=10.244.0.0/16",
            "--node-lease-duration-seconds=40",
        ],
    }


def _tls_context(state_dir: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(state_dir / "pki" / "ca.crt"))
    context.load_cert_chain(
        str(state_dir / "pki" / "admin.crt"), str(state_dir / "pki" / "admin.key")
    )
    return context


def _health_url(name: str, ports: Ports) -> tuple[str, bool]:
    """The health endpoint of a component and whether it needs the cluster's TLS."""
    return {
        "etcd": (f"http://127.0.0.1:{ports.etcd_client}/health", False),
        "kube-apiserver": (f"https://127.0.0.1:{ports.apiserver}/readyz", True),
        "kube-controller-manager": (f"https://127.0.0.1:{ports.controller_manager}/healthz", True),
        "kube-scheduler": (f"https://127.0.0.1:{ports.scheduler}/healthz", True),
        "kwok": (f"http://127.0.0.1:{ports.kwok}/healthz", False),
    }[name]


def _healthy(name: str, ports: Ports, state_dir: Path) -> bool:
    url, uses_tls = _health_url(name, ports)
    context: ssl.SSLContext | None = None
    if uses_tls:
        # The controller-manager and scheduler serve self-signed certificates.
        context = _tls_context(state_dir)
        if name != "kube-apiserver":
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=3, context=context) as response:
            body: str = response.read().decode(errors="replace")
    except (urllib.error.URLError, OSError):
        return False
    if name == "etcd":
        return bool(json.loads(body).get("health") == "true")
    return body.strip() == "ok"


# Popen objects of the processes this Python process started, kept so they are
# reaped on stop instead of lingering as zombies or warning when collected.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class DevCluster:
    """One dev cluster, identified by its state folder."""

    def __init__(self, state_dir: Path, *, progress: Progress | None = None) -> None:
        self.state_dir = state_dir
        self.progress: Progress = progress or (lambda _line: None)

    # -- inspection -------------------------------------------------------

    def state(self) -> ClusterState | None:
        return ClusterState.load(self.state_dir)

    def _recorded_state(self) -> ClusterState:
        state = self.state()
        if state is None:
            raise ClusterError(f"no dev cluster in {self.state_dir}; run `harmonia dev-cluster up`")
        return state

    def component_status(self) -> dict[str, bool]:
        state = self.state()
        if state is None:
            return {}
        return {name: is_running(record) for name, record in state.processes.items()}

    def is_up(self) -> bool:
        state = self.state()
        if state is None:
            return False
        statuses = self.component_status()
        expected = {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}
        return (
            set(statuses) == expected
            and all(statuses.values())
            and all(_healthy(name, state.ports, self.state_dir) for name in expected)
        )

    def info(self) -> ClusterInfo:
        state = self._recorded_state()
        return ClusterInfo(
            state_dir=self.state_dir,
            kubeconfig=kubeconfig_path(self.state_dir),
            server=f"https://127.0.0.1:{state.ports.apiserver}",
            ports=state.ports,
        )

    # -- lifecycle ---------------------------------------------------------

    def up(self, binaries: dict[str, Path], *, ports: Ports | None = None) -> ClusterInfo:
        """Start a cluster; a recorded one is kept (`ports` then do not apply): left alone
        when healthy, else what died is started again (`revive`)."""
        if self.is_up():
            self.progress(f"dev cluster already running ({self.state_dir})")
            return self.info()
        if self.state() is not None:
            return self.revive(binaries)
        chosen = ports or Ports()
        taken = [
            f"{port} ({name})"
            for name, port in chosen.by_component().items()
            if not port_is_free(port)
        ]
        if taken:
            raise ClusterError(
                f"port {', '.join(taken)} already in use on 127.0.0.1; stop what holds it, "
                "or start the dev cluster with --random-ports"
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "logs").mkdir(exist_ok=True)
        (self.state_dir / "kubeconfigs").mkdir(exist_ok=True)
        state = ClusterState(ports=chosen)
        state.save(self.state_dir)
        try:
            self._start_all(state, binaries)
            self._bootstrap(binaries["kubectl"])
        except BaseException:
            self._stop_processes()
            raise
        return self.info()

    def revive(self, binaries: dict[str, Path]) -> ClusterInfo:
        """Start again, in start order, each recorded component that is not running and
        healthy, on its recorded ports and with the same certificates and etcd data; the
        others keep running. A component that does not come back is an error naming it:
        nothing is erased (`down`, then `up`, starts a new, empty cluster)."""
        state = self._recorded_state()
        self.progress(f"found a dev cluster in {self.state_dir} that is not healthy")
        try:
            for name, command in _commands(self.state_dir, state.ports, binaries).items():
                record = state.processes.get(name)
                if record is not None and is_running(record) and self._settles(name, state):
                    continue
                self.progress(f"{name} is not running healthy: starting it again")
                if record is not None:
                    self.kill(name)
                self._start(name, command, state)
            self._bootstrap(binaries["kubectl"])
        except ClusterError as error:
            raise ClusterError(
                f"{error}\nthe cluster's data is kept in {self.state_dir}; "
                "`harmonia dev-cluster down`, then `up`, starts a new, empty one"
            ) from None
        return self.info()

    def _settles(self, name: str, state: ClusterState) -> bool:
        """Whether a running component is healthy, or becomes so within REVIVE_GRACE
        seconds (an API server reconnecting to an etcd just started again)."""
        deadline = time.monotonic() + REVIVE_GRACE
        while not _healthy(name, state.ports, self.state_dir):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.3)
        return True

    def _start_all(self, state: ClusterState, binaries: dict[str, Path]) -> None:
        self.progress("generating certificates")
        pki.write_pki(self.state_dir / "pki")
        server = f"https://127.0.0.1:{state.ports.apiserver}"
        write_kubeconfig(
            kubeconfig_path(self.state_dir),
            server=server,
            pki_dir=self.state_dir / "pki",
            identity=pki.ADMIN,
        )
        for identity in (pki.CONTROLLER_MANAGER, pki.SCHEDULER, pki.KWOK):
            write_kubeconfig(
                self.state_dir / "kubeconfigs" / f"{identity.file_stem}.kubeconfig",
                server=server,
                pki_dir=self.state_dir / "pki",
                identity=identity,
            )
        for name, command in _commands(self.state_dir, state.ports, binaries).items():
            self._start(name, command, state)

    def _start(self, name: str, command: list[str], state: ClusterState) -> None:
        """Start one component, record its pid, and wait until it answers healthy."""
        log = self.state_dir / "logs" / f"{name}.log"
        started = time.monotonic()
        with log.open("ab") as log_file:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.state_dir,
            )
        _CHILDREN[process.pid] = process
        record = ProcessRecord(pid=process.pid, binary=command[0], log=str(log))
        state.processes[name] = record
        state.save(self.state_dir)
        self._wait_healthy(name, process, record, state.ports)
        self.progress(f"{name} healthy after {time.monotonic() - started:.1f}s")

    def _wait_healthy(
        self, name: str, process: subprocess.Popen[bytes], record: ProcessRecord, ports: Ports
    ) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ClusterError(
                    f"{name} exited with code {process.returncode} during start-up; "
                    f"last lines of {record.log}:\n"
                    f"{log_tail(Path(record.log))}"
                )
            if _healthy(name, ports, self.state_dir):
                return
            time.sleep(0.3)
        raise ClusterError(
            f"{name} did not become healthy within {STARTUP_TIMEOUT:.0f}s; last lines of "
            f"{record.log}:\n{log_tail(Path(record.log))}"
        )

    def kubectl(self, kubectl: Path, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [str(kubectl), f"--kubeconfig={kubeconfig_path(self.state_dir)}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def _bootstrap(self, kubectl: Path) -> None:
        """Objects every dev cluster has: the default StorageClass and the kwok nodes."""
        self.progress(f"registering {NODE_COUNT} kwok nodes and the default StorageClass")
        self.kubectl(
            kubectl,
            "apply",
            "--server-side",
            "--field-manager=harmonia-devcluster",
            "-f",
            "-",
            stdin=yaml.safe_dump_all(bootstrap_objects()),
        )
        started = time.monotonic()
        self.kubectl(kubectl, "wait", "--for=condition=Ready", "node", "--all", "--timeout=120s")
        self.progress(f"{NODE_COUNT} nodes Ready after {time.monotonic() - started:.1f}s")
        # Pods are refused until the namespace's default ServiceAccount exists.
        self.kubectl(
            kubectl,
            "wait",
            "--for=create",
            "serviceaccount/default",
            "--namespace=default",
            "--timeout=120s",
        )

    def kill(self, component: str) -> None:
        """SIGKILL one component, as a crash would, and wait until it is gone.

        For fault tests: the others keep running (an API server without etcd, a cluster
        without its API server) until `restart` brings it back.
        """
        record = self._record(component)
        if is_running(record):
            os.kill(record.pid, signal.SIGKILL)
            while is_running(record):
                time.sleep(0.05)
        _reap(record)

    def restart(self, component: str, binaries: dict[str, Path]) -> None:
        """Start one component again with the command line `up` gave it (same ports, same
        data), killing it first if it still runs; returns once it answers healthy."""
        self.kill(component)
        state = self._recorded_state()
        command = _commands(self.state_dir, state.ports, binaries)[component]
        self._start(component, command, state)

    def second_api_server_command(self, binaries: dict[str, Path], *, port: int) -> list[str]:
        """The command line of another API server on this cluster's etcd, serving on `port`:
        what an HA control plane has, for fault tests that write while the first is down."""
        state = self._recorded_state()
        command = _commands(self.state_dir, state.ports, binaries)["kube-apiserver"]
        return [f"--secure-port={port}" if a.startswith("--secure-port=") else a for a in command]

    def _record(self, component: str) -> ProcessRecord:
        state = self._recorded_state()
        if component not in state.processes:
            known = ", ".join(state.processes)
            raise ClusterError(f"the dev cluster has no component {component!r} (it has {known})")
        return state.processes[component]

    def down(self) -> list[str]:
        """Stop what this state folder recorded and remove it; returns what was stopped."""
        stopped = self._stop_processes()
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir)
        return stopped

    def _stop_processes(self) -> list[str]:
        state = self.state()
        if state is None:
            return []
        stopped: list[str] = []
        # Reverse start order: clients before the API server, the API server before etcd.
        for name, record in reversed(list(state.processes.items())):
            if not is_running(record):
                continue
            os.kill(record.pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while is_running(record) and time.monotonic() < deadline:
                time.sleep(0.1)
            if is_running(record):
                os.kill(record.pid, signal.SIGKILL)
                while is_running(record):
                    time.sleep(0.05)
            stopped.append(name)
        for record in state.processes.values():
            _reap(record)
        return stopped


def _reap(record: ProcessRecord) -> None:
    """Collect the exit status of a component this process started (no zombie left)."""
    child = _CHILDREN.pop(record.pid, None)
    if child is not None:
        child.wait()


def bootstrap_objects() -> list[dict[str, object]]:
    capacity = {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "500Gi"}
    storage_class: dict[str, object] = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": STORAGE_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "kubernetes.io/host-path",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }
    nodes: list[dict[str, object]] = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": f"kwok-node-{index}",
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {
                    "type": "kwok",
                    "kubernetes.io/hostname": f"kwok-node-{index}",
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "topology.kubernetes.io/zone": f"zone-{index % 2}",
                },
            },
            "status": {"allocatable": capacity, "capacity": capacity},
        }
        for index in range(NODE_COUNT)
    ]
    return [storage_class, *nodes]
