"""CI keeps issue 21's benchmark working: three releases, one repeat, on its own dev
cluster. Not timed: it asserts only that the results files exist, every pass of every
variant has a figure, and sops ran for the SOPS variant alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.secrets_report import PASSES, RENDER_COLD, RENDER_WARM, SOPS, SOPS_ALONE, VARIANTS

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.cluster
RUN_TIMEOUT = 300


@pytest.mark.timeout(RUN_TIMEOUT + 60)
def test_the_secrets_benchmark_measures_every_variant_at_three_releases(tmp_path: Path) -> None:
    results = tmp_path / "results"
    run = subprocess.run(
        [
            sys.executable, "-m", "bench.secrets", "--releases", "3", "--repeats", "1",
            "--workdir", str(tmp_path / "work"), "--results-dir", str(results),
        ],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    (markdown,) = results.glob("secrets-*.md")
    body = json.loads(markdown.with_suffix(".json").read_text())
    figures = body["figures"]
    assert figures["errors"] == []
    for name in PASSES:
        for variant in (SOPS,) if name == SOPS_ALONE else VARIANTS:
            assert len(figures["seconds"][name][variant]) == 1, (name, variant)
    # A running reconciler's next pass decrypts nothing that did not change.
    assert figures["launches"][RENDER_COLD] == {"sops": 3, "plain": 0}
    assert figures["launches"][RENDER_WARM] == {"sops": 0, "plain": 0}
    assert "SOPS adds" in markdown.read_text()
    assert not (tmp_path / "work" / "code-before").exists()
