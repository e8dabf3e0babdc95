"""CI keeps the benchmark working: the whole run at N = 10, once, on its own dev cluster.

Not a timed test: it asserts only that the results files exist and that every scenario
produced a figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.results import SCENARIOS

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.cluster
RUN_TIMEOUT = 600


@pytest.mark.timeout(RUN_TIMEOUT + 60)
def test_the_benchmark_runs_every_scenario_at_ten_releases(tmp_path: Path) -> None:
    results = tmp_path / "results"
    run = subprocess.run(
        [
            sys.executable, "-m", "bench.run", "--sizes", "10", "--repeats", "1",
            "--workdir", str(tmp_path / "work"), "--results-dir", str(results),
        ],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    (markdown,) = (path for path in results.glob("*.md") if path.name != "latest.md")
    assert (results / "latest.md").read_text() == markdown.read_text()
    body = json.loads(markdown.with_suffix(".json").read_text())
    figures = {entry["scenario"]: entry for entry in body["results"]}
    assert set(figures) == set(SCENARIOS)
    for name, entry in figures.items():
        assert entry["errors"] == [], name
        assert entry["summary"]["seconds"]["median"] > 0, name
    assert body["meta"]["machine"]["cores"] >= 1
    assert body["meta"]["versions"]["kubernetes"].startswith("v")
