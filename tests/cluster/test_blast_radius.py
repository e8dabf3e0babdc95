"""Blast radius against the real cluster: what the API server refuses, and Lists a chart
renders, affect one release (and its dependents), never the pass.

A ConfigMap with a number in `data`, a Secret with a number in `stringData` and a pod
template with an unknown field get HTTP 500 from server-side apply; each fails its own
release while `harmonia run --once` applies, removes and reports everything else. A
chart rendering `kind: List` (or `RoleBindingList`) is applied as its items, by every
engine; a list kind that cannot be named fails its release at render.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from reconciler.desired import Tools
from reconciler.kube.connection import KubeTarget
from reconciler.loop import cycle
from reconciler.loop.service import Service
from reconciler.loop.settings import RunSettings
from reconciler.policy import Policy
from reconciler.reconcile import Outcome
from reconciler.types import JsonObject
from tests import manifests
from tests.cluster.accounts import namespace_kubeconfig
from tests.cluster.test_run_loop import (
    environment,
    free_port,
    http_get,
    remote_git,
    run_once,
    status_file,
)
from tests.cluster.workbench import Workbench, helm_chart
from tests.conftest import GitRepos, LiveCluster
from tests.waiting import wait_for

REJECTED_PIN = 73519864
"""The number a chart puts unquoted into a Secret's stringData: never to be shown."""


def config_map(name: str, **data: object) -> JsonObject:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def release_file(namespace: str, name: str, **fields: object) -> str:
    """A release of the chart of its own name, unless `fields` name another."""
    return manifests.release_yaml(namespace, name, **{"chartPath": f"charts/{name}", **fields})


def plain_chart(name: str, objects: list[JsonObject]) -> dict[str, str]:
    return {f"charts/{name}/objects.yaml": yaml.safe_dump_all(objects, sort_keys=False)}


def deployment_with_unknown_volume_field(name: str) -> JsonObject:
    """WALM's kafka chart's mistake: a volume with a key the pod schema does not know."""
    pod = {"volumes": [{"name": "data", "tosDisk": {"size": "10Gi"}}]}
    image = "registry.invalid/kafka:1"
    return manifests.workload("Deployment", name, container="main", image=image, pod=pod)


def test_run_once_fails_only_the_releases_whose_objects_the_api_server_rejects(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    ns = namespace
    files: dict[str, str] = {
        "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
    }
    for name in ("good", "retired", "steady", "calm"):
        files[f"releases/{ns}/{name}.yaml"] = release_file(ns, name)
        files.update(plain_chart(name, [config_map(name, phase="1")]))
    git_repos.commit_and_push(files, "four releases")
    cache = tmp_path / "cache"
    first = run_once(cluster, git_repos, cache)
    assert first.returncode == 0, first.stderr

    # The next commit: one release changes, one leaves Git, and three arrive whose
    # objects the API server refuses (with HTTP 500), one with a dependent.
    git_repos.git("rm", "--quiet", f"releases/{ns}/retired.yaml")
    secret: JsonObject = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "bad-secret"},
        "stringData": {"pin": REJECTED_PIN},
    }
    files = {
        **plain_chart("good", [config_map("good", phase="2")]),
        **plain_chart("bad-number", [config_map("bad-number", port=8080)]),
        **plain_chart("bad-secret", [secret]),
        **plain_chart("bad-field", [deployment_with_unknown_volume_field("bad-field")]),
        **plain_chart("dependent", [config_map("dependent", phase="1")]),
        f"releases/{ns}/bad-number.yaml": release_file(ns, "bad-number"),
        f"releases/{ns}/bad-secret.yaml": release_file(ns, "bad-secret"),
        f"releases/{ns}/bad-field.yaml": release_file(ns, "bad-field"),
        f"releases/{ns}/dependent.yaml": release_file(
            ns, "dependent", dependencies={"numbers": "bad-number"}
        ),
    }
    commit = git_repos.commit_and_push(files, "three releases the API server refuses")
    second = run_once(cluster, git_repos, cache)

    # A release failed: exit 1, not 3 ("cannot reach the cluster"); the pass finished.
    assert second.returncode == 1, second.stderr
    log = second.stdout + second.stderr
    assert "pass finished at revision" in log
    live = json.loads(cluster.kubectl("-n", ns, "get", "configmap", "good", "-o", "json").stdout)
    assert live["data"] == {"phase": "2"}
    assert cluster.kubectl("-n", ns, "get", "configmap", "retired", check=False).returncode != 0

    expected = {
        "bad-number": f"ConfigMap/{ns}/bad-number apply failed: ",
        "bad-secret": f"Secret/{ns}/bad-secret apply failed: ",
        "bad-field": f"Deployment/{ns}/bad-field apply failed: ",
    }
    for name, subject in expected.items():
        status = status_file(git_repos, f"status/{ns}/{name}.yaml")
        sync = status["sync"]
        assert isinstance(sync, dict)
        assert (sync["revision"], sync["state"]) == (commit, "Failed"), status
        assert str(sync["message"]).startswith(subject), sync
        assert f"release {ns}/{name} Failed" in log
    assert ".data.port: expected string" in log
    assert ".tosDisk: field not declared in schema" in log
    dependent = status_file(git_repos, f"status/{ns}/dependent.yaml")
    assert dependent["state"] == "Blocked", dependent
    for name in ("steady", "calm", "good"):
        assert status_file(git_repos, f"status/{ns}/{name}.yaml")["state"] == "Ready"

    # The rejected number is the Secret's value: nowhere in the log or the status branch.
    status_branch = remote_git(git_repos, "log", "-p", "harmonia-status")
    assert ".stringData.pin: expected string" in status_branch
    assert str(REJECTED_PIN) not in log + status_branch


def folder_chart(root: Path, name: str, files: dict[str, str]) -> str:
    folder = root / "charts" / name
    folder.mkdir(parents=True)
    for relative, text in files.items():
        (folder / relative).write_text(text)
    return f"charts/{name}"


def role(name: str) -> JsonObject:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": name},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
    }


def listed(kind: str, items: list[JsonObject], api_version: str = "v1") -> JsonObject:
    return {"apiVersion": api_version, "kind": kind, "items": items}


def test_every_engine_applies_a_list_as_its_items_and_an_unnamed_list_fails_its_release(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    ns, root = namespace, bench.root
    rbac = "rbac.authorization.k8s.io/v1"
    binding = {
        # An item of a typed list may leave out its apiVersion and kind.
        "metadata": {"name": "reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}],
    }
    plain = bench.chart(
        "plain",
        [
            listed("List", [config_map("plain-a"), listed("List", [config_map("plain-b")])]),
            listed("RoleList", [role("reader")], rbac),
            listed("RoleBindingList", [binding], rbac),
        ],
    )
    helm = helm_chart(
        root,
        "helm",
        "apiVersion: v1\nkind: List\nitems:\n"
        '{{- range tuple "helm-a" "helm-b" }}\n'
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: {{ . }}\n"
        "{{- end }}\n",
    )
    kustomize = folder_chart(
        root,
        "kustomize",
        {
            "kustomization.yaml": "resources: [objects.yaml]\n",
            "objects.yaml": yaml.safe_dump(listed("List", [config_map("kustomize-a")])),
        },
    )
    jsonnet = folder_chart(
        root,
        "jsonnet",
        {
            "Chart.yaml": "apiVersion: v2\nname: jsonnet\nversion: 1.0.0\n",
            "main.jsonnet": json.dumps([listed("ConfigMapList", [config_map("jsonnet-a")])]),
        },
    )
    unnamed = bench.chart("unnamed", [{"apiVersion": rbac, "kind": "RoleBindingList"}])
    keys = {
        name: bench.release(ns, name, chartPath=path)
        for name, path in (
            ("plain", plain),
            ("helm", helm),
            ("kustomize", kustomize),
            ("jsonnet", jsonnet),
            ("unnamed", unnamed),
        )
    }
    unnamed_key = keys.pop("unnamed")

    report = bench.run()

    for key in keys.values():
        assert report.releases[key].outcome is Outcome.APPLIED, report.releases[key]
    failed = report.releases[unnamed_key]
    assert (failed.outcome, failed.message) == (
        Outcome.FAILED,
        f"release {ns}/unnamed: chart unnamed: RoleBindingList ({rbac}): no metadata.name",
    )
    names = cluster.kubectl("-n", ns, "get", "configmaps,roles,rolebindings", "-o", "name")
    found = set(names.stdout.split())
    wanted = {
        *(
            f"configmap/{name}"
            for name in ("plain-a", "plain-b", "helm-a", "helm-b", "kustomize-a", "jsonnet-a")
        ),
        "role.rbac.authorization.k8s.io/reader",
        "rolebinding.rbac.authorization.k8s.io/reader",
    }
    assert wanted <= found, wanted - found


@contextmanager
def serving(
    cluster: LiveCluster,
    git_repos: GitRepos,
    tmp_path: Path,
    port: int,
    *,
    kubeconfig: Path | None = None,
) -> Iterator[Service]:
    settings = RunSettings(
        url=str(git_repos.remote),
        ref="main",
        interval=timedelta(seconds=1),
        jitter=0,
        listen=f"127.0.0.1:{port}",
        leader_election=False,
        write_status=False,
    )
    service = Service(
        settings,
        target=KubeTarget(kubeconfig or cluster.kubeconfig),
        policy=Policy(allowed_namespaces=("*",)),
        tools=Tools(
            helm=cluster.binaries["helm"],
            kubectl=cluster.binaries["kubectl"],
            cache_dir=tmp_path / "cache",
        ),
        cache_root=tmp_path / "cache",
    )
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.stop()
        thread.join(timeout=60)


def test_a_crashing_pass_makes_the_reconciler_unready_and_is_counted(
    cluster: LiveCluster,
    namespace: str,
    git_repos: GitRepos,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    git_repos.commit_and_push(
        {
            "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
            f"releases/{namespace}/web.yaml": release_file(namespace, "web"),
            **plain_chart("web", [config_map("web", phase="1")]),
        },
        "one release",
    )

    def a_bug(*_args: object, **_kwargs: object) -> None:
        raise TypeError("'NoneType' object is not subscriptable")

    # The bug stands in for any: a pass that ends in an exception the loop did not expect.
    monkeypatch.setattr(cycle, "reconcile", a_bug)
    port = free_port()
    with serving(cluster, git_repos, tmp_path, port):
        wait_for(
            lambda: http_get(port, "/metrics")[1],
            until=lambda text: 'harmonia_errors_total{kind="crash"} 1.0' in text,
            what="a crash counted",
            timeout=120,
        )
        code, reason = http_get(port, "/readyz")
        metrics = http_get(port, "/metrics")[1]
    assert (code, reason.strip()) == (503, "last pass crashed (the log has the error)")
    assert 'harmonia_passes_total{result="failed"}' in metrics
    assert 'harmonia_passes_total{result="succeeded"} 0.0' in metrics


def test_a_pass_the_api_server_refuses_as_a_whole_stops_with_its_message_not_a_traceback(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    bench.release(namespace, "web", chartPath=bench.chart("web", [config_map("web", a="b")]))
    kubeconfig = namespace_kubeconfig(cluster, namespace, tmp_path)

    applied = subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", str(bench.root)],
        capture_output=True,
        text=True,
        env={**environment(cluster, tmp_path / "cache"), "KUBECONFIG": str(kubeconfig)},
        timeout=300,
        check=False,
    )

    # Forbidden is a refusal, not an unreachable cluster (3), and not a crash.
    assert applied.returncode == 1, applied.stderr
    assert "Traceback" not in applied.stderr
    assert applied.stderr.startswith("error: ConfigMap list: configmaps is forbidden"), (
        applied.stderr
    )


def test_a_pass_the_api_server_refuses_as_a_whole_makes_the_reconciler_unready_and_is_counted(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(
        {
            "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
            f"releases/{namespace}/web.yaml": release_file(namespace, "web"),
            **plain_chart("web", [config_map("web", phase="1")]),
        },
        "one release",
    )
    kubeconfig = namespace_kubeconfig(cluster, namespace, tmp_path)
    port = free_port()
    with serving(cluster, git_repos, tmp_path, port, kubeconfig=kubeconfig):
        wait_for(
            lambda: http_get(port, "/readyz"),
            until=lambda answer: answer[0] == 503 and "stopped" in answer[1],
            what="the refused pass reported as not ready",
            timeout=120,
        )
        code, reason = http_get(port, "/readyz")
        metrics = http_get(port, "/metrics")[1]
    assert code == 503
    assert reason.startswith("last pass stopped: ConfigMap list: configmaps is forbidden"), reason
    assert 'harmonia_errors_total{kind="cluster"}' in metrics
    assert 'harmonia_passes_total{result="succeeded"} 0.0' in metrics
    assert 'harmonia_passes_total{result="failed"} 0.0' not in metrics
