"""`file://` chart repositories: the code reads them (tests/render/test_chart_repository.py),
so harmonia.yaml may name them; and `import-walm --chart-repo` never writes a
harmonia.yaml that would not load."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.spec.loader import load_repository
from tests.unit.test_cli_import_walm import bodies, run  # noqa: F401 (a fixture)

HARMONIA_YAML = "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\nchartRepositories:\n"


@pytest.mark.parametrize(
    "url", ["file:///srv/charts", "file:///srv/charts/", "https://charts.example/stable"]
)
def test_a_harmonia_yaml_naming_a_file_or_https_chart_repository_loads(
    tmp_path: Path, url: str
) -> None:
    (tmp_path / "harmonia.yaml").write_text(f"{HARMONIA_YAML}  local: {url}\n")
    loaded = load_repository(tmp_path)
    assert loaded.config is not None, [d.render() for d in loaded.diagnostics]
    assert loaded.config.chart_repositories == {"local": url}


@pytest.mark.parametrize(
    "url", ["file://srv/charts", "file:relative", "ftp://charts.example", "oci://registry/x"]
)
def test_a_chart_repository_url_the_code_cannot_read_is_refused_at_its_line(
    tmp_path: Path, url: str
) -> None:
    (tmp_path / "harmonia.yaml").write_text(f"{HARMONIA_YAML}  local: {url}\n")
    loaded = load_repository(tmp_path)
    assert loaded.config is None
    (problem,) = [d for d in loaded.diagnostics if d.path == "$.chartRepositories.local"]
    assert (problem.file, problem.line) == ("harmonia.yaml", 4)
    assert "is not a valid chart repository URL" in problem.message


def test_import_walm_writes_a_file_chart_repository_that_validates(
    bodies: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    out = tmp_path / "repo"
    code, _, stderr = run(
        "import-walm", bodies, "-n", "streaming", "-o", out,
        "--chart-repo", "qa=file:///srv/charts/qa",
        "--chart-repo", "stable=file:///srv/charts/stable",
    )  # fmt: skip
    assert code == 0, stderr
    code, stdout, stderr = run("validate", out)
    assert (code, stdout) == (0, ""), stderr


def test_import_walm_refuses_to_write_a_harmonia_yaml_that_would_not_load(
    bodies: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    out = tmp_path / "repo"
    code, _, stderr = run(
        "import-walm", bodies, "-n", "streaming", "-o", out,
        "--chart-repo", "qa=ftp://charts.example/qa",
    )  # fmt: skip
    assert code == 1
    assert f"{out / 'harmonia.yaml'}:5:" in stderr  # under the comment saying who wrote it
    assert "chartRepositories.qa" in stderr and "nothing was written" in stderr
    assert not out.exists() or not any(out.rglob("*"))
