"""Push webhooks on `harmonia run`, with the interval far away (10m): a signed push of a
new commit to the real bare remote is applied within seconds, with and without watches;
wrong and missing signatures, another ref, an oversized body and a flood of 200 signed
pushes get their answers, and the flood makes one pass (or very few), no traceback; a
standby answers 503 and starts nothing until it holds the Lease."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from tests.cluster.test_run_loop import (
    config_mode,
    eventually,
    free_port,
    http_get,
    identity_in,
    lease_holder,
    repository_files,
    running_with,
)
from tests.conftest import GitRepos, LiveCluster

FAR = ("--interval", "10m", "--jitter", "0", "--no-leader-elect", "--no-status")
SECRET = "webhook-secret-9c1e"
FLOOD = 200


def payload(remote: Path, ref: str = "refs/heads/main") -> bytes:
    """A GitHub push as GitHub sends it, naming the bare remote as its clone URL."""
    return json.dumps(
        {
            "ref": ref,
            "before": "0" * 40,
            "after": "1" * 40,
            "repository": {
                "full_name": "tests/remote",
                "clone_url": f"file://{remote}",
                "default_branch": "main",
            },
            "pusher": {"name": "tests"},
        }
    ).encode()


def hook(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/hooks/github", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def signed(body: bytes, delivery: str, *, secret: str = SECRET) -> dict[str, str]:
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": f"sha256={mac}",
    }


def fetches(port: int) -> float:
    """Git fetches so far, from `harmonia_git_fetch_total` on /metrics."""
    _code, metrics = http_get(port, "/metrics")
    found = re.findall(r"^harmonia_git_fetch_total\{[^}]*\} ([0-9.e+]+)$", metrics, re.M)
    return sum(float(value) for value in found)


def full_passes(log: Path) -> int:
    """Passes of the whole repository begun (a scoped pass says whom it is for)."""
    return len(re.findall(r"pass started at revision \w+ revision=", log.read_text()))


def quiet(log: Path) -> bool:
    """No pass under way: as many finished as started."""
    text = log.read_text()
    return text.count("pass started at revision") == text.count("pass finished")


def secret_file_in(folder: Path) -> Path:
    secret_file = folder / "webhook-secret"
    secret_file.write_text(f"{SECRET}\n")
    return secret_file


@contextmanager
def serving(
    cluster: LiveCluster, repos: GitRepos, tmp_path: Path, *extra: str
) -> Iterator[tuple[int, Path]]:
    """`harmonia run` with the webhook secret, entered once its first pass has finished."""
    secret_file = secret_file_in(tmp_path)
    port, log = free_port(), tmp_path / "run.log"
    args = ("--repo", str(repos.remote), "--ref", "main", *FAR, *extra)
    listen = ("--listen", f"127.0.0.1:{port}", "--webhook-secret-file", str(secret_file))
    with running_with(cluster, tmp_path / "cache", log, *args, *listen):
        eventually(lambda: "pass finished" in log.read_text(), what="first pass", timeout=120)
        yield port, log


def a_signed_push_is_applied_within_seconds(
    cluster: LiveCluster, namespace: str, repos: GitRepos, tmp_path: Path, *extra: str
) -> str:
    """The seconds from the push's delivery to its commit applied, and the log."""
    repos.commit_and_push(repository_files(namespace), "web")
    with serving(cluster, repos, tmp_path, *extra) as (port, log):
        assert config_mode(cluster, namespace) == "fast"
        repos.commit_and_push(repository_files(namespace, mode="slower"), "slower")
        body = payload(repos.remote)
        delivered = time.monotonic()
        assert hook(port, body, signed(body, "push-1"))[0] == 202
        eventually(lambda: config_mode(cluster, namespace) == "slower", what="push", timeout=60)
        took = time.monotonic() - delivered
        text = log.read_text()
    assert took < 30, f"applied {took:.1f}s after the push (the interval is 10m)"
    assert "github webhook (delivery push-1): a push to refs/heads/main" in text
    assert "Traceback" not in text and SECRET not in text
    return text


def test_a_signed_push_is_applied_within_seconds_well_before_the_interval(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    a_signed_push_is_applied_within_seconds(cluster, namespace, git_repos, tmp_path)


def test_without_watches_a_signed_push_brings_the_next_pass_forward(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    text = a_signed_push_is_applied_within_seconds(
        cluster, namespace, git_repos, tmp_path, "--no-watch"
    )
    assert re.search(r"next pass at \S+Z for push to refs/heads/main", text), text


def test_bad_deliveries_are_refused_and_a_flood_of_pushes_makes_one_pass(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(repository_files(namespace), "web")
    with serving(cluster, git_repos, tmp_path) as (port, log):
        body = payload(git_repos.remote)
        fetched, passed = fetches(port), full_passes(log)
        wrong = hook(port, body, signed(body, "bad-1", secret="not-the-secret"))
        missing = hook(port, body, {"Content-Type": "application/json"})
        other_ref = payload(git_repos.remote, "refs/heads/feature")
        ignored = hook(port, other_ref, signed(other_ref, "other-1"))
        oversized = b"{" + b" " * (1024 * 1024) + b"}"
        too_large = hook(port, oversized, signed(oversized, "big-1"))
        time.sleep(3)  # longer than a burst's longest wait (2s): a pass would have begun
        assert (fetches(port), full_passes(log)) == (fetched, passed)

        git_repos.commit_and_push(repository_files(namespace, mode="slower"), "slower")
        with ThreadPoolExecutor(16) as pool:
            flood = list(
                pool.map(lambda n: hook(port, body, signed(body, f"flood-{n}")), range(FLOOD))
            )
        replayed = hook(port, body, signed(body, "flood-0"))
        eventually(lambda: config_mode(cluster, namespace) == "slower", what="flood", timeout=60)
        time.sleep(3)
        eventually(lambda: quiet(log), what="the passes done", timeout=60)
        text = log.read_text()
        flood_fetches, flood_passes = fetches(port) - fetched, full_passes(log) - passed
    assert wrong[0] == 401 and "does not match the body" in wrong[1]
    assert missing[0] == 401 and "no x-hub-signature-256 header" in missing[1]
    assert ignored[0] == 200 and "a push to refs/heads/feature, not the followed main" in ignored[1]
    assert too_large[0] == 413
    assert [status for status, _ in flood] == [202] * FLOOD
    assert replayed[0] == 200 and "received already" in replayed[1]
    # One burst is one pass, unless it lasts longer than a burst's longest wait (2s).
    assert flood_fetches == flood_passes, (flood_fetches, flood_passes)
    assert 1 <= flood_passes <= 2, f"{flood_passes} passes for {FLOOD} pushes"
    assert "Traceback" not in text and SECRET not in text
    assert text.count("refused: ") == 2


def test_a_standby_answers_503_and_acts_on_pushes_once_it_holds_the_lease(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(repository_files(namespace), "web")
    duration = 6
    secret_file = secret_file_in(tmp_path)
    args = ("--repo", str(git_repos.remote), "--ref", "main", "--interval", "10m")
    args += ("--no-status", "--lease-namespace", namespace, "--lease-duration", f"{duration}s")
    args += ("--webhook-secret-file", str(secret_file))
    ports = (free_port(), free_port())
    logs = (tmp_path / "first.log", tmp_path / "second.log")
    with (
        running_with(
            cluster, tmp_path / "c1", logs[0], *args, "--listen", f"127.0.0.1:{ports[0]}"
        ) as first,
        running_with(
            cluster, tmp_path / "c2", logs[1], *args, "--listen", f"127.0.0.1:{ports[1]}"
        ) as second,
    ):
        eventually(lambda: all(identity_in(log) for log in logs), what="ids", timeout=60)
        eventually(lambda: lease_holder(cluster, namespace), what="a leader", timeout=60)
        holder = lease_holder(cluster, namespace)
        leading = 0 if holder == identity_in(logs[0]) else 1
        leader, standby = ((first, second), (second, first))[leading]
        standby_port, standby_log = ports[1 - leading], logs[1 - leading]
        eventually(lambda: "pass finished" in logs[leading].read_text(), what="pass", timeout=120)
        body = payload(git_repos.remote)

        refused = hook(standby_port, body, signed(body, "to-the-standby"))
        accepted = hook(ports[leading], body, signed(body, "to-the-leader"))
        time.sleep(3)  # a burst's longest wait (2s) and more: the standby started nothing
        assert "pass started" not in standby_log.read_text()

        leader.send_signal(signal.SIGKILL)
        leader.wait(timeout=30)
        killed = time.monotonic()
        answers: list[int] = []

        def standby_accepts() -> bool:
            delivery = f"after-the-kill-{len(answers)}"
            answers.append(hook(standby_port, body, signed(body, delivery))[0])
            return answers[-1] == 202

        eventually(standby_accepts, what="the standby accepting a push", timeout=duration * 4)
        took_over = time.monotonic() - killed
        assert standby.poll() is None
        text = standby_log.read_text()
    assert refused[0] == 503 and "standing by" in refused[1]
    assert accepted[0] == 202
    assert set(answers[:-1]) <= {503}, answers
    assert took_over <= duration + 2 * duration * 2 / 15 + 5, f"took over in {took_over:.1f}s"
    assert "github webhook (delivery to-the-standby) not acted on" in text
    assert "Traceback" not in text and SECRET not in text
