"""Fixtures of the cluster tests beyond the shared ones: the browser of the UI's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver

from bench.browser import headless_chromium


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Headless Chromium, its window short so that a screenshot shows the page's top."""
    with headless_chromium(tmp_path / "chromium-profile", window="1280,480") as driver:
        yield driver
