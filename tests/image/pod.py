"""A pod of deploy/, played by `buildah run` on this machine: no kubelet runs the image here.

What the container gets is read off the installed object's pod template, as a kubelet would
give it: the command (`$(VAR)` expanded), the environment (fieldRefs resolved), every volume
(ConfigMap and Secret files fetched from the API server, emptyDirs as fresh folders owned
by the pod's user) and the service-account volume at its standard path, with a token from
the TokenRequest API. The network is the host's, so the API server is reached on loopback.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devcluster.buildah import buildah
from tests.conftest import LiveCluster

SERVICE_ACCOUNT_FOLDER = "/var/run/secrets/kubernetes.io/serviceaccount"

Json = dict[str, Any]


@dataclass(frozen=True)
class Mount:
    host: Path
    path: str
    read_only: bool


@dataclass
class PodRun:
    """One container of a pod, ready for `buildah run`."""

    command: list[str]
    env: dict[str, str]
    hostname: str
    mounts: list[Mount] = field(default_factory=list)

    def buildah_run(self, container: str) -> list[str]:
        """The pod's user is the image's own (USER 10001): no --user is given, so a run as
        root would show up here rather than be hidden by the test."""
        options = ["--isolation", "chroot", "--network", "host", "--terminal=false"]
        options += ["--uts", "private", "--hostname", self.hostname]
        for name, value in sorted(self.env.items()):
            options.append(f"--env={name}={value}")
        for mount in self.mounts:
            mode = "ro" if mount.read_only else "rw"
            options.append(f"--volume={mount.host}:{resolved(mount.path)}:{mode}")
        return buildah("run", *options, container, "--", *self.command)


def resolved(path: str) -> str:
    """The destination without the image's /var/run link (Debian's /var/run is /run):
    buildah's chroot mode follows a link in a volume's destination on the host's side, so
    /var/run/... would be mounted onto the host's own /run."""
    return "/run/" + path.removeprefix("/var/run/") if path.startswith("/var/run/") else path


def expand(text: str, env: dict[str, str]) -> str:
    """The kubelet's `$(NAME)` expansion in args: `$$` escapes, unknown names stay as written."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", substitute, text)


def container_env(container: Json, *, pod_name: str, namespace: str) -> dict[str, str]:
    fields = {"metadata.name": pod_name, "metadata.namespace": namespace}
    env: dict[str, str] = {}
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = expand(variable["value"], env)
        else:
            env[variable["name"]] = fields[variable["valueFrom"]["fieldRef"]["fieldPath"]]
    return env


def server_address(cluster: LiveCluster) -> tuple[str, str]:
    """KUBERNETES_SERVICE_HOST and _PORT: the API server as the kubeconfig reaches it."""
    admin = json.loads(cluster.kubectl("config", "view", "--raw", "--flatten", "-o", "json").stdout)
    server = admin["clusters"][0]["cluster"]["server"]
    host, _, port = server.removeprefix("https://").rpartition(":")
    return host, port


def _write(folder: Path, relative: str, content: bytes, *, mode: int) -> None:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.chown(path, 10001, 10001)
    path.chmod(mode)


def _object_files(
    cluster: LiveCluster, namespace: str, source: Json, kind: str
) -> dict[str, bytes]:
    """The files a configMap or secret volume source projects (its items, else every key)."""
    shown = cluster.kubectl("-n", namespace, "get", kind, source["name"], "-o", "json", check=False)
    if shown.returncode != 0:
        if source.get("optional"):
            return {}
        raise AssertionError(f"{kind}/{source['name']} is missing: {shown.stderr}")
    body = json.loads(shown.stdout)
    data = {key: value.encode() for key, value in body.get("data", {}).items()}
    if kind == "secret":
        data = {key: base64.b64decode(value) for key, value in body.get("data", {}).items()}
    items = source.get("items")
    if not items:
        return data
    return {item["path"]: data[item["key"]] for item in items if item["key"] in data}


def volume_folder(cluster: LiveCluster, namespace: str, volume: Json, folder: Path) -> Path:
    """A volume's content in a folder of its own, as the kubelet would lay it out."""
    target = folder / volume["name"]
    target.mkdir(parents=True)
    os.chown(target, 10001, 10001)
    if "emptyDir" in volume:
        return target
    projected = volume.get("projected")
    sources = projected["sources"] if projected else [volume]
    mode = (projected or volume.get("configMap") or volume.get("secret") or {}).get(
        "defaultMode", 0o644
    )
    for source in sources:
        for kind in ("configMap", "secret"):
            if kind in source:
                reference = source[kind]
                if kind == "secret" and "secretName" in reference:
                    reference = {**reference, "name": reference["secretName"]}
                for relative, content in _object_files(
                    cluster, namespace, reference, kind.lower()
                ).items():
                    _write(target, relative, content, mode=mode)
    return target


def service_account_folder(
    cluster: LiveCluster, namespace: str, account: str, folder: Path
) -> Path:
    """token (TokenRequest API), ca.crt and namespace, as every pod gets them."""
    target = folder / "serviceaccount"
    target.mkdir(parents=True)
    token = cluster.kubectl("-n", namespace, "create", "token", account, "--duration=1h").stdout
    admin = json.loads(cluster.kubectl("config", "view", "--raw", "--flatten", "-o", "json").stdout)
    authority = base64.b64decode(admin["clusters"][0]["cluster"]["certificate-authority-data"])
    for name, content in (
        ("token", token.strip().encode()),
        ("ca.crt", authority),
        ("namespace", namespace.encode()),
    ):
        _write(target, name, content, mode=0o444)
    return target


def pod_run(
    cluster: LiveCluster, pod_template: Json, *, namespace: str, pod_name: str, folder: Path
) -> PodRun:
    """The first container of the template, with what the kubelet would give it."""
    spec = pod_template["spec"]
    (container,) = spec["containers"]
    env = container_env(container, pod_name=pod_name, namespace=namespace)
    host, port = server_address(cluster)
    env.update(
        {
            "HOSTNAME": pod_name,
            "KUBERNETES_SERVICE_HOST": host,
            "KUBERNETES_SERVICE_PORT": port,
            "KUBERNETES_SERVICE_PORT_HTTPS": port,
        }
    )
    command = ["harmonia", *[expand(argument, env) for argument in container.get("args", [])]]
    volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
    mounts = []
    for mount in container.get("volumeMounts", []):
        host_folder = volume_folder(cluster, namespace, volumes[mount["name"]], folder)
        mounts.append(Mount(host_folder, mount["mountPath"], bool(mount.get("readOnly"))))
    account = spec.get("serviceAccountName", "default")
    accounts = service_account_folder(cluster, namespace, account, folder)
    mounts.append(Mount(accounts, SERVICE_ACCOUNT_FOLDER, True))
    return PodRun(command, env, pod_name, mounts)


def run_in(container: str, pod: PodRun, *, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        pod.buildah_run(container), capture_output=True, text=True, timeout=timeout, check=False
    )
