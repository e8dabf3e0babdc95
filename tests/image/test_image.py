"""The container image, built from the Dockerfile and run as deploy/'s pods would run it.

buildah builds the image (devcluster/image.py); `helm install deploy/helm/harmonia` installs
Harmonia into the dev cluster; the image then runs with exactly what that install's pod
would get (tests/image/pod.py): its own non-root user, a read-only root with only the
volumes writable, the service account's token, the CA and the API server's address. A pass
applies the examples (a Helm, a Jsonnet and a Kustomize chart) and pushes the status; the
chart's RBAC refuses a namespace it was not given; the Deployment serves its probes and
holds the Lease.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest
import yaml

from devcluster.buildah import buildah
from devcluster.image import IMAGE, build_image
from tests.conftest import LiveCluster
from tests.image.pod import Mount, PodRun, pod_run, resolved
from tests.recording_server import RecordingServer, Reply, recording_server
from tests.sops_files import sops_binary

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
REMOTE_PATH = "/srv/releases.git"
STATUS_BRANCH = "harmonia-status"
BUILDAH_MOUNTED_FILES = ("etc/hosts", "etc/resolv.conf", "etc/hostname")
"""Files `buildah run` binds over: they must exist before the root is made read-only."""
FORGE_TOKEN = "ghp_image-forge-t0ken"
DEMO_PASSWORD_FILE = ROOT / "examples" / "values" / "shop" / "web-secrets.yaml"
GATEWAY = {
    "kustomization.yaml": "resources: [configmap.yaml, deployment.yaml]\n",
    "configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gateway}\ndata: {a: b}\n",
    "deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: gateway}
spec:
  replicas: 1
  selector: {matchLabels: {app: gateway}}
  template:
    metadata: {labels: {app: gateway}}
    spec:
      containers: [{name: gateway, image: "nginx:1.27"}]
""",
}


@dataclass(frozen=True)
class Installation:
    """`helm install deploy/helm/harmonia` under names of its own (the tests share the cluster)."""

    release: str
    system: str
    shop: str
    streaming: str
    denied: str
    """A namespace the chart was not given: no RoleBinding there."""

    def template(self, cluster: LiveCluster, kind: str) -> dict[str, object]:
        """The pod template of the installed Deployment or CronJob."""
        shown = cluster.kubectl("-n", self.system, "get", kind, self.release, "-o", "json")
        body = json.loads(shown.stdout)
        spec = body["spec"]["jobTemplate"]["spec"] if kind == "cronjob" else body["spec"]
        template: dict[str, object] = spec["template"]
        return template

    def helm(self, cluster: LiveCluster, verb: str, *settings: str) -> None:
        chart = str(ROOT / "deploy" / "helm" / "harmonia")
        command = [str(cluster.binaries["helm"]), f"--kubeconfig={cluster.kubeconfig}", verb]
        command += [self.release, chart, "-n", self.system]
        for setting in settings:
            command += [setting] if setting.startswith("--") else ["--set", setting]
        subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)

    def pod(self, cluster: LiveCluster, kind: str, pod_name: str, folder: Path) -> PodRun:
        template = self.template(cluster, kind)
        return pod_run(cluster, template, namespace=self.system, pod_name=pod_name, folder=folder)


@pytest.fixture(scope="module")
def image() -> str:
    started = time.monotonic()
    tag = build_image(IMAGE)
    print(f"\nimage {tag} built in {time.monotonic() - started:.0f}s")
    return tag


@pytest.fixture(scope="module")
def forge() -> Iterator[RecordingServer]:
    """A loopback server playing GitHub's statuses API, for the installation's forge."""
    with recording_server(lambda _request: Reply(201, {"id": 1})) as server:
        yield server


@pytest.fixture(scope="module")
def installation(cluster: LiveCluster, forge: RecordingServer) -> Iterator[Installation]:
    run = uuid.uuid4().hex[:6]
    installed = Installation(
        release=f"harmonia-img-{run}",
        system=f"harmonia-img-{run}-system",
        shop=f"harmonia-img-{run}-shop",
        streaming=f"harmonia-img-{run}-streaming",
        denied=f"harmonia-img-{run}-denied",
    )
    namespaces = (installed.system, installed.shop, installed.streaming, installed.denied)
    for namespace in namespaces:
        cluster.kubectl("create", "namespace", namespace)
    age_key = f"--from-file=keys.txt={ROOT / 'examples' / 'keys' / 'demo-age-key.txt'}"
    cluster.kubectl(
        "-n", installed.system, "create", "secret", "generic", "harmonia-sops-age", age_key
    )
    # A file:// remote takes no credentials; the chart names the Secret all the same.
    placeholder = "--from-literal=token=unused-by-a-file-remote"
    cluster.kubectl(
        "-n", installed.system, "create", "secret", "generic", "git-credentials", placeholder
    )
    token = f"--from-literal=token={FORGE_TOKEN}"
    cluster.kubectl("-n", installed.system, "create", "secret", "generic", "harmonia-forge", token)
    installed.helm(
        cluster,
        "install",
        "mode=cronjob",
        "schedule=0 0 1 1 *",
        f"repository.url=file://{REMOTE_PATH}",
        f"allowedNamespaces={{{installed.shop},{installed.streaming}}}",
        *("forge.type=github", f"forge.apiUrl={forge.url}", "forge.repository=platform/releases"),
        "forge.tokenSecret=harmonia-forge",
    )
    try:
        yield installed
    finally:
        helm = [str(cluster.binaries["helm"]), f"--kubeconfig={cluster.kubeconfig}"]
        subprocess.run(
            [*helm, "uninstall", installed.release, "-n", installed.system],
            capture_output=True,
            check=False,
        )
        for namespace in namespaces:
            cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def git(*arguments: str, cwd: Path) -> str:
    """Git as root, also in the remote the image's user owns (Git refuses a repository of
    another user unless it is named safe)."""
    command = ["git", "-c", "safe.directory=*", *arguments]
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def examples_remote(
    installation: Installation, folder: Path, extra: dict[str, str] | None = None
) -> Path:
    """A bare repository holding examples/ with its namespaces renamed to the install's, plus
    a Kustomize folder release: a Helm, a Jsonnet and a Kustomize chart, and a SOPS file."""
    work = folder / "work"
    shutil.copytree(ROOT / "examples", work, ignore=shutil.ignore_patterns("keys", "ci"))
    renamed = {"shop": installation.shop, "streaming": installation.streaming}
    for old, new in renamed.items():
        for release in sorted((work / "releases" / old).glob("*.yaml")):
            text = release.read_text().replace(f"\nnamespace: {old}\n", f"\nnamespace: {new}\n")
            (work / "releases" / new).mkdir(exist_ok=True)
            (work / "releases" / new / release.name).write_text(text)
        shutil.rmtree(work / "releases" / old)
    for name, text in GATEWAY.items():
        (work / "charts" / "gateway").mkdir(exist_ok=True)
        (work / "charts" / "gateway" / name).write_text(text)
    gateway = {"apiVersion": "harmonia.dev/v1alpha1", "kind": "Release", "name": "gateway"}
    gateway |= {"namespace": installation.shop, "chartPath": "charts/gateway"}
    (work / "releases" / installation.shop / "gateway.yaml").write_text(yaml.safe_dump(gateway))
    for relative, text in (extra or {}).items():
        (work / relative).parent.mkdir(parents=True, exist_ok=True)
        (work / relative).write_text(text)
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("add", "--all", cwd=work)
    git(
        "-c",
        "user.name=Tests",
        "-c",
        "user.email=tests@example.com",
        "commit",
        "-qm",
        "examples",
        cwd=work,
    )
    remote = folder / "releases.git"
    git("clone", "--quiet", "--bare", str(work), str(remote), cwd=folder)
    subprocess.run(["chown", "-R", "10001:10001", str(remote)], check=True)
    return remote


def inside(root: Path, path: str) -> Path:
    """A path of the container as a host path under its root folder, symlinks resolved
    within that root (Debian's /var/run is a link to /run: followed on the host, it would
    lead to the host's own /run)."""
    current = root
    for part in PurePosixPath(path).parts[1:]:
        candidate = current / part
        if candidate.is_symlink():
            target = os.readlink(candidate)
            base = "/" if target.startswith("/") else "/" + str(current.relative_to(root))
            current = inside(root, str(PurePosixPath(base) / target))
        else:
            current = candidate
    return current


@contextmanager
def container(image: str, mount_points: list[str]) -> Iterator[str]:
    """A container of the image whose root file system is read-only: its folder is bound
    read-only onto itself before `buildah run` enters it (buildah has no --read-only).
    /run stays a folder of root's own (uid 10001 cannot write there either): buildah
    writes and removes its `.containerenv` there, and its cleanup panics on a read-only
    /run, losing the command's exit code."""
    name = subprocess.run(
        buildah("from", "--pull=never", image), capture_output=True, text=True, check=True
    ).stdout.strip()
    root = subprocess.run(buildah("mount", name), capture_output=True, text=True, check=True)
    folder = Path(root.stdout.strip())
    points = [inside(folder, point) for point in mount_points]
    under_run = [point for point in points if point.is_relative_to(folder / "run")]
    for point in set(points) - set(under_run):
        point.mkdir(parents=True, exist_ok=True)
    for file in BUILDAH_MOUNTED_FILES:
        (folder / file).touch()
    with tempfile.TemporaryDirectory(prefix="harmonia-run-") as run:
        os.chmod(run, 0o755)  # as the image's own /run
        subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
        subprocess.run(["mount", "--bind", run, str(folder / "run")], check=True)
        for point in under_run:
            point.mkdir(parents=True, exist_ok=True)
        try:
            yield name
        finally:
            subprocess.run(["umount", str(folder / "run")], check=False)
            subprocess.run(["umount", str(folder)], check=False)
            subprocess.run(buildah("rm", name), capture_output=True, check=False)


def with_remote(pod: PodRun, remote: Path) -> PodRun:
    return dataclasses.replace(pod, mounts=[*pod.mounts, Mount(remote, REMOTE_PATH, False)])


def statuses(remote: Path) -> dict[str, dict[str, object]]:
    """Each release's status file on the status branch the pass pushed."""
    names = git("ls-tree", "-r", "--name-only", STATUS_BRANCH, cwd=remote).split()
    found: dict[str, dict[str, object]] = {}
    for name in names:
        if name.startswith("status/") and name.endswith(".yaml"):
            body = yaml.safe_load(git("show", f"{STATUS_BRANCH}:{name}", cwd=remote))
            found[name.removeprefix("status/").removesuffix(".yaml")] = body
    return found


def demo_password() -> str:
    """The value sops decrypts from the example's encrypted values file: a canary that no
    output of the image may show."""
    key = ROOT / "examples" / "keys" / "demo-age-key.txt"
    decrypted = subprocess.run(
        [str(sops_binary()), "--decrypt", str(DEMO_PASSWORD_FILE)],
        env={**os.environ, "SOPS_AGE_KEY_FILE": str(key)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return str(yaml.safe_load(decrypted)["secret"]["databasePassword"])


def mount_points(pod: PodRun) -> list[str]:
    return [resolved(mount.path) for mount in pod.mounts]


def run_pass(image: str, pod: PodRun) -> subprocess.CompletedProcess[str]:
    with container(image, mount_points(pod)) as name:
        return subprocess.run(
            pod.buildah_run(name), capture_output=True, text=True, timeout=900, check=False
        )


def test_the_image_runs_as_its_non_root_user_on_a_read_only_root_with_every_chart_tool(
    image: str, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    os.chown(cache, 10001, 10001)
    probe = PodRun(
        command=[
            "sh",
            "-c",
            "id -u; id -g; helm version --short; kubectl version --client; "
            "sops --version --disable-version-check; harmonia --help | head -1; "
            "harmonia-renderer < /dev/null && echo renderer runs; "
            "touch /var/cache/harmonia/written && echo cache writable; "
            "touch /home/harmonia/written 2>&1; touch /usr/local/bin/written 2>&1; true",
        ],
        env={},
        hostname="probe",
        mounts=[Mount(cache, "/var/cache/harmonia", False)],
    )
    probed = run_pass(image, probe)
    print(probed.stdout)
    assert probed.returncode == 0, probed.stderr
    lines = probed.stdout.splitlines()
    assert lines[:2] == ["10001", "10001"]
    assert "v4.3.1" in lines[2]
    assert "Client Version: v1.36.3" in probed.stdout
    assert "sops 3.13.3" in probed.stdout
    assert "renderer runs" in probed.stdout
    assert "cache writable" in probed.stdout
    assert (cache / "written").is_file()
    assert probed.stdout.count("Read-only file system") == 2, probed.stdout


def test_a_pass_in_the_image_applies_the_examples_and_pushes_the_status(
    image: str,
    installation: Installation,
    cluster: LiveCluster,
    forge: RecordingServer,
    tmp_path: Path,
) -> None:
    """Also: the chart's forge values reach the pod (its token from the Secret the chart
    mounts), and the pass sets each release's status on the commit it applied."""
    remote = examples_remote(installation, tmp_path)
    forge.requests.clear()
    pod = installation.pod(cluster, "cronjob", f"{installation.release}-once", tmp_path / "pod")
    passed = run_pass(image, with_remote(pod, remote))
    output = passed.stdout + passed.stderr
    print(output)
    assert passed.returncode == 0, output
    assert "harmonia-renderer not found" not in output  # the charts render in the renderer
    assert demo_password() not in output
    found = statuses(remote)
    shop, streaming = installation.shop, installation.streaming
    expected = {f"{shop}/{name}" for name in ("web", "cache", "gateway")}
    expected |= {f"{streaming}/{name}" for name in ("zookeeper", "kafka")}
    assert {key: body["state"] for key, body in found.items()} == dict.fromkeys(expected, "Ready")
    commit = git("rev-parse", "main", cwd=remote)
    posted = [(request.path, request.json()) for request in forge.requests]
    assert {path for path, _body in posted} == {f"/repos/platform/releases/statuses/{commit}"}
    assert {body["context"] for _path, body in posted} == {f"harmonia/{key}" for key in expected}
    last = {body["context"]: body["state"] for _path, body in posted}
    assert set(last.values()) == {"success"}
    assert all(r.headers["authorization"] == f"Bearer {FORGE_TOKEN}" for r in forge.requests)
    assert FORGE_TOKEN not in output
    web = json.loads(cluster.kubectl("-n", shop, "get", "secret", "web", "-o", "json").stdout)
    decoded = {base64.b64decode(value).decode() for value in web["data"].values()}
    assert any(demo_password() in value for value in decoded)


DENIED_RELEASE = """apiVersion: harmonia.dev/v1alpha1
kind: Release
name: intruder
namespace: NAMESPACE
chartPath: charts/intruder
"""
DENIED_OBJECT = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: intruder}\ndata: {a: b}\n"


def test_a_namespace_the_chart_was_not_given_is_refused_by_the_api_server_and_reported(
    image: str, installation: Installation, cluster: LiveCluster, tmp_path: Path
) -> None:
    """Someone widened the ConfigMap's allowedNamespaces but not the chart's RoleBindings:
    Harmonia's own check passes, and the API server's RBAC refuses, for that release only."""
    denied = installation.denied
    extra = {
        f"releases/{denied}/intruder.yaml": DENIED_RELEASE.replace("NAMESPACE", denied),
        "charts/intruder/configmap.yaml": DENIED_OBJECT,
    }
    remote = examples_remote(installation, tmp_path, extra)
    pod = installation.pod(cluster, "cronjob", f"{installation.release}-once", tmp_path / "pod")
    config = next(m.host for m in pod.mounts if m.path == "/etc/harmonia") / "config.yaml"
    widened = yaml.safe_load(config.read_text())
    widened["allowedNamespaces"].append(denied)
    config.write_text(yaml.safe_dump(widened))
    passed = run_pass(image, with_remote(pod, remote))
    output = passed.stdout + passed.stderr
    print(output)
    found = statuses(remote)
    refused = found.pop(f"{denied}/intruder")
    assert refused["state"] == "Failed", refused
    message = str(refused["message"])
    assert "forbidden" in message and denied in message, message
    assert f"{denied}/intruder" in output and "forbidden" in output
    assert {body["state"] for body in found.values()} == {"Ready"}, found
    assert (
        cluster.kubectl("-n", denied, "get", "configmap", "intruder", check=False).returncode != 0
    )


def container_process(buildah_pid: int) -> int:
    """The pid of the container's command: the first process under `buildah run` that
    runs the image's `harmonia` (under buildah-chroot-runtime and buildah-chroot-exec)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    waiting = list(children.get(buildah_pid, []))
    while waiting:
        pid = waiting.pop(0)
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        wrapper = command[0].startswith(b"buildah")  # buildah-chroot-exec names the command
        if not wrapper and any(part.endswith(b"/bin/harmonia") for part in command):
            return pid
        waiting += children.get(pid, [])
    raise AssertionError(f"no harmonia process under buildah {buildah_pid}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answer(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            status: int = response.status
            return status
    except OSError:
        return 0


def wait_until(check: Callable[[], bool], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds}s: {what}"
        time.sleep(0.5)


def test_the_deployment_serves_its_probes_holds_the_lease_and_labels_its_pod(
    image: str, installation: Installation, cluster: LiveCluster, tmp_path: Path
) -> None:
    remote = examples_remote(installation, tmp_path)
    installation.helm(cluster, "upgrade", "--reuse-values", "mode=deployment", "replicas=1")
    selector = f"app.kubernetes.io/instance={installation.release}"
    pods: list[str] = []

    def pod_exists() -> bool:
        shown = cluster.kubectl(
            "-n", installation.system, "get", "pods", "-l", selector, "-o", "name"
        )
        pods[:] = shown.stdout.split()
        return len(pods) == 1

    wait_until(pod_exists, seconds=60, what="the Deployment's pod")
    pod_name = pods[0].removeprefix("pod/")
    pod = installation.pod(cluster, "deployment", pod_name, tmp_path / "pod")
    # The pod's own network namespace has port 8080 to itself; on the host's, a free port
    # stands in for it, as a port mapping would.
    port = free_port()
    command = [f"127.0.0.1:{port}" if arg == "0.0.0.0:8080" else arg for arg in pod.command]
    assert command != pod.command, pod.command
    pod = with_remote(dataclasses.replace(pod, command=command), remote)
    lease = f"{installation.release}-leader"
    with container(image, mount_points(pod)) as name:
        running = subprocess.Popen(
            pod.buildah_run(name),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until(lambda: answer(f"{base}/healthz") == 200, seconds=120, what="/healthz")
            wait_until(lambda: answer(f"{base}/readyz") == 200, seconds=120, what="/readyz")

            def holder() -> str:
                shown = cluster.kubectl(
                    "-n", installation.system, "get", "lease", lease, "-o", "json", check=False
                )
                return str(
                    json.loads(shown.stdout or "{}").get("spec", {}).get("holderIdentity", "")
                )

            wait_until(lambda: holder().startswith(f"{pod_name}_"), seconds=60, what="the Lease")
            labelled = cluster.kubectl(
                "-n", installation.system, "get", "pod", pod_name, "-o", "json"
            )
            labels = json.loads(labelled.stdout)["metadata"]["labels"]
            assert labels.get("harmonia.dev/leader") == "true", labels
        finally:
            # As the kubelet stops a container: SIGTERM to its process (buildah would
            # answer a signal of its own by killing it).
            os.kill(container_process(running.pid), signal.SIGTERM)
            output, _ = running.communicate(timeout=150)
            print(output)
        assert running.returncode == 0, output
        assert demo_password() not in output
        assert holder() == "", "the Lease was not given up on SIGTERM"
