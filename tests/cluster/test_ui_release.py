"""A release's page in a real browser (Debian's headless Chromium through Selenium) against a
real `harmonia run` on the dev cluster: streaming/kafka of the examples shows zookeeper as its
dependency with the outputs it takes, reached from the releases page, with no console error;
a commit that makes a release fail shows its reason on the page within seconds, without a
reload.

With `HARMONIA_UI_SCREENSHOTS=<folder>` the test saves kafka's page (docs/images/release.png
is the one docs/ui.md shows)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from tests.cluster.test_run_loop import SECRET_VALUE, eventually, http_get, repository_files
from tests.cluster.test_ui_browser import (
    SCREENSHOTS,
    broken_files,
    console_errors,
    serving_ui,
)
from tests.cluster.workbench import EXAMPLES_SOURCE
from tests.conftest import GitRepos, LiveCluster

EXAMPLES = Path(__file__).parents[2] / "examples"


def streaming_files() -> dict[str, str]:
    """The examples repository without the shop namespace (whose values need the SOPS key):
    zookeeper and kafka, which depends on it."""
    return {
        str(path.relative_to(EXAMPLES)): path.read_text()
        for path in EXAMPLES.rglob("*")
        if path.is_file() and "shop" not in path.relative_to(EXAMPLES).parts
    }


def passed_ready(port: int, key: str) -> bool:
    """Whether the release is Ready and this reconciler made a pass over it (a release
    applied before it started is Ready before its first pass)."""
    status, body = http_get(port, f"/api/v1/releases/{key}")
    detail = json.loads(body) if status == 200 else {}
    return detail.get("state") == "Ready" and bool(detail.get("recentPasses"))


def test_kafkas_page_shows_zookeeper_as_its_dependency_with_the_outputs_it_takes(
    cluster: LiveCluster, git_repos: GitRepos, tmp_path: Path, browser: webdriver.Chrome
) -> None:
    git_repos.commit_and_push(streaming_files(), "the streaming examples")
    owner = ("--source-id", EXAMPLES_SOURCE)  # the releases' one owner, as in the other tests
    with serving_ui(cluster, git_repos, tmp_path, *owner) as port:
        eventually(lambda: passed_ready(port, "streaming/kafka"), what="kafka Ready", timeout=240)
        browser.get(f"http://127.0.0.1:{port}/?namespace=streaming")
        browser.find_element(By.CSS_SELECTOR, 'a[href="releases/streaming/kafka"]').click()
        WebDriverWait(browser, 10).until(lambda _: browser.title.startswith("Release"))

        assert browser.current_url == f"http://127.0.0.1:{port}/releases/streaming/kafka"
        assert browser.find_element(By.ID, "state").text == "Ready"
        dependency = browser.find_element(
            By.CSS_SELECTOR, '#dependencies li[data-release="streaming/zookeeper"]'
        )
        link = dependency.find_element(By.TAG_NAME, "a")
        assert link.get_attribute("href") == f"http://127.0.0.1:{port}/releases/streaming/zookeeper"
        taken = dependency.text
        assert "zookeeper_addresses" in taken and "zookeeper-0." in taken, taken
        assert "zookeeper_port" in taken and "2181" in taken, taken
        resources = browser.find_element(By.ID, "resources").text
        assert "StatefulSet kafka Ready" in resources, resources
        assert "kafka-0" in resources, resources
        assert browser.find_elements(By.CSS_SELECTOR, "#passes tbody tr td + td")  # a pass line
        assert console_errors(browser) == []
        if folder := os.environ.get(SCREENSHOTS):
            Path(folder).mkdir(parents=True, exist_ok=True)
            browser.set_window_size(1280, 1500)
            assert browser.save_screenshot(str(Path(folder) / "release.png"))

        link.click()
        WebDriverWait(browser, 10).until(lambda _: browser.current_url.endswith("/zookeeper"))
        assert browser.find_element(By.TAG_NAME, "h1").text == "streaming/zookeeper"
        assert console_errors(browser) == []


def test_a_release_made_to_fail_shows_its_reason_on_its_page_without_a_reload(
    cluster: LiveCluster,
    namespace: str,
    git_repos: GitRepos,
    tmp_path: Path,
    browser: webdriver.Chrome,
) -> None:
    git_repos.commit_and_push(repository_files(namespace), "web")
    key = f"{namespace}/web"
    with serving_ui(cluster, git_repos, tmp_path) as port:
        eventually(lambda: passed_ready(port, key), what="web Ready", timeout=120)
        browser.get(f"http://127.0.0.1:{port}/releases/{key}")
        state = browser.find_element(By.ID, "state")
        assert state.text == "Ready"
        browser.execute_script("window.notReloaded = true")

        git_repos.commit_and_push(broken_files(namespace), "break web")

        WebDriverWait(browser, 30, poll_frequency=0.2).until(lambda _: state.text == "Failed")
        message = browser.find_element(By.ID, "message").text
        assert "Not_A_Name" in message, message
        newest = browser.find_element(By.CSS_SELECTOR, "#events tbody tr")
        assert newest.get_attribute("class") == "live" and "Not_A_Name" in newest.text
        assert browser.execute_script("return window.notReloaded") is True
        assert console_errors(browser) == []
        assert SECRET_VALUE not in browser.page_source
