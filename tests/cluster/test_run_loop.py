"""`harmonia run` end to end: a real bare Git remote, the real dev cluster, the real CLI.

A commit is applied and its status committed to the status branch; a pass with
nothing new commits nothing; a hand edit is put back without a new commit; the
long-running loop serves metrics and the API without a Secret value; two replicas
share one Lease and the standby takes over when the leader is killed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from reconciler.types import JsonObject
from tests import manifests
from tests.conftest import GitRepos, LiveCluster
from tests.waiting import wait_for

HARMONIA = (sys.executable, "-m", "reconciler")
SECRET_VALUE = "s3cr3t-loop-value"
STATUS_BRANCH = "harmonia-status"


def eventually(condition: Callable[[], object], *, what: str, timeout: float) -> None:
    wait_for(condition, until=bool, what=what, timeout=timeout)


def repository_files(namespace: str, *, mode: str = "fast") -> dict[str, str]:
    objects = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings"},
            "data": {"mode": mode},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "token"},
            "stringData": {"token": SECRET_VALUE},
        },
    ]
    release = manifests.release(
        namespace, "web", chartPath="charts/web", releaseLabels={"team": "shop"}
    )
    return {
        "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
        f"releases/{namespace}/web.yaml": yaml.safe_dump(release),
        "charts/web/objects.yaml": yaml.safe_dump_all(objects),
    }


def environment(cluster: LiveCluster, cache: Path) -> dict[str, str]:
    return {
        **os.environ,
        "KUBECONFIG": str(cluster.kubeconfig),
        "HARMONIA_HELM": str(cluster.binaries["helm"]),
        "HARMONIA_KUBECTL": str(cluster.binaries["kubectl"]),
        "HARMONIA_CACHE_DIR": str(cache),
    }


def run_once(
    cluster: LiveCluster, repos: GitRepos, cache: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *HARMONIA,
            "run",
            "--once",
            "--repo",
            str(repos.remote),
            "--ref",
            "main",
            "--listen",
            "off",
            *extra,
        ],
        capture_output=True,
        text=True,
        env=environment(cluster, cache),
        timeout=300,
        check=False,
    )


def remote_git(repos: GitRepos, *args: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={repos.remote}", *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def status_tip(repos: GitRepos) -> str:
    return remote_git(repos, "rev-parse", f"refs/heads/{STATUS_BRANCH}")


def status_file(repos: GitRepos, path: str) -> dict[str, object]:
    loaded = yaml.safe_load(remote_git(repos, "show", f"{STATUS_BRANCH}:{path}"))
    assert isinstance(loaded, dict)
    return loaded


def config_mode(cluster: LiveCluster, namespace: str) -> str:
    found = cluster.kubectl("-n", namespace, "get", "configmap", "settings", "-o", "json")
    return str(json.loads(found.stdout)["data"]["mode"])


def test_run_once_applies_a_commit_and_commits_its_status_only_when_something_changed(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    commit = git_repos.commit_and_push(repository_files(namespace), "add web")
    cache = tmp_path / "cache"

    first = run_once(cluster, git_repos, cache)
    assert first.returncode == 0, first.stderr
    assert config_mode(cluster, namespace) == "fast"
    status = status_file(git_repos, f"status/{namespace}/web.yaml")
    assert (status["state"], status["revision"]) == ("Ready", commit)
    assert f"{namespace}/web" in remote_git(git_repos, "show", f"{STATUS_BRANCH}:status/README.md")
    tip = status_tip(git_repos)
    author = remote_git(git_repos, "log", "-1", "--format=%an <%ae>", STATUS_BRANCH)
    assert author == "Harmonia <harmonia@harmonia.dev>"

    second = run_once(cluster, git_repos, cache)
    assert second.returncode == 0, second.stderr
    assert status_tip(git_repos) == tip, "a pass with nothing new made a status commit"

    patch = json.dumps({"data": {"mode": "slow"}})
    cluster.kubectl("-n", namespace, "patch", "configmap", "settings", "--type=merge", "-p", patch)
    third = run_once(cluster, git_repos, cache)
    assert third.returncode == 0, third.stderr
    assert config_mode(cluster, namespace) == "fast"
    assert "drift corrected: ConfigMap/" in third.stderr
    assert remote_git(git_repos, "rev-parse", "refs/heads/main") == commit

    every_status = remote_git(git_repos, "log", "-p", STATUS_BRANCH)
    assert SECRET_VALUE not in every_status
    assert SECRET_VALUE not in first.stderr + second.stderr + third.stderr


def test_a_status_file_counts_the_objects_the_pass_created_configured_and_deleted(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    files = repository_files(namespace)
    git_repos.commit_and_push(files, "add web")
    cache = tmp_path / "cache"
    path = f"status/{namespace}/web.yaml"

    def counts_after_a_pass() -> object:
        finished = run_once(cluster, git_repos, cache)
        assert finished.returncode == 0, finished.stderr
        sync = status_file(git_repos, path)["sync"]
        assert isinstance(sync, dict) and sync["state"] == "Synced", sync
        return sync["changes"]

    assert counts_after_a_pass() == {"created": 2, "configured": 0, "deleted": 0, "unchanged": 0}

    patch = json.dumps({"data": {"mode": "slow"}})
    cluster.kubectl("-n", namespace, "patch", "configmap", "settings", "--type=merge", "-p", patch)
    assert counts_after_a_pass() == {"created": 0, "configured": 1, "deleted": 0, "unchanged": 1}

    only_the_token = yaml.safe_load_all(files["charts/web/objects.yaml"])
    files["charts/web/objects.yaml"] = yaml.safe_dump_all(
        [obj for obj in only_the_token if obj["kind"] == "Secret"]
    )
    git_repos.commit_and_push(files, "drop the settings")
    assert counts_after_a_pass() == {"created": 0, "configured": 0, "deleted": 1, "unchanged": 1}


def test_run_once_exits_1_for_an_invalid_release_and_3_for_an_unreachable_remote(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    files = repository_files(namespace)
    files[f"releases/{namespace}/broken.yaml"] = "name: broken\nnamespace: [oops\n"
    git_repos.commit_and_push(files, "one good, one broken")
    cache = tmp_path / "cache"

    invalid = run_once(cluster, git_repos, cache, "--no-status")
    assert invalid.returncode == 1, invalid.stderr
    assert f"releases/{namespace}/broken.yaml:3:1: YAML syntax error" in invalid.stderr
    assert config_mode(cluster, namespace) == "fast"

    gone = subprocess.run(
        [
            *HARMONIA,
            "run",
            "--once",
            "--repo",
            str(tmp_path / "no-such-remote.git"),
            "--listen",
            "off",
            "--no-status",
        ],
        capture_output=True,
        text=True,
        env=environment(cluster, tmp_path / "other-cache"),
        timeout=300,
        check=False,
    )
    assert gone.returncode == 3, gone.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


@contextmanager
def running(
    cluster: LiveCluster, repos: GitRepos, cache: Path, log: Path, *extra: str
) -> Iterator[subprocess.Popen[bytes]]:
    every_2s = ("--repo", str(repos.remote), "--ref", "main", "--interval", "2s", "--jitter", "0")
    with running_with(cluster, cache, log, *every_2s, *extra) as process:
        yield process


@contextmanager
def running_with(
    cluster: LiveCluster, cache: Path, log: Path, *args: str, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`harmonia run` with exactly `args` (its --repo and --interval among them) and the
    variables `env` besides the usual ones, its output in `log`; stopped by SIGTERM at the end."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*HARMONIA, "run", *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**environment(cluster, cache), **(env or {})},
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@contextmanager
def running_ready(
    cluster: LiveCluster,
    repos: GitRepos,
    cache: Path,
    log: Path,
    port: int,
    *extra: str,
    what: str = "ready",
) -> Iterator[subprocess.Popen[bytes]]:
    """`running`, listening on `port`, entered once its /readyz answers 200."""
    listen = ("--listen", f"127.0.0.1:{port}")
    with running(cluster, repos, cache, log, *listen, *extra) as process:
        eventually(lambda: http_get(port, "/readyz")[0] == 200, timeout=120, what=what)
        yield process


def test_the_loop_heals_drift_applies_new_commits_and_serves_metrics_and_the_api(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(repository_files(namespace), "add web")
    port = free_port()
    log = tmp_path / "run.log"
    args = ("--no-leader-elect",)
    with running_ready(cluster, git_repos, tmp_path / "cache", log, port, *args) as process:
        assert http_get(port, "/healthz") == (200, "ok\n")
        assert config_mode(cluster, namespace) == "fast"

        patch = json.dumps({"data": {"mode": "slow"}})
        cluster.kubectl(
            "-n", namespace, "patch", "configmap", "settings", "--type=merge", "-p", patch
        )
        eventually(lambda: config_mode(cluster, namespace) == "fast", timeout=60, what="healed")

        commit = git_repos.commit_and_push(repository_files(namespace, mode="slower"), "slower")
        eventually(lambda: config_mode(cluster, namespace) == "slower", timeout=60, what="applied")
        eventually(
            lambda: status_file(git_repos, f"status/{namespace}/web.yaml")["revision"] == commit,
            timeout=60,
            what="status of the new commit",
        )

        code, metrics = http_get(port, "/metrics")
        assert code == 200
        for name in (
            "harmonia_pass_duration_seconds_count",
            "harmonia_releases{",
            'harmonia_objects_applied_total{action="configured"}',
            "harmonia_errors_total{",
            "harmonia_git_fetch_duration_seconds_count",
            f'harmonia_last_applied_revision_info{{revision="{commit}"}} 1.0',
            'harmonia_kube_requests_total{client="pass",verb="patch"}',
            'harmonia_kube_requests_total{client="watch",verb="list"}',
            'harmonia_kube_requests_total{client="watch",verb="watch"}',
        ):
            assert name in metrics, name
        code, listed = http_get(
            port, f"/api/v1/releases?labelSelector=team%3Dshop&namespace={namespace}"
        )
        assert code == 200, listed
        assert [r["name"] for r in json.loads(listed)["releases"]] == ["web"]
        code, detail = http_get(port, f"/api/v1/releases/{namespace}/web")
        assert code == 200, detail
        body = json.loads(detail)
        assert body["state"] == "Ready"
        assert {r["kind"] for r in body["resources"]} >= {"ConfigMap", "Secret"}
        assert SECRET_VALUE not in metrics + listed + detail
        code, document = http_get(port, "/api/v1/openapi.json")
        assert code == 200, document
        answers_as_documented(json.loads(document), json.loads(listed), body)
        assert http_get(port, f"/api/v1/releases/{namespace}/nothing")[0] == 404

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    text = log.read_text()
    assert "SIGTERM received" in text
    assert SECRET_VALUE not in text


def answers_as_documented(document: JsonObject, listed: JsonObject, detail: JsonObject) -> None:
    """The list and a release's detail validate against the server's OpenAPI document."""
    for route, body in (
        ("/api/v1/releases", listed),
        ("/api/v1/releases/{namespace}/{name}", detail),
    ):
        paths: Any = document["paths"]
        schema = paths[route]["get"]["responses"]["200"]["content"]["application/json"]
        jsonschema.validate(
            body,
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": document["components"],
                **schema["schema"],
            },
        )


def lease_holder(cluster: LiveCluster, namespace: str) -> str:
    found = cluster.kubectl(
        "-n", namespace, "get", "lease", "harmonia-leader", "-o", "json", check=False
    )
    if found.returncode != 0:
        return ""
    return str(json.loads(found.stdout)["spec"].get("holderIdentity") or "")


def identity_in(log: Path) -> str:
    for line in log.read_text().splitlines():
        if "waiting for the lease" in line:
            return line.rsplit(" as ", 1)[1].strip()
    return ""


def test_two_replicas_apply_one_at_a_time_and_the_standby_takes_over_a_killed_leader(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(repository_files(namespace), "add web")
    duration = 6
    args = ("--no-status", "--lease-namespace", namespace)
    args += ("--lease-duration", f"{duration}s")
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    ports = (free_port(), free_port())
    listen = [("--listen", f"127.0.0.1:{port}") for port in ports]
    with (
        running(cluster, git_repos, tmp_path / "cache-1", first_log, *args, *listen[0]) as first,
        running(cluster, git_repos, tmp_path / "cache-2", second_log, *args, *listen[1]) as second,
    ):
        eventually(
            lambda: identity_in(first_log) and identity_in(second_log), timeout=60, what="ids"
        )
        eventually(lambda: lease_holder(cluster, namespace), timeout=60, what="a leader")
        eventually(
            lambda: "pass finished" in (first_log.read_text() + second_log.read_text()),
            timeout=120,
            what="a pass",
        )
        holder = lease_holder(cluster, namespace)
        leader, standby = (first, second) if holder == identity_in(first_log) else (second, first)
        leader_log, standby_log = (
            (first_log, second_log) if leader is first else (second_log, first_log)
        )
        time.sleep(4)  # two more ticks: the standby must still not have applied
        assert "pass started" not in standby_log.read_text()
        standby_port = ports[0] if standby is first else ports[1]
        assert http_get(standby_port, "/readyz") == (
            200,
            "standing by: another replica holds the lease\n",
        )

        leader.send_signal(signal.SIGKILL)
        leader.wait(timeout=30)
        killed = time.monotonic()
        standby_id = identity_in(standby_log)
        eventually(
            lambda: lease_holder(cluster, namespace) == standby_id,
            timeout=duration * 4,
            what="the standby holding the lease",
        )
        took_over = time.monotonic() - killed
        eventually(
            lambda: "pass started" in standby_log.read_text(), timeout=60, what="standby pass"
        )
        assert standby.poll() is None
    assert took_over <= duration + 2 * duration * 2 / 15 + 5, took_over
    assert "pass started" in leader_log.read_text()


def test_status_commits_on_the_release_branch_itself_never_trigger_a_new_revision(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    files = repository_files(namespace)
    files["harmonia.yaml"] += "statusBranch: main\n"
    commit = git_repos.commit_and_push(files, "status on main")
    cache = tmp_path / "cache"

    first = run_once(cluster, git_repos, cache)
    assert first.returncode == 0, first.stderr
    status_commit = remote_git(git_repos, "rev-parse", "refs/heads/main")
    assert status_commit != commit
    changed = remote_git(git_repos, "diff", "--name-only", commit, status_commit).splitlines()
    assert changed and all(path.startswith("status/") for path in changed)

    second = run_once(cluster, git_repos, cache)
    assert second.returncode == 0, second.stderr
    assert remote_git(git_repos, "rev-parse", "refs/heads/main") == status_commit
    main_status = yaml.safe_load(remote_git(git_repos, "show", f"main:status/{namespace}/web.yaml"))
    assert main_status["revision"] == commit


def config_map_release(namespace: str, name: str) -> dict[str, str]:
    """A release of one ConfigMap, as files of the repository."""
    release = manifests.release(namespace, name, chartPath=f"charts/{name}")
    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}]
    return {
        f"releases/{namespace}/{name}.yaml": yaml.safe_dump(release),
        f"charts/{name}/objects.yaml": yaml.safe_dump_all(objects),
    }


def test_a_withheld_removal_is_logged_evented_and_kept_in_the_status_until_a_person_confirms_it(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    repository = "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"
    old = ("web", "cache")
    files = {"harmonia.yaml": repository}
    for name in old:
        files |= config_map_release(namespace, name)
    git_repos.commit_and_push(files, "two releases")
    cache = tmp_path / "cache"
    assert run_once(cluster, git_repos, cache).returncode == 0
    for name in old:
        git_repos.git("rm", "--quiet", f"releases/{namespace}/{name}.yaml")
    # As in the issue: one commit replaces them by more new releases than there were,
    # so on the next pass the loss is under half of what the cluster records.
    new = ("shop", "cart", "pay")
    replacing: dict[str, str] = {}
    for name in new:
        replacing |= config_map_release(namespace, name)
    git_repos.commit_and_push(replacing, "both replaced by three")

    def exists(name: str) -> bool:
        found = cluster.kubectl("-n", namespace, "get", "configmap", name, check=False)
        return found.returncode == 0

    passes = [run_once(cluster, git_repos, cache) for _ in range(2)]
    tips = []
    for passed in passes:
        assert passed.returncode == 0, passed.stderr
        for name in old:
            assert f"release {namespace}/{name} RemovalWithheld" in passed.stderr, passed.stderr
            status = status_file(git_repos, f"status/{namespace}/{name}.yaml")
            assert status["state"] == "RemovalWithheld", status
            assert f"confirmRemoval in harmonia.yaml names {namespace}/{name}" in str(
                status["message"]
            )
            assert exists(name)
        tips.append(status_tip(git_repos))
    assert "prune withheld: the snapshot lost 2 of 2 releases" in passes[0].stderr
    assert "prune withheld: 2 of the releases whose files left Git stay" in passes[1].stderr
    assert tips[0] == tips[1], "a pass that withheld the same removal again made a status commit"
    events = cluster.kubectl(
        "-n",
        namespace,
        "get",
        "events",
        "-o",
        "json",
        "--field-selector",
        "involvedObject.name=harmonia-inventory-web",
    )
    reasons = [event["reason"] for event in json.loads(events.stdout)["items"]]
    assert reasons.count("RemovalWithheld") >= 2, reasons

    confirmation = f"confirmRemoval: [{namespace}/web, {namespace}/cache]\n"
    git_repos.commit_and_push({"harmonia.yaml": repository + confirmation}, "remove both")
    confirmed = run_once(cluster, git_repos, cache)
    assert confirmed.returncode == 0, confirmed.stderr
    listed = remote_git(git_repos, "ls-tree", "-r", "--name-only", STATUS_BRANCH)
    for name in old:
        assert f"release {namespace}/{name} Removed" in confirmed.stderr, confirmed.stderr
        assert not exists(name)
        assert f"status/{namespace}/{name}.yaml" not in listed
    assert "removal confirmed by confirmRemoval in harmonia.yaml" in confirmed.stderr
    assert all(exists(name) for name in new)


def unschedulable_release_files(namespace: str) -> dict[str, str]:
    """A release whose one Deployment never becomes Ready: its pods want a node no node
    is, and the release gives it one second."""
    nowhere = {"nodeSelector": {"harmonia.dev/no-such-node": "true"}}
    deployment = manifests.workload("Deployment", "stuck", image="stuck:1", pod=nowhere)
    release = manifests.release(namespace, "stuck", chartPath="charts/stuck", timeoutSec=1)
    return {
        "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
        f"releases/{namespace}/stuck.yaml": yaml.safe_dump(release),
        "charts/stuck/objects.yaml": yaml.safe_dump(deployment),
    }


def inventory_record(cluster: LiveCluster, namespace: str, name: str) -> dict[str, object]:
    found = cluster.kubectl(
        "-n", namespace, "get", "configmap", f"harmonia-inventory-{name}", "-o", "json"
    )
    configmap = json.loads(found.stdout)
    record = json.loads(configmap["data"]["inventory.json"])
    assert isinstance(record, dict)
    return {**record, "resourceVersion": configmap["metadata"]["resourceVersion"]}


def test_a_release_failing_the_same_way_records_it_and_commits_no_status_pass_after_pass(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(unschedulable_release_files(namespace), "add stuck")
    cache = tmp_path / "cache"
    # The first passes may still see the pod change (created, then refused by the
    # scheduler); from then on nothing changes but the time.
    for _ in range(2):
        assert run_once(cluster, git_repos, cache).returncode == 1
    tip = status_tip(git_repos)
    settled = inventory_record(cluster, namespace, "stuck")
    time.sleep(2)

    again = run_once(cluster, git_repos, cache)
    assert again.returncode == 1, again.stderr
    status = status_file(git_repos, f"status/{namespace}/stuck.yaml")
    assert status["state"] == "Failed"
    assert "not Ready within its timeout of 1s after the change" in str(status["message"])
    assert status_tip(git_repos) == tip, remote_git(git_repos, "log", "-p", "-1", STATUS_BRANCH)
    record = inventory_record(cluster, namespace, "stuck")
    assert str(record["result"]).startswith(f"Failed: Deployment {namespace}/stuck is Pending")
    assert record == settled, "a pass failing the same way rewrote the inventory record"
