"""The web UI in a real browser: Debian's headless Chromium, driven by Selenium through
Debian's chromedriver, against a real `harmonia run` on the dev cluster. The page lists the
release with no console error, and a failing commit shows on it without a reload; the
dependency graph page draws the edge from a dependency to its dependent and colours a box
anew when its release fails, without a reload.

With `HARMONIA_UI_SCREENSHOTS=<folder>` the test saves the page it saw (docs/images/ holds
the one docs/ui.md shows)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from tests import manifests
from tests.cluster.test_run_loop import (
    SECRET_VALUE,
    eventually,
    free_port,
    http_get,
    repository_files,
    running_with,
)
from tests.conftest import GitRepos, LiveCluster

SCREENSHOTS = "HARMONIA_UI_SCREENSHOTS"
PASSES = ("--interval", "2s", "--jitter", "0", "--no-leader-elect", "--no-status")
"""A pass every 2 s, so a new commit is taken at once without a webhook."""


def broken_files(namespace: str) -> dict[str, str]:
    """The release's chart with a ConfigMap whose name the API server refuses."""
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Not_A_Name"}}
    return {"charts/web/objects.yaml": yaml.safe_dump_all([bad])}


def console_errors(driver: webdriver.Chrome) -> list[str]:
    return [
        str(entry["message"]) for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
    ]


@contextmanager
def serving_ui(
    cluster: LiveCluster, git_repos: GitRepos, tmp_path: Path, *extra: str
) -> Iterator[int]:
    """A real `harmonia run` of the test's repository (with `extra` arguments), a pass every
    few seconds, serving the UI on a free loopback port (yielded)."""
    port = free_port()
    args = ("--repo", str(git_repos.remote), "--ref", "main", *PASSES, *extra)
    listen = ("--listen", f"127.0.0.1:{port}")
    with running_with(cluster, tmp_path / "cache", tmp_path / "run.log", *args, *listen):
        yield port


def test_the_releases_page_lists_a_release_and_shows_its_failure_live_without_a_reload(
    cluster: LiveCluster,
    namespace: str,
    git_repos: GitRepos,
    tmp_path: Path,
    browser: webdriver.Chrome,
) -> None:
    git_repos.commit_and_push(repository_files(namespace), "web")
    with serving_ui(cluster, git_repos, tmp_path) as port:
        ready = f"?namespace={namespace}&state=Ready"
        eventually(
            lambda: f'data-release="{namespace}/web"' in http_get(port, f"/{ready}")[1],
            what="Ready in the API",
            timeout=120,
        )
        browser.get(f"http://127.0.0.1:{port}/?namespace={namespace}")
        row = browser.find_element(By.CSS_SELECTOR, f'tr[data-release="{namespace}/web"]')
        state = row.find_element(By.CSS_SELECTOR, ".state")
        assert state.text == "Ready"
        browser.execute_script("window.notReloaded = true")

        git_repos.commit_and_push(broken_files(namespace), "break web")

        WebDriverWait(browser, 30, poll_frequency=0.2).until(lambda _: state.text == "Failed")
        message = row.find_element(By.CSS_SELECTOR, ".message").text
        assert browser.execute_script("return window.notReloaded") is True
        assert "Not_A_Name" in message, message
        assert console_errors(browser) == []
        assert SECRET_VALUE not in browser.page_source
        if folder := os.environ.get(SCREENSHOTS):
            Path(folder).mkdir(parents=True, exist_ok=True)
            assert browser.save_screenshot(str(Path(folder) / "releases.png"))


def dependent_files(namespace: str) -> dict[str, str]:
    """`web` (the releases page's release) depending on a second release, `db`."""
    settings = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "db-settings"}}
    web = manifests.release(namespace, "web", chartPath="charts/web", dependencies={"db": "db"})
    return {
        **repository_files(namespace),
        f"releases/{namespace}/web.yaml": yaml.safe_dump(web),
        f"releases/{namespace}/db.yaml": yaml.safe_dump(
            manifests.release(namespace, "db", chartPath="charts/db")
        ),
        "charts/db/objects.yaml": yaml.safe_dump_all([settings]),
    }


def test_the_graph_page_draws_the_edge_from_a_dependency_to_its_dependent_and_its_state_live(
    cluster: LiveCluster,
    namespace: str,
    git_repos: GitRepos,
    tmp_path: Path,
    browser: webdriver.Chrome,
) -> None:
    git_repos.commit_and_push(dependent_files(namespace), "web depends on db")
    graph = f"/graph?namespace={namespace}"
    with serving_ui(cluster, git_repos, tmp_path) as port:
        eventually(
            lambda: (
                f'data-release="{namespace}/web" data-state="Ready"' in http_get(port, graph)[1]
            ),
            what="web Ready on the graph",
            timeout=120,
        )
        browser.get(f"http://127.0.0.1:{port}{graph}")
        edge = f'path.edge[data-from="{namespace}/db"][data-to="{namespace}/web"]'
        assert len(browser.find_elements(By.CSS_SELECTOR, edge)) == 1
        db = browser.find_element(By.CSS_SELECTOR, f'g.release[data-release="{namespace}/db"]')
        assert db.get_attribute("data-state") == "Ready"
        browser.execute_script("window.notReloaded = true")

        bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Not_A_Name"}}
        git_repos.commit_and_push({"charts/db/objects.yaml": yaml.safe_dump_all([bad])}, "break")

        WebDriverWait(browser, 30, poll_frequency=0.2).until(
            lambda _: db.get_attribute("data-state") == "Failed"
        )
        assert db.find_element(By.CSS_SELECTOR, ".state").text == "Failed"
        web = browser.find_element(By.CSS_SELECTOR, f'g.release[data-release="{namespace}/web"]')
        WebDriverWait(browser, 30, poll_frequency=0.2).until(
            lambda _: web.get_attribute("data-state") == "Blocked"
        )
        why = str(web.find_element(By.CSS_SELECTOR, "title").get_attribute("textContent"))
        assert f"dependency {namespace}/db is Failed" in why, why
        assert browser.execute_script("return window.notReloaded") is True
        assert console_errors(browser) == []
        assert SECRET_VALUE not in browser.page_source
        if folder := os.environ.get(SCREENSHOTS):
            Path(folder).mkdir(parents=True, exist_ok=True)
            assert browser.save_screenshot(str(Path(folder) / "graph.png"))
