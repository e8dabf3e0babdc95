"""Where a dev cluster keeps its files, and the record of what it started.

One state folder holds everything: certificates, kubeconfigs, etcd's data, one
log per component, and `state.json` with the ports and the pid of each process,
so `down` stops exactly what `up` started.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path


def default_state_dir() -> Path:
    """`$HARMONIA_DEVCLUSTER_DIR`, else `$XDG_STATE_HOME/harmonia/devcluster`."""
    explicit = os.environ.get("HARMONIA_DEVCLUSTER_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "harmonia" / "devcluster"


@dataclass(frozen=True)
class Ports:
    """Every port the cluster listens on, all on 127.0.0.1."""

    apiserver: int = 16443
    etcd_client: int = 16379
    etcd_peer: int = 16380
    controller_manager: int = 16257
    scheduler: int = 16259
    kwok: int = 16247

    def by_component(self) -> dict[str, int]:
        return {
            "kube-apiserver": self.apiserver,
            "etcd (client)": self.etcd_client,
            "etcd (peer)": self.etcd_peer,
            "kube-controller-manager": self.controller_manager,
            "kube-scheduler": self.scheduler,
            "kwok": self.kwok,
        }

    @classmethod
    def free(cls) -> Ports:
        """Ports the kernel hands out now; for test clusters beside a running one."""
        sockets = [socket.socket() for _ in range(6)]
        try:
            for s in sockets:
                s.bind(("127.0.0.1", 0))
            numbers = [s.getsockname()[1] for s in sockets]
        finally:
            for s in sockets:
                s.close()
        return cls(*numbers)


@dataclass
class ProcessRecord:
    """A started component: its pid, and the binary that pid must be running."""

    pid: int
    binary: str
    log: str


@dataclass
class ClusterState:
    ports: Ports
    processes: dict[str, ProcessRecord] = field(default_factory=dict)

    def save(self, folder: Path) -> None:
        path = folder / "state.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2))
        temporary.replace(path)

    @classmethod
    def load(cls, folder: Path) -> ClusterState | None:
        path = folder / "state.json"
        if not path.is_file():
            return None
        raw = json.loads(path.read_text())
        return cls(
            ports=Ports(**raw["ports"]),
            processes={name: ProcessRecord(**record) for name, record in raw["processes"].items()},
        )


def is_running(record: ProcessRecord) -> bool:
    """True if the pid is alive and runs the recorded binary (pids get reused).

    Reads `/proc/<pid>/exe`, which the kernel sets early in exec, unlike the
    command line, which is briefly empty while a new program starts.
    """
    try:
        executable = os.readlink(f"/proc/{record.pid}/exe")
        state = Path(f"/proc/{record.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
        return False
    return executable == record.binary and state not in ("Z", "X")
