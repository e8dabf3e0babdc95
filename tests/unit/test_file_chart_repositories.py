"""Chart repository URLs in harmonia.yaml: http(s) only. A `file://` one would let a
commit make the reconciler read a folder of its own machine, so it is refused at its
line; and `import-walm --chart-repo` never writes a harmonia.yaml that would not load."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.release_requests.loader import load_repository
from tests.unit.test_cli_import_walm import bodies, run  # noqa: F401 (a fixture)

HARMONIA_YAML = "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\nchartRepositories:\n"


def import_walm(walm_bodies: Path, out: Path, *chart_repos: str) -> tuple[int, str, str]:
    """`import-walm` of the streaming namespace's bodies into `out`, one `--chart-repo`
    per `name=url` in `chart_repos`."""
    options = [option for repo in chart_repos for option in ("--chart-repo", repo)]
    return run("import-walm", walm_bodies, "-n", "streaming", "-o", out, *options)


@pytest.mark.parametrize("url", ["https://charts.example/stable", "http://127.0.0.1:8879/x"])
def test_a_harmonia_yaml_naming_an_http_chart_repository_loads(tmp_path: Path, url: str) -> None:
    (tmp_path / "harmonia.yaml").write_text(f"{HARMONIA_YAML}  local: {url}\n")
    loaded = load_repository(tmp_path)
    assert loaded.config is not None, [d.render() for d in loaded.diagnostics]
    assert loaded.config.chart_repositories == {"local": url}


@pytest.mark.parametrize(
    "url",
    [
        "file:///srv/charts",
        "file:///var/run/secrets/kubernetes.io/serviceaccount",
        "file://srv/charts",
        "file:relative",
        "ftp://charts.example",
        "oci://registry/x",
    ],
)
def test_a_chart_repository_url_other_than_http_is_refused_at_its_line(
    tmp_path: Path, url: str
) -> None:
    (tmp_path / "harmonia.yaml").write_text(f"{HARMONIA_YAML}  local: {url}\n")
    loaded = load_repository(tmp_path)
    assert loaded.config is None
    (problem,) = [d for d in loaded.diagnostics if d.path == "$.chartRepositories.local"]
    assert (problem.file, problem.line) == ("harmonia.yaml", 4)
    assert "is not a valid chart repository URL" in problem.message


def test_import_walm_writes_an_http_chart_repository_that_validates(
    bodies: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    out = tmp_path / "repo"
    code, _, stderr = import_walm(
        bodies, out, "qa=https://charts.example/qa", "stable=https://charts.example/stable"
    )
    assert code == 0, stderr
    code, stdout, stderr = run("validate", out)
    assert (code, stdout) == (0, ""), stderr


@pytest.mark.parametrize("url", ["ftp://charts.example/qa", "file:///srv/charts/qa"])
def test_import_walm_refuses_to_write_a_harmonia_yaml_that_would_not_load(
    bodies: Path,  # noqa: F811
    tmp_path: Path,
    url: str,
) -> None:
    out = tmp_path / "repo"
    code, _, stderr = import_walm(bodies, out, f"qa={url}")
    assert code == 1
    assert f"{out / 'harmonia.yaml'}:5:" in stderr  # under the comment saying who wrote it
    assert "chartRepositories.qa" in stderr and "nothing was written" in stderr
    assert not out.exists() or not any(out.rglob("*"))
