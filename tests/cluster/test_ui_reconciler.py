"""The reconciler page in a real browser (Debian's headless Chromium through Selenium),
against a real `harmonia run` on the dev cluster that holds a Lease in the test's
namespace: the page names the leader and the last pass with no console error, and shows a
new commit's pass without a reload; with a token file, the login form lets the browser in.
Webhook deliveries are listed by what they were answered, never by what they carried.

With `HARMONIA_UI_SCREENSHOTS=<folder>` the test saves the page it saw (docs/images/
holds the one docs/ui.md shows)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from tests.cluster.test_run_loop import (
    SECRET_VALUE,
    eventually,
    free_port,
    http_get,
    repository_files,
    running_with,
)
from tests.cluster.test_run_webhooks import SECRET, hook, payload, signed
from tests.cluster.test_ui_browser import SCREENSHOTS, console_errors
from tests.conftest import GitRepos, LiveCluster

PASSES = ("--interval", "2s", "--jitter", "0", "--no-status", "--lease-duration", "15s")
"""A pass every 2 s, so a new commit is taken at once; leader election on."""


@contextmanager
def leading_reconciler(
    cluster: LiveCluster,
    git_repos: GitRepos,
    tmp_path: Path,
    namespace: str,
    *extra: str,
) -> Iterator[int]:
    """A real `harmonia run` electing itself leader of a Lease in `namespace`, serving the UI
    on a free loopback port (yielded)."""
    port = free_port()
    args = ("--repo", str(git_repos.remote), "--ref", "main", *PASSES)
    lease = ("--lease-namespace", namespace, "--lease-name", "harmonia-leader")
    listen = ("--listen", f"127.0.0.1:{port}")
    log = tmp_path / "run.log"
    with running_with(cluster, tmp_path / "cache", log, *args, *lease, *listen, *extra):
        yield port


def field(browser: webdriver.Chrome, path: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, f'[data-field="{path}"]').text)


def state_of(port: int) -> dict[str, Any]:
    status, text = http_get(port, "/api/v1/reconciler")
    body: dict[str, Any] = json.loads(text) if status == 200 else {}
    return body


def last_revision(port: int) -> str | None:
    last = state_of(port).get("lastPass")
    return None if last is None else str(last["revision"])


def test_the_reconciler_page_names_the_leader_and_shows_a_new_commits_pass_without_a_reload(
    cluster: LiveCluster,
    namespace: str,
    git_repos: GitRepos,
    tmp_path: Path,
    browser: webdriver.Chrome,
) -> None:
    first = git_repos.commit_and_push(repository_files(namespace), "web")
    with leading_reconciler(cluster, git_repos, tmp_path, namespace) as port:
        eventually(
            lambda: last_revision(port) == first,
            what="the first commit's pass in the API",
            timeout=120,
        )
        browser.get(f"http://127.0.0.1:{port}/reconciler")
        instance = str(state_of(port)["instance"])
        assert field(browser, "instance") == instance
        assert field(browser, "leading") == "yes"
        assert field(browser, "lease.holder") == instance
        assert field(browser, "lastPass.revision") == first
        browser.execute_script("window.notReloaded = true")

        second = git_repos.commit_and_push(repository_files(namespace, mode="slow"), "slow")

        WebDriverWait(browser, 30, poll_frequency=0.2).until(
            lambda _: field(browser, "lastPass.revision") == second
        )
        # A pass every 2 s: the one shown may be the commit's or one after it.
        assert field(browser, "lastPass.outcomes") in ("Applied 1", "Unchanged 1")
        assert field(browser, "lastPass.why") == "the interval"
        assert browser.execute_script("return window.notReloaded") is True
        assert console_errors(browser) == []
        assert SECRET_VALUE not in browser.page_source
        if folder := os.environ.get(SCREENSHOTS):
            Path(folder).mkdir(parents=True, exist_ok=True)
            browser.set_window_size(1280, 1400)
            assert browser.save_screenshot(str(Path(folder) / "reconciler.png"))


def test_with_a_token_the_browser_signs_in_through_the_login_form(
    cluster: LiveCluster,
    namespace: str,
    git_repos: GitRepos,
    tmp_path: Path,
    browser: webdriver.Chrome,
) -> None:
    token = "a-token-for-the-browser-test"
    token_file = tmp_path / "token"
    token_file.write_text(f"{token}\n")
    git_repos.commit_and_push(repository_files(namespace), "web")
    with leading_reconciler(
        cluster, git_repos, tmp_path, namespace, "--listen-token-file", str(token_file)
    ) as port:
        eventually(lambda: http_get(port, "/healthz")[0] == 200, what="serving", timeout=60)
        assert http_get(port, "/api/v1/reconciler")[0] == 401

        browser.get(f"http://127.0.0.1:{port}/reconciler")
        assert browser.current_url == f"http://127.0.0.1:{port}/login"
        browser.find_element(By.NAME, "token").send_keys(token)
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()

        WebDriverWait(browser, 30).until(
            lambda _: browser.current_url == f"http://127.0.0.1:{port}/"
        )
        assert browser.find_element(By.CSS_SELECTOR, "h1").text == "Releases"
        browser.get(f"http://127.0.0.1:{port}/reconciler")
        WebDriverWait(browser, 30).until(lambda _: field(browser, "instance") != "")
        assert console_errors(browser) == []
        assert token not in browser.page_source


def test_a_signed_push_and_a_forged_one_are_listed_among_the_webhook_deliveries(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    secret_file = tmp_path / "webhook-secret"
    secret_file.write_text(SECRET)
    first = git_repos.commit_and_push(repository_files(namespace), "web")
    with leading_reconciler(
        cluster, git_repos, tmp_path, namespace, "--webhook-secret-file", str(secret_file)
    ) as port:
        eventually(lambda: last_revision(port) == first, what="the first pass", timeout=120)
        body = payload(git_repos.remote)
        assert hook(port, body, signed(body, "delivery-1"))[0] == 202
        assert hook(port, body, signed(body, "delivery-2", secret="forged"))[0] == 401

        hooks = state_of(port)["hooks"]

    assert [(h["provider"], h["event"], h["status"]) for h in hooks] == [
        ("github", "push", 401),
        ("github", "push", 202),
    ]
    assert hooks[1]["answer"] == "accepted: a fetch and a full pass are asked for"
    said = json.dumps(hooks)
    assert SECRET not in said and "sha256=" not in said and "clone_url" not in said
