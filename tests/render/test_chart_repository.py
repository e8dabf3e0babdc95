"""Charts from a Helm chart repository served over HTTP on loopback (and file://)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from reconciler.release_requests.model import RepoChart
from reconciler.render.charts import (
    ChartIntegrityError,
    ChartNotFound,
    ChartUnavailable,
    LocalChart,
    credential_variables,
    resolve_chart,
)
from tests.render.conftest import FIXTURE_CHARTS
from tests.render.servers import ChartRepositoryServer, publish_chart_repository


def resolve(
    source: RepoChart,
    repositories: dict[str, str],
    cache: Path,
    helm: Path,
    environ: dict[str, str] | None = None,
) -> LocalChart:
    return resolve_chart(
        source,
        repository_root=cache.parent,
        chart_repositories=repositories,
        cache_dir=cache,
        helm=helm,
        environ=environ or {},
    )


SHOP = RepoChart(repo_name="stable", chart_name="shop", chart_version="1.4.2")


def test_a_repository_chart_is_downloaded_and_then_found_in_the_cache_offline(
    chart_repository: ChartRepositoryServer, tmp_path: Path, helm_binary: Path
) -> None:
    repositories = {"stable": chart_repository.url}

    first = resolve(SHOP, repositories, tmp_path / "cache", helm_binary)
    requests = list(chart_repository.requests)
    chart_repository.stop()
    second = resolve(SHOP, repositories, tmp_path / "cache", helm_binary)

    assert (first.name, first.version) == ("shop", "1.4.2")
    assert (first.root / "templates" / "_helpers.tpl").is_file()
    assert requests == ["/charts/index.yaml", "/charts/shop-1.4.2.tgz"]
    assert second == first


def test_absolute_archive_urls_in_the_index_are_followed(
    tmp_path: Path, helm_binary: Path, helm_home: Path
) -> None:
    server = ChartRepositoryServer(tmp_path / "served")
    try:
        publish_chart_repository(
            helm_binary,
            [FIXTURE_CHARTS / "helm-shop"],
            server.repository_folder,
            home=helm_home,
            url=server.url.replace("/charts", "/charts/"),
        )
        index = yaml.safe_load((server.repository_folder / "index.yaml").read_text())
        chart = resolve(SHOP, {"stable": server.url}, tmp_path / "cache", helm_binary)
    finally:
        server.stop()

    assert index["entries"]["shop"][0]["urls"][0].startswith("http://127.0.0.1:")
    assert chart.name == "shop"


def test_an_archive_that_does_not_match_the_index_digest_is_refused(
    chart_repository: ChartRepositoryServer, tmp_path: Path, helm_binary: Path
) -> None:
    index_file = chart_repository.repository_folder / "index.yaml"
    index = yaml.safe_load(index_file.read_text())
    index["entries"]["shop"][0]["digest"] = "0" * 64
    index_file.write_text(yaml.safe_dump(index))

    with pytest.raises(ChartIntegrityError, match="but the repository index promises") as raised:
        resolve(SHOP, {"stable": chart_repository.url}, tmp_path / "cache", helm_binary)
    assert raised.value.temporary is False
    assert str(raised.value).startswith("chart stable/shop 1.4.2: ")
    assert not list((tmp_path / "cache").rglob("Chart.yaml"))


def test_an_unknown_version_lists_the_available_ones(
    chart_repository: ChartRepositoryServer, tmp_path: Path, helm_binary: Path
) -> None:
    wanted = RepoChart(repo_name="stable", chart_name="shop", chart_version="9.9.9")

    with pytest.raises(ChartNotFound, match=r"has no version 9\.9\.9 of shop; available: 1\.4\.2"):
        resolve(wanted, {"stable": chart_repository.url}, tmp_path / "cache", helm_binary)


def test_an_unknown_chart_name_is_not_found(
    chart_repository: ChartRepositoryServer, tmp_path: Path, helm_binary: Path
) -> None:
    wanted = RepoChart(repo_name="stable", chart_name="kafka", chart_version="1.0.0")

    with pytest.raises(ChartNotFound, match="has no chart named 'kafka'"):
        resolve(wanted, {"stable": chart_repository.url}, tmp_path / "cache", helm_binary)


def test_an_unknown_repository_name_lists_the_known_ones(tmp_path: Path, helm_binary: Path) -> None:
    repositories = {"bitnami": "https://a.invalid", "internal": "https://b.invalid"}

    with pytest.raises(
        ChartNotFound,
        match=r"no chart repository named 'stable' in harmonia.yaml chartRepositories "
        r"\(known: bitnami, internal\)",
    ):
        resolve(SHOP, repositories, tmp_path / "cache", helm_binary)


def test_an_unreachable_repository_is_a_temporary_error(
    chart_repository: ChartRepositoryServer, tmp_path: Path, helm_binary: Path
) -> None:
    url = chart_repository.url
    chart_repository.stop()

    with pytest.raises(ChartUnavailable, match=re.escape("index.yaml cannot be reached")) as raised:
        resolve(SHOP, {"stable": url}, tmp_path / "cache", helm_binary)
    assert raised.value.temporary is True


def test_a_missing_index_is_a_permanent_error(
    chart_repository: ChartRepositoryServer, tmp_path: Path, helm_binary: Path
) -> None:
    (chart_repository.repository_folder / "index.yaml").unlink()

    with pytest.raises(ChartNotFound, match=re.escape("index.yaml answered HTTP 404")) as raised:
        resolve(SHOP, {"stable": chart_repository.url}, tmp_path / "cache", helm_binary)
    assert raised.value.temporary is False


def test_a_file_url_repository_works_like_an_http_one(
    tmp_path: Path, helm_binary: Path, helm_home: Path
) -> None:
    folder = tmp_path / "file-repository"
    publish_chart_repository(helm_binary, [FIXTURE_CHARTS / "helm-shop"], folder, home=helm_home)

    chart = resolve(SHOP, {"stable": folder.as_uri()}, tmp_path / "cache", helm_binary)

    assert (chart.name, chart.version) == ("shop", "1.4.2")


def test_a_token_from_the_environment_is_sent_and_never_shown(
    tmp_path: Path, helm_binary: Path, helm_home: Path
) -> None:
    server = ChartRepositoryServer(tmp_path / "served", token="s3cret-token")
    token_variable, _, _ = credential_variables("private-charts")
    try:
        publish_chart_repository(
            helm_binary, [FIXTURE_CHARTS / "helm-shop"], server.repository_folder, home=helm_home
        )
        source = RepoChart(repo_name="private-charts", chart_name="shop", chart_version="1.4.2")
        repositories = {"private-charts": server.url}
        with pytest.raises(ChartUnavailable, match="answered HTTP 401") as refused:
            resolve(
                source, repositories, tmp_path / "cache", helm_binary, {token_variable: "wrong"}
            )
        chart = resolve(
            source, repositories, tmp_path / "cache", helm_binary, {token_variable: "s3cret-token"}
        )
    finally:
        server.stop()

    assert token_variable == "HARMONIA_CHART_REPOSITORY_PRIVATE_CHARTS_TOKEN"
    assert "wrong" not in str(refused.value)
    assert chart.name == "shop"
