"""The web UI passes an automated accessibility check in a real browser: axe-core (from
npm, fetched by `make binaries`, integrity checked) run in each page finds no WCAG 2 A/AA
violation, colour contrast included; and the keyboard alone reaches every link, field and
button of each page in document order, each with a visible focus outline, and leaves the
last one (no trap). Against a real `harmonia run` on the dev cluster, with a Ready
release and its dependency failing, so the colours of both states are checked.

A new page is covered by one line in `PAGES` (and in `KEYBOARD_REACHES` for what its
keyboard user must reach)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from devcluster.axe_core import axe_core_script
from tests.cluster.test_run_loop import http_get
from tests.cluster.test_ui_browser import (
    broken_files,
    console_errors,
    dependent_files,
    serving_ui,
)
from tests.conftest import GitRepos, LiveCluster
from tests.waiting import wait_for

PAGES = (
    "/?namespace={namespace}",
    "/graph?namespace={namespace}",
    "/releases/{namespace}/web",
    "/releases/{namespace}/db",
    "/reconciler",
)
"""Every page of the UI, `{namespace}` the test's; its releases are web and db."""
KEYBOARD_REACHES = {
    "/?namespace={namespace}": (
        "nav a",
        "form.filter input",
        "form.filter select",
        "form.filter button",
        "#releases tr[data-release] a",
    ),
    "/graph?namespace={namespace}": ("nav a", "svg a"),
    "/releases/{namespace}/web": ("nav a", "details > summary"),
    "/reconciler": ("nav a",),
}
"""What the keyboard must reach on each page, besides everything focusable in it."""
ROWS_REACHED = {"/?namespace={namespace}": "#releases tr[data-release]"}
"""Pages whose every row of releases holds something the keyboard reaches."""
WCAG_A_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
FOCUSABLE = (
    "a[href], details > summary, button:not([disabled]), input:not([disabled]), "
    'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])'
)
RUN_AXE = """
return axe.run(document, {runOnly: {type: "tag", values: arguments[0]}}).then((result) => ({
  violations: result.violations.map((rule) => `${rule.id} (${rule.impact}): ${rule.help}: ` +
    rule.nodes.map((node) => `${node.target.join(" ")} ${node.failureSummary}`).join("; ")),
  checked: [...result.passes, ...result.violations].map((rule) => rule.id),
}));
"""
FOCUS = """
const element = document.activeElement;
const style = getComputedStyle(element);
return [element, element.matches(":focus-visible"), style.outlineStyle,
        parseFloat(style.outlineWidth)];
"""


READY = {"web": "Ready", "db": "Ready"}


def states(port: int, namespace: str) -> dict[str, str]:
    _, body = http_get(port, f"/api/v1/releases?namespace={namespace}")
    listed = json.loads(body or "{}").get("releases", [])
    return {item["name"]: item["state"] for item in listed}


@pytest.fixture
def ui_port(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> Iterator[int]:
    """A running reconciler serving the UI: web Ready, its dependency db failing."""
    git_repos.commit_and_push(dependent_files(namespace), "web depends on db")
    with serving_ui(cluster, git_repos, tmp_path) as port:
        wait_for(
            lambda: states(port, namespace),
            until=READY.__eq__,
            what="web and db Ready",
            timeout=120,
        )
        refused = broken_files(namespace)["charts/web/objects.yaml"]
        git_repos.commit_and_push({"charts/db/objects.yaml": refused}, "break db")
        wait_for(
            lambda: states(port, namespace),
            until=lambda seen: seen.get("db") not in ("Ready", None),
            what="db no longer Ready",
            timeout=60,
        )
        yield port


def test_axe_core_finds_no_wcag_a_or_aa_violation_on_any_page(
    namespace: str,
    ui_port: int,
    browser: webdriver.Chrome,
) -> None:
    script = axe_core_script()
    found = {}
    for page in PAGES:
        browser.get(f"http://127.0.0.1:{ui_port}{page.format(namespace=namespace)}")
        # Through WebDriver, not a <script> tag: the page's CSP allows only its own script.
        browser.execute_script(script)
        result = browser.execute_script(RUN_AXE, list(WCAG_A_AA))
        assert "color-contrast" in result["checked"], (page, "colour contrast was not checked")
        found[page] = result["violations"]
        assert console_errors(browser) == [], page
    assert found == {page: [] for page in PAGES}, json.dumps(found, indent=1)


def test_the_keyboard_reaches_every_control_of_each_page_in_order_with_a_visible_focus(
    namespace: str,
    ui_port: int,
    browser: webdriver.Chrome,
) -> None:
    for page, required in KEYBOARD_REACHES.items():
        browser.get(f"http://127.0.0.1:{ui_port}{page.format(namespace=namespace)}")
        focusable = browser.find_elements(By.CSS_SELECTOR, FOCUSABLE)
        reached: list[WebElement] = []
        for _ in focusable:
            ActionChains(browser).send_keys(Keys.TAB).perform()
            element, visible, style, width = browser.execute_script(FOCUS)
            assert visible and style == "solid" and width >= 2, (page, element.text, style, width)
            reached.append(element)
        assert reached == focusable, (page, [element.text for element in reached])
        for selector in required:
            wanted = browser.find_elements(By.CSS_SELECTOR, selector)
            assert wanted and all(element in reached for element in wanted), (page, selector)
        if rows := ROWS_REACHED.get(page):
            for row in browser.find_elements(By.CSS_SELECTOR, rows):
                assert row.find_elements(By.CSS_SELECTOR, FOCUSABLE), (page, row.text)
        ActionChains(browser).send_keys(Keys.TAB).perform()
        assert browser.execute_script("return document.activeElement") != reached[-1], (
            page,
            "the keyboard cannot leave the last control",
        )
