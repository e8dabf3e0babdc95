"""The releases page's label filter and Age column, and the graph's edge labels, in a real
browser (the helpers of test_ui_browser.py) against a real `harmonia run` on the dev cluster
with the examples' ZooKeeper and Kafka in the test's namespace: the label filter narrows the
rows, and the arrow from zookeeper to kafka carries the names of the outputs Kafka takes.

With `HARMONIA_UI_SCREENSHOTS=<folder>` the test saves the graph it saw (graph-outputs.png)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import yaml
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests import manifests
from tests.cluster.test_run_loop import eventually, http_get
from tests.cluster.test_ui_browser import SCREENSHOTS, console_errors, serving_ui
from tests.conftest import GitRepos, LiveCluster

EXAMPLE_CHARTS = Path(__file__).parents[2] / "examples" / "charts"


def streaming_files(namespace: str) -> dict[str, str]:
    """The examples' ZooKeeper and Kafka (one replica each) in `namespace`, Kafka depending
    on ZooKeeper under the alias its metainfo names."""
    files = {"harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"}
    for chart in ("zookeeper", "kafka"):
        for path in (EXAMPLE_CHARTS / chart).rglob("*"):
            if path.is_file():
                files[f"charts/{path.relative_to(EXAMPLE_CHARTS)}"] = path.read_text()
    zookeeper = manifests.release(
        namespace,
        "zookeeper",
        chartPath="charts/zookeeper",
        configValues={"replicas": 1},
        releaseLabels={"team": "data", "tier": "coordination"},
    )
    kafka = manifests.release(
        namespace,
        "kafka",
        chartPath="charts/kafka",
        configValues={"replicas": 1},
        dependencies={"zookeeper": "zookeeper"},
        releaseLabels={"team": "data", "tier": "messaging"},
    )
    files[f"releases/{namespace}/zookeeper.yaml"] = yaml.safe_dump(zookeeper)
    files[f"releases/{namespace}/kafka.yaml"] = yaml.safe_dump(kafka)
    return files


def test_the_label_filter_narrows_the_rows_and_the_graph_edge_names_the_outputs_taken(
    cluster: LiveCluster,
    namespace: str,
    git_repos: GitRepos,
    tmp_path: Path,
    browser: webdriver.Chrome,
) -> None:
    git_repos.commit_and_push(streaming_files(namespace), "zookeeper and kafka")
    with serving_ui(cluster, git_repos, tmp_path) as port:
        filtered = f"/?namespace={namespace}&labelSelector={quote('tier in (messaging)')}"
        # Labels come from Git: until the first pass ends, a release known only from its
        # inventory record has none, so wait for the pass, not only for kafka Ready.
        eventually(
            lambda: (
                f'data-release="{namespace}/kafka"' in http_get(port, f"{filtered}&state=Ready")[1]
            ),
            what="kafka Ready in the API, with its labels",
            timeout=180,
        )
        browser.get(f"http://127.0.0.1:{port}{filtered}")
        rows = browser.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert [row.get_attribute("data-release") for row in rows] == [f"{namespace}/kafka"]
        age = rows[0].find_element(By.CSS_SELECTOR, "td.age time")
        assert str(age.get_attribute("datetime")).startswith("20")
        assert "installed" in str(age.get_attribute("title"))
        # A local repository is no known forge: the revision is plain text.
        assert rows[0].find_elements(By.CSS_SELECTOR, "td.revision a") == []
        assert console_errors(browser) == []

        browser.get(f"http://127.0.0.1:{port}/graph?namespace={namespace}")
        ends = f'[data-from="{namespace}/zookeeper"][data-to="{namespace}/kafka"]'
        assert len(browser.find_elements(By.CSS_SELECTOR, f"path.edge{ends}")) == 1
        label = browser.find_element(By.CSS_SELECTOR, f"text.edge-label{ends}")
        title = str(label.find_element(By.CSS_SELECTOR, "title").get_attribute("textContent"))
        assert "zookeeper_addresses" in title and "zookeeper_port" in title, title
        assert "zookeeper_addresses" in str(label.get_attribute("textContent"))
        assert console_errors(browser) == []
        if folder := os.environ.get(SCREENSHOTS):
            Path(folder).mkdir(parents=True, exist_ok=True)
            assert browser.save_screenshot(str(Path(folder) / "graph-outputs.png"))
