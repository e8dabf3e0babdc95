"""Going from page to page of the web UI in one browser never waits for a connection: a
browser opens at most 6 to one server, and each page's event stream holds one, so a page
kept in the browser's history cache closes its stream (and is reloaded when shown again).
Before, the seventh visit of a tab waited about a minute for a free connection."""

from __future__ import annotations

import time
from pathlib import Path

from selenium import webdriver

from tests.cluster.test_run_loop import eventually, http_get, repository_files
from tests.cluster.test_ui_browser import (
    console_errors,
    serving_ui,
)
from tests.conftest import GitRepos, LiveCluster

VISITS = 12
"""Twice the browser's connections to one server."""
PAGES = ("/?namespace={namespace}", "/graph?namespace={namespace}")
SECONDS_PER_VISIT = 10.0


def test_twelve_visits_in_one_tab_each_load_without_waiting_for_a_connection(
    cluster: LiveCluster,
    namespace: str,
    git_repos: GitRepos,
    tmp_path: Path,
    browser: webdriver.Chrome,
) -> None:
    git_repos.commit_and_push(repository_files(namespace), "web")
    with serving_ui(cluster, git_repos, tmp_path) as port:
        eventually(lambda: http_get(port, "/readyz")[0] == 200, what="ready", timeout=120)
        took = []
        for visit in range(VISITS):
            page = PAGES[visit % len(PAGES)].format(namespace=namespace)
            started = time.monotonic()
            browser.get(f"http://127.0.0.1:{port}{page}")
            took.append(round(time.monotonic() - started, 1))
        assert max(took) < SECONDS_PER_VISIT, took
        assert console_errors(browser) == []
