"""Where a dev cluster keeps its files, and the record of what it started.

One state folder holds everything: certificates, kubeconfigs, etcd's data, one
log per component, and `state.json` with the ports and the pid of each process,
so `down` stops exactly what `up` started.
"""

from __future__ import annotations

import json
import os
import random
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
        """Free ports for a test cluster beside a running one.

        Drawn below the kernel's ephemeral range: a port from there could be taken
        by an outgoing connection's local end before the component binds it.
        """
        low, _high = _ephemeral_range()
        candidates = list(range(max(1024, low - 12000), low))
        random.shuffle(candidates)
        chosen = [port for port in candidates[:200] if port_is_free(port)][:6]
        if len(chosen) < 6:
            raise OSError("found no six free ports below the ephemeral range")
        return cls(*chosen)


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def port_is_free(port: int) -> bool:
    """True if a server could listen on 127.0.0.1:port now (as Go servers do, with SO_REUSEADDR)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


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


DELETED_BINARY_SUFFIX = " (deleted)"


def is_running(record: ProcessRecord) -> bool:
    """True if the pid is alive and runs the recorded binary (pids get reused).

    Reads `/proc/<pid>/exe`, which the kernel sets early in exec, unlike the
    command line, which is briefly empty while a new program starts. A binary removed
    since it started (its cache folder cleared) still runs: the kernel then adds
    " (deleted)" to the path, and `down` must still find and stop it.
    """
    try:
        executable = os.readlink(f"/proc/{record.pid}/exe")
        state = Path(f"/proc/{record.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
        return False
    running_binary = executable.removesuffix(DELETED_BINARY_SUFFIX)
    return running_binary == record.binary and state not in ("Z", "X")
