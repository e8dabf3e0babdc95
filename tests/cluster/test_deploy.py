"""deploy/ on the real dev cluster: Harmonia's own installation, least privilege checked.

The Kustomize base and the Helm chart are each applied under namespaces and cluster-scoped
names of their own (these tests share the cluster), then `kubectl auth can-i` as Harmonia's
service account: what a pass needs is allowed, everything outside its namespaces refused.
A real `harmonia run --once` holding nothing but that account's token proves the rules
suffice for a release of the usual kinds.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from devcluster.build import ensure_binaries
from reconciler.apply.inventory import InventoryEntry, InventoryRecord
from reconciler.objects import ObjectRef
from reconciler.types import ReleaseKey
from tests.cluster.deploy_manifests import (
    NOTIFICATIONS_EXAMPLE,
    Document,
    component_overlay,
    cronjob_overlay,
    find,
    helm_template,
    kustomize,
    notification_values,
    unique_overlay,
)
from tests.cluster.test_run_loop import HARMONIA, STATUS_BRANCH, environment, remote_git
from tests.conftest import GitRepos, LiveCluster

CLUSTER_SCOPED_KINDS = ("ClusterRole", "ClusterRoleBinding")


@dataclass(frozen=True)
class Install:
    """deploy/ as one tool renders it, in namespaces of its own."""

    tool: str
    system: str
    """Harmonia's own namespace (harmonia-system in deploy/)."""
    allowed: tuple[str, str]
    service_account: str
    docs: tuple[Document, ...]

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.system}:{self.service_account}"

    def config_file(self, key: str) -> Document:
        """A file of the harmonia-config ConfigMap (`config.yaml`), parsed."""
        (configmap,) = find(list(self.docs), "ConfigMap")
        loaded: Document = yaml.safe_load(configmap["data"][key])
        return loaded

    @property
    def lease_name(self) -> str:
        return str(self.config_file("config.yaml")["leaderElection"]["name"])


def render(tool: str, run: str, system: str, allowed: tuple[str, str], folder: Path) -> Install:
    binaries = ensure_binaries()
    if tool == "kustomize":
        overlay = unique_overlay(folder, prefix=f"hm-{run}", system=system, allowed=allowed)
        docs = kustomize(binaries["kubectl"], overlay)
        return Install(tool, system, allowed, "harmonia", tuple(docs))
    release = f"harmonia-{run}"
    namespaces = f"allowedNamespaces={{{','.join(allowed)}}}"
    docs = helm_template(binaries["helm"], release, "-n", system, "--set", namespaces)
    return Install(tool, system, allowed, release, tuple(docs))


@pytest.fixture(scope="module", params=["kustomize", "helm"])
def install(
    request: pytest.FixtureRequest, cluster: LiveCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Install]:
    """The allowed namespaces exist first (Harmonia may not create namespaces), Harmonia's
    own warns on any pod the `restricted` Pod Security level would refuse."""
    run = uuid.uuid4().hex[:6]
    system, allowed = f"hm-{run}-system", (f"hm-{run}-shop", f"hm-{run}-streaming")
    installed = render(request.param, run, system, allowed, tmp_path_factory.mktemp("overlay"))
    for namespace in (system, *allowed):
        cluster.kubectl("create", "namespace", namespace)
    cluster.kubectl("label", "namespace", system, "pod-security.kubernetes.io/warn=restricted")
    try:
        manifests = yaml.safe_dump_all(installed.docs)
        applied = cluster.kubectl("apply", "--server-side", "-f", "-", stdin=manifests)
        assert "Warning" not in applied.stderr, applied.stderr
        yield installed
    finally:
        for doc in installed.docs:
            if doc["kind"] in CLUSTER_SCOPED_KINDS:
                name = doc["metadata"]["name"]
                cluster.kubectl("delete", doc["kind"], name, "--ignore-not-found", check=False)
        for namespace in (system, *allowed):
            cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


@dataclass(frozen=True)
class Access:
    verb: str
    resource: str
    """May name `{lease}` (the Lease's name) or `{allowed}` (the first allowed namespace)."""
    where: str
    """`allowed`, `second allowed`, `system` (Harmonia's own), `all`, `cluster`, or a name."""

    def __str__(self) -> str:
        return f"{self.verb} {self.resource} in {self.where}"

    def arguments(self, install: Install) -> list[str]:
        resource = self.resource.format(lease=install.lease_name, allowed=install.allowed[0])
        if self.where == "all":
            return [self.verb, resource, "--all-namespaces"]
        if self.where == "cluster":
            return [self.verb, resource]
        named = {"allowed": install.allowed[0], "second allowed": install.allowed[1]}
        namespace = install.system if self.where == "system" else named.get(self.where)
        return [self.verb, resource, "-n", namespace or self.where]


def can_i(cluster: LiveCluster, install: Install, access: Access) -> bool:
    asked = cluster.kubectl(
        "auth", "can-i", *access.arguments(install), f"--as={install.user}", check=False
    )
    assert asked.stdout.strip() in ("yes", "no"), asked.stderr
    return asked.stdout.strip() == "yes"


NEEDED = [
    Access("create", "deployments.apps", "allowed"),  # server-side apply of a new object
    Access("patch", "deployments.apps", "second allowed"),
    Access("patch", "statefulsets.apps", "allowed"),
    Access("create", "secrets", "allowed"),
    Access("patch", "configmaps", "allowed"),  # the inventory record
    Access("delete", "persistentvolumeclaims", "allowed"),  # prune with deletePvcs
    Access("create", "roles.rbac.authorization.k8s.io", "allowed"),
    Access("create", "rolebindings.rbac.authorization.k8s.io", "allowed"),
    Access("list", "pods", "allowed"),  # health
    Access("list", "replicasets.apps", "allowed"),
    Access("create", "events", "allowed"),
    Access("list", "events", "allowed"),  # a Job its TTL removed; a FailedCreate
    Access("get", "namespaces/{allowed}", "allowed"),  # the release namespace exists
    Access("create", "leases.coordination.k8s.io", "system"),
    Access("patch", "leases.coordination.k8s.io/{lease}", "system"),
    Access("get", "pods", "system"),  # a stale leader label on its own pod, at start
    Access("patch", "pods", "system"),  # the leader label, for the webhooks Service
    Access("list", "configmaps", "all"),  # inventory records in every namespace
    Access("get", "configmaps", "kube-system"),
]

REFUSED = [
    Access("create", "deployments.apps", "default"),
    Access("create", "deployments.apps", "kube-system"),
    Access("patch", "deployments.apps", "system"),  # not even its own Deployment
    Access("create", "secrets", "default"),
    Access("get", "secrets", "kube-system"),
    Access("get", "secrets", "system"),
    Access("list", "secrets", "all"),
    Access("patch", "configmaps", "kube-system"),
    Access("create", "pods", "allowed"),
    Access("patch", "pods", "allowed"),  # labels its own pod only
    Access("patch", "pods", "kube-system"),
    Access("delete", "pods", "system"),
    Access("create", "pods/exec", "allowed"),
    Access("bind", "clusterroles.rbac.authorization.k8s.io", "allowed"),
    Access("escalate", "roles.rbac.authorization.k8s.io", "allowed"),
    Access("create", "clusterroles.rbac.authorization.k8s.io", "cluster"),
    Access("create", "clusterrolebindings.rbac.authorization.k8s.io", "cluster"),
    Access("create", "customresourcedefinitions.apiextensions.k8s.io", "cluster"),
    Access("create", "namespaces", "cluster"),
    Access("delete", "namespaces", "cluster"),
    Access("get", "namespaces/default", "default"),
    Access("patch", "leases.coordination.k8s.io/another-lease", "system"),
    Access("impersonate", "serviceaccounts", "allowed"),
]


@pytest.mark.parametrize("access", NEEDED, ids=str)
def test_the_service_account_may_do_what_a_pass_needs(
    cluster: LiveCluster, install: Install, access: Access
) -> None:
    assert can_i(cluster, install, access), f"{install.user} may not {access} ({install.tool})"


@pytest.mark.parametrize("access", REFUSED, ids=str)
def test_the_service_account_is_refused_everything_outside_its_allowed_namespaces(
    cluster: LiveCluster, install: Install, access: Access
) -> None:
    assert not can_i(cluster, install, access), f"{install.user} may {access} ({install.tool})"


def cronjob_of(install: Install, folder: Path) -> Document:
    """The CronJob variant as the same tool renders it, moved into this install's namespace."""
    binaries = ensure_binaries()
    if install.tool == "kustomize":
        docs = kustomize(binaries["kubectl"], cronjob_overlay(folder))
    else:
        mode = ("-n", install.system, "--set", "mode=cronjob")
        docs = helm_template(binaries["helm"], install.service_account, *mode)
    (cronjob,) = find(docs, "CronJob")
    cronjob["metadata"]["namespace"] = install.system
    return cronjob


def test_the_api_server_accepts_the_cronjob_variant_at_the_restricted_pod_security_level(
    cluster: LiveCluster, install: Install, tmp_path: Path
) -> None:
    body = json.dumps(cronjob_of(install, tmp_path))
    applied = cluster.kubectl("apply", "--server-side", "--dry-run=server", "-f", "-", stdin=body)
    assert "Warning" not in applied.stderr, applied.stderr


def with_notifications_of(install: Install, folder: Path) -> list[Document]:
    """The config and Deployment with the example's receivers and forge (docs/notifications.md)
    as the same tool renders them, moved into this install's namespace."""
    binaries = ensure_binaries()
    if install.tool == "kustomize":
        docs = kustomize(binaries["kubectl"], component_overlay(folder, NOTIFICATIONS_EXAMPLE))
    else:
        values = ("-n", install.system, "-f", str(notification_values(folder)))
        docs = helm_template(binaries["helm"], install.service_account, *values)
    chosen = find(docs, "ConfigMap") + find(docs, "Deployment")
    for doc in chosen:
        doc["metadata"]["namespace"] = install.system
    return chosen


def test_the_api_server_accepts_the_installation_with_notifications_and_a_forge(
    cluster: LiveCluster, install: Install, tmp_path: Path
) -> None:
    body = yaml.safe_dump_all(with_notifications_of(install, tmp_path))
    applied = cluster.kubectl("apply", "--server-side", "--dry-run=server", "-f", "-", stdin=body)
    assert "Warning" not in applied.stderr, applied.stderr
    assert applied.stdout.count("(server dry run)") == 2, applied.stdout


SECRET_VALUE = "s3cr3t-deploy-value"
RELEASE_OBJECTS = """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: web}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web}
data: {mode: fast}
---
apiVersion: v1
kind: Secret
metadata: {name: web}
stringData: {password: SECRET_VALUE}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers: [{name: web, image: "nginx:1.27"}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec: {maxUnavailable: 1, selector: {matchLabels: {app: web}}}
---
# Grants no more than Harmonia holds in the namespace, so creating it needs no `escalate`.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: web}
rules: [{apiGroups: [""], resources: [configmaps, pods], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: web}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: web}
subjects: [{kind: ServiceAccount, name: web, namespace: NAMESPACE}]
"""
RELEASE_KINDS = (
    "serviceaccount",
    "configmap",
    "secret",
    "service",
    "deployment",
    "poddisruptionbudget",
    "role",
    "rolebinding",
)


def release_repository(namespace: str) -> dict[str, str]:
    """One release, `web`, of the kinds charts usually ship, into `namespace`."""
    release = {
        "apiVersion": "harmonia.dev/v1alpha1",
        "kind": "Release",
        "name": "web",
        "namespace": namespace,
        "chartPath": "charts/web",
    }
    objects = RELEASE_OBJECTS.replace("NAMESPACE", namespace)
    return {
        "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
        f"releases/{namespace}/web.yaml": yaml.safe_dump(release),
        "charts/web/objects.yaml": objects.replace("SECRET_VALUE", SECRET_VALUE),
    }


def service_account_kubeconfig(cluster: LiveCluster, install: Install, folder: Path) -> Path:
    """The pod's view of the API server (in a pod, Harmonia reads the same token and CA from
    the service-account volume, as client-go's in-cluster config; tests/image/ runs that):
    the dev cluster's server and CA, and a token of the account, read from a file."""
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    token = cluster.kubectl("-n", install.system, "create", "token", install.service_account)
    (folder / "token").write_text(token.stdout.strip())
    context = {"cluster": "in-cluster", "user": "harmonia", "namespace": install.system}
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "in-cluster", "cluster": admin["clusters"][0]["cluster"]}],
        "users": [{"name": "harmonia", "user": {"tokenFile": str(folder / "token")}}],
        "contexts": [{"name": "in-cluster", "context": context}],
        "current-context": "in-cluster",
    }
    (folder / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    return folder / "kubeconfig"


def pass_as_the_service_account(
    cluster: LiveCluster, install: Install, git_repos: GitRepos, folder: Path
) -> subprocess.CompletedProcess[str]:
    """`harmonia run --once` with leader election, the shipped config (allowing this
    install's namespaces) and the service account's token: the pod's view of the cluster."""
    config = {**install.config_file("config.yaml"), "allowedNamespaces": list(install.allowed)}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    command = [*HARMONIA, "run", "--once", "--leader-elect", "--listen", "off"]
    command += ["--repo", str(git_repos.remote), "--ref", "main"]
    # The install's tests push to their own remotes, one repository to the install: one
    # source, as a release has one owner.
    command += ["--source-id", f"tests:{install.system}"]
    command += ["--config", str(folder / "config.yaml")]
    return subprocess.run(
        command,
        env={
            **environment(cluster, folder / "cache"),
            "KUBECONFIG": str(service_account_kubeconfig(cluster, install, folder)),
            "POD_NAMESPACE": install.system,
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_pass_holding_only_the_service_accounts_token_applies_a_release(
    cluster: LiveCluster, install: Install, git_repos: GitRepos, tmp_path: Path
) -> None:
    shop = install.allowed[0]
    git_repos.commit_and_push(release_repository(shop), "web in the first allowed namespace")
    passed = pass_as_the_service_account(cluster, install, git_repos, tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert SECRET_VALUE not in passed.stdout + passed.stderr
    names = [f"{kind}/web" for kind in RELEASE_KINDS]
    shown = json.loads(cluster.kubectl("-n", shop, "get", *names, "-o", "json").stdout)
    owners = {item["metadata"]["labels"]["app.kubernetes.io/managed-by"] for item in shown["items"]}
    assert (len(shown["items"]), owners) == (len(names), {"harmonia"})
    events = cluster.kubectl("-n", shop, "get", "events", "--field-selector=reason=Applied")
    assert "harmonia-inventory-web" in events.stdout
    cluster.kubectl("-n", install.system, "get", "lease", install.lease_name)


def test_the_status_reaches_git_while_another_installation_has_releases_out_of_its_sight(
    cluster: LiveCluster, install: Install, git_repos: GitRepos, tmp_path: Path, namespace: str
) -> None:
    elsewhere = InventoryRecord(
        release=ReleaseKey(f"{namespace}/other"),
        source="another-harmonia-installation",
        revision="0" * 40,
        input_hash="",
        entries=(InventoryEntry(ObjectRef("apps/v1", "Deployment", namespace, "other")),),
    )
    cluster.kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(elsewhere.to_configmap()))
    shop = install.allowed[0]
    git_repos.commit_and_push(release_repository(shop), "web in the first allowed namespace")
    passed = pass_as_the_service_account(cluster, install, git_repos, tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "status not written" not in passed.stderr, passed.stderr
    status_files = remote_git(git_repos, "ls-tree", "-r", "--name-only", STATUS_BRANCH).split()
    assert f"status/{shop}/web.yaml" in status_files
