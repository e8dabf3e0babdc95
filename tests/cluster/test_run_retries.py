"""The error contract, obeyed by `harmonia run` on the real dev cluster.

A temporary failure is retried with backoff within one run, long before the next
interval tick: a Git remote that stalls until the fetch times out, then an API server
that cannot be reached (both real servers behind a loopback proxy that stalls or cuts
connections on cue). A permanent one, a chart that fails to render, is not attempted
again pass after pass, its status says it is waiting for a change, and the commit that
fixes it is applied. A release not Ready within its timeout is retried with backoff,
each retry in a pass of its own, and says when.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from tests import manifests
from tests.cluster.test_run_loop import (
    eventually,
    free_port,
    http_get,
    running,
    running_with,
    status_file,
    status_tip,
    unschedulable_release_files,
)
from tests.conftest import GitRepos, LiveCluster
from tests.loopback_proxy import LoopbackProxy, Mode, loopback_proxy

TOKEN = "tok-retries-7f3e"
BACKOFF = "backoff: {base: 2s, max: 4s}\n"
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def web_files(namespace: str) -> dict[str, str]:
    settings = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}
    return {
        "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
        f"releases/{namespace}/web.yaml": manifests.release_yaml(
            namespace, "web", chartPath="charts/web"
        ),
        "charts/web/objects.yaml": yaml.safe_dump({**settings, "data": {"mode": "fast"}}),
    }


def config_file(folder: Path) -> Path:
    path = folder / "harmonia-config.yaml"
    path.write_text(f"apiVersion: harmonia.dev/v1alpha1\nkind: ReconcilerConfig\n{BACKOFF}")
    return path


def has_configmap(cluster: LiveCluster, namespace: str, name: str) -> bool:
    found = cluster.kubectl("-n", namespace, "get", "configmap", name, check=False)
    return found.returncode == 0


@contextmanager
def http_remote(git_repos: GitRepos) -> Iterator[int]:
    """`tests/git/http_server.py` serving the test's bare remote; yields its port."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.git.http_server"),
            *("--root", str(git_repos.remote.parent), "--token", TOKEN),
        ],
        cwd=REPOSITORY_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    try:
        line = process.stdout.readline()
        assert line.strip().isdigit(), f"http_server did not start (printed {line!r})"
        yield int(line)
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def kubeconfig_through(proxy: LoopbackProxy, cluster: LiveCluster, folder: Path) -> Path:
    """The dev cluster's kubeconfig with the API server reached through `proxy`."""
    document = yaml.safe_load(cluster.kubeconfig.read_text())
    for entry in document["clusters"]:
        entry["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
    path = folder / "kubeconfig-through-proxy"
    path.write_text(yaml.safe_dump(document))
    return path


def api_server(cluster: LiveCluster) -> tuple[str, int]:
    document = yaml.safe_load(cluster.kubeconfig.read_text())
    server = urlsplit(document["clusters"][0]["cluster"]["server"])
    assert server.hostname is not None and server.port is not None
    return server.hostname, server.port


def lines_with(log: Path, text: str) -> list[str]:
    return [line for line in log.read_text().splitlines() if text in line]


def test_a_git_fetch_that_times_out_then_an_unreachable_api_server_are_retried_with_backoff(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(web_files(namespace), "add web")
    (tmp_path / "token").write_text(TOKEN)
    log = tmp_path / "run.log"
    retried = "pass to be tried again in"
    with (
        http_remote(git_repos) as git_port,
        loopback_proxy("127.0.0.1", git_port, mode=Mode.STALL) as git_proxy,
        loopback_proxy(*api_server(cluster), mode=Mode.FORWARD) as kube_proxy,
    ):
        env_cluster = LiveCluster(
            kubeconfig_through(kube_proxy, cluster, tmp_path), cluster.binaries
        )
        url = f"http://127.0.0.1:{git_proxy.port}/{git_repos.remote.name}"
        args = (
            *("--repo", url, "--git-token-file", str(tmp_path / "token")),
            *("--git-timeout", "3s", "--interval", "10m", "--no-status", "--no-leader-elect"),
            *("--listen", "off", "--config", str(config_file(tmp_path))),
        )
        # The interval is 10 minutes: only the backoff can explain a second pass.
        with running_with(env_cluster, tmp_path / "cache", log, *args) as process:
            eventually(lambda: lines_with(log, retried), timeout=60, what="a stalled fetch")
            assert git_proxy.connections >= 1
            assert not has_configmap(cluster, namespace, "settings")

            kube_proxy.set_mode(Mode.DROP)
            git_proxy.set_mode(Mode.FORWARD)
            eventually(
                lambda: any("did not answer" in line for line in lines_with(log, retried)),
                timeout=120,
                what="a pass that could not reach the API server, retried",
            )
            assert not has_configmap(cluster, namespace, "settings")

            kube_proxy.set_mode(Mode.FORWARD)
            eventually(
                lambda: has_configmap(cluster, namespace, "settings"),
                timeout=120,
                what="the release applied by a retry, not by the next tick",
            )
            assert process.poll() is None
    brought_forward = lines_with(log, "for a retry")
    assert len(brought_forward) >= 2, log.read_text()


def broken_chart_files(namespace: str, *, broken: bool) -> dict[str, str]:
    template = (
        '{{ fail "the settings template is broken on purpose" }}\n'
        if broken
        else "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop-settings\n"
        "data:\n  fixed: 'yes'\n"
    )
    return {
        **web_files(namespace),
        f"releases/{namespace}/shop.yaml": manifests.release_yaml(
            namespace, "shop", chartPath="charts/shop"
        ),
        "charts/shop/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
        "charts/shop/templates/settings.yaml": template,
    }


def test_a_chart_that_fails_to_render_waits_for_a_change_and_a_fixing_commit_is_applied(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    passes = 4
    git_repos.commit_and_push(broken_chart_files(namespace, broken=True), "a broken chart")
    log = tmp_path / "run.log"
    port = free_port()
    args = ("--no-leader-elect", "--listen", f"127.0.0.1:{port}")
    held = f"release {namespace}/shop not attempted"
    with running(cluster, git_repos, tmp_path / "cache", log, *args):
        # The interval is 2s: several passes go by, none of them renders the chart again.
        eventually(lambda: lines_with(log, held), timeout=120, what="a second pass")
        tip = status_tip(git_repos)
        eventually(
            lambda: len(lines_with(log, held)) >= passes, timeout=120, what=f"{passes} passes"
        )
        text = log.read_text()
        assert text.count("the settings template is broken on purpose") == text.count(
            f"release {namespace}/shop Failed: "
        ), "every pass reports the failure as it was"
        assert text.count("[permanent: waiting for a change]") >= passes + 1
        assert len(lines_with(log, "pass started at revision")) >= passes + 1
        assert status_tip(git_repos) == tip, "a held release made a status commit"
        assert has_configmap(cluster, namespace, "settings"), "the good release goes on"

        sync: Any = status_file(git_repos, f"status/{namespace}/shop.yaml")["sync"]
        assert (sync["state"], sync["retry"]) == ("Failed", "waiting for a change")
        assert "the settings template is broken on purpose" in sync["message"]
        code, listed = http_get(port, f"/api/v1/releases?namespace={namespace}")
        assert code == 200, listed
        shop = next(r for r in json.loads(listed)["releases"] if r["name"] == "shop")
        assert (shop["outcome"], shop["nextAttempt"]) == ("Failed", "waiting for a change")

        git_repos.commit_and_push(broken_chart_files(namespace, broken=False), "fix the chart")
        eventually(
            lambda: has_configmap(cluster, namespace, "shop-settings"),
            timeout=120,
            what="the fixing commit applied",
        )


def test_a_release_not_ready_in_time_is_retried_with_backoff_before_the_next_tick(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(unschedulable_release_files(namespace), "add stuck")
    log = tmp_path / "run.log"
    port = free_port()
    args = (
        *("--repo", str(git_repos.remote), "--ref", "main", "--interval", "10m"),
        *("--jitter", "0", "--no-leader-elect", "--listen", f"127.0.0.1:{port}"),
        *("--config", str(config_file(tmp_path))),
    )
    attempt = f"release {namespace}/stuck Failed"
    # The interval is 10 minutes: only the backoff can explain a second attempt.
    with running_with(cluster, tmp_path / "cache", log, *args):
        eventually(lambda: len(lines_with(log, attempt)) >= 3, timeout=120, what="3 attempts")
        attempts = lines_with(log, attempt)
        assert all("[temporary: retrying at " in line for line in attempts), attempts
        assert len(lines_with(log, "for a retry")) >= 2

        code, listed = http_get(port, f"/api/v1/releases?namespace={namespace}")
        assert code == 200, listed
        (stuck,) = json.loads(listed)["releases"]
        assert stuck["nextAttempt"].startswith("retrying in "), stuck
        sync: Any = status_file(git_repos, f"status/{namespace}/stuck.yaml")["sync"]
        assert (sync["state"], sync["retry"]) == ("Failed", "retrying with backoff")
