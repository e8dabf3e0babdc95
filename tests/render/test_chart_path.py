"""`chartPath` sources: chart folders and packaged archives inside the repository."""

from __future__ import annotations

import io
import os
import re
import tarfile
from pathlib import Path

import pytest

from reconciler.release_requests.model import ChartPath
from reconciler.render.charts import (
    ChartLimits,
    ChartNotFound,
    InvalidChart,
    LocalChart,
    UnsafeChart,
    resolve_chart,
)
from tests.render.conftest import FIXTURE_CHARTS, copy_fixture_chart
from tests.render.servers import run_helm_cli


def resolve(path: str, repository: Path, helm: Path, **options: object) -> LocalChart:
    return resolve_chart(
        ChartPath(path),
        repository_root=repository,
        chart_repositories={},
        cache_dir=repository.parent / "cache",
        helm=helm,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture()
def repository(tmp_path: Path) -> Path:
    root = tmp_path / "repository"
    root.mkdir()
    return root


def write_archive(path: Path, members: list[tarfile.TarInfo], contents: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            data = contents.get(member.name)
            if data is not None:
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    return path


def file_member(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def test_a_chart_folder_resolves_in_place_with_name_and_version_from_chart_yaml(
    repository: Path, helm_binary: Path
) -> None:
    copy_fixture_chart("helm-shop", repository / "charts" / "shop")

    chart = resolve("charts/shop", repository, helm_binary)

    assert chart.root == (repository / "charts" / "shop").resolve()
    assert (chart.name, chart.version) == ("shop", "1.4.2")
    assert chart.digest.startswith("sha256:")


def test_a_folder_without_chart_yaml_is_named_after_the_folder_at_version_0_0_0(
    repository: Path, helm_binary: Path
) -> None:
    (repository / "manifests" / "web").mkdir(parents=True)
    (repository / "manifests" / "web" / "service.yaml").write_text("kind: Service\n")

    chart = resolve("manifests/web", repository, helm_binary)

    assert (chart.name, chart.version) == ("web", "0.0.0")


def test_the_digest_depends_on_content_and_relative_paths_only(
    tmp_path: Path, helm_binary: Path
) -> None:
    copy_fixture_chart("helm-shop", tmp_path / "one" / "charts" / "shop")
    second = copy_fixture_chart("helm-shop", tmp_path / "two" / "elsewhere" / "shop")
    os.utime(second / "values.yaml", (0, 0))

    digest_one = resolve("charts/shop", tmp_path / "one", helm_binary).digest
    digest_two = resolve("elsewhere/shop", tmp_path / "two", helm_binary).digest
    (second / "values.yaml").write_text((second / "values.yaml").read_text() + "\nextra: 1\n")
    digest_changed = resolve("elsewhere/shop", tmp_path / "two", helm_binary).digest

    assert digest_one == digest_two
    assert digest_changed != digest_one


def test_a_packaged_chart_is_unpacked_into_the_cache_once(
    repository: Path, helm_binary: Path, helm_home: Path
) -> None:
    run_helm_cli(
        helm_binary,
        "package",
        str(FIXTURE_CHARTS / "helm-shop"),
        "--destination",
        str(repository / "packages"),
        home=helm_home,
    )

    first = resolve("packages/shop-1.4.2.tgz", repository, helm_binary)
    second = resolve("packages/shop-1.4.2.tgz", repository, helm_binary)

    assert (first.name, first.version) == ("shop", "1.4.2")
    assert first.root.is_relative_to(repository.parent / "cache")
    assert (first.root / "charts" / "cache" / "Chart.yaml").is_file()
    assert second == first


def test_a_chart_path_climbing_out_of_the_repository_is_refused(
    repository: Path, helm_binary: Path
) -> None:
    copy_fixture_chart("helm-shop", repository.parent / "outside")

    with pytest.raises(UnsafeChart, match=r"chart \.\./outside: '\.\./outside' leads outside"):
        resolve("../outside", repository, helm_binary)


def test_an_absolute_chart_path_is_refused(repository: Path, helm_binary: Path) -> None:
    with pytest.raises(UnsafeChart, match="is absolute"):
        resolve(str(FIXTURE_CHARTS / "helm-shop"), repository, helm_binary)


def test_a_chart_path_that_is_a_symlink_to_outside_is_refused(
    repository: Path, helm_binary: Path
) -> None:
    outside = copy_fixture_chart("helm-shop", repository.parent / "outside")
    (repository / "charts").mkdir()
    (repository / "charts" / "shop").symlink_to(outside)

    with pytest.raises(UnsafeChart, match="leads outside the repository"):
        resolve("charts/shop", repository, helm_binary)


def test_a_symlink_inside_the_chart_pointing_outside_is_refused(
    repository: Path, helm_binary: Path
) -> None:
    chart = copy_fixture_chart("helm-shop", repository / "charts" / "shop")
    secret = repository.parent / "host-secret.txt"
    secret.write_text("not for charts")
    (chart / "templates" / "stolen.txt").symlink_to(secret)

    with pytest.raises(
        UnsafeChart, match=re.escape("templates/stolen.txt is a symbolic link to outside")
    ):
        resolve("charts/shop", repository, helm_binary)


def test_a_symlink_inside_the_chart_pointing_within_the_repository_is_followed(
    repository: Path, helm_binary: Path
) -> None:
    chart = copy_fixture_chart("helm-shop", repository / "charts" / "shop")
    shared = repository / "shared" / "LICENSE"
    shared.parent.mkdir()
    shared.write_text("Apache-2.0\n")
    (chart / "LICENSE").symlink_to(shared)

    resolved = resolve("charts/shop", repository, helm_binary)

    assert resolved.name == "shop"


def test_a_broken_symlink_in_the_chart_is_an_invalid_chart(
    repository: Path, helm_binary: Path
) -> None:
    chart = copy_fixture_chart("helm-shop", repository / "charts" / "shop")
    (chart / "templates" / "gone.yaml").symlink_to(chart / "templates" / "nothing.yaml")

    expected = re.escape("chart charts/shop: templates/gone.yaml is a broken symbolic link")
    with pytest.raises(InvalidChart, match=expected):
        resolve("charts/shop", repository, helm_binary)


def test_a_symlink_loop_in_the_chart_is_refused(repository: Path, helm_binary: Path) -> None:
    chart = copy_fixture_chart("helm-shop", repository / "charts" / "shop")
    (chart / "templates" / "again").symlink_to(chart)

    with pytest.raises(UnsafeChart, match="a symbolic link leads to a folder walked already"):
        resolve("charts/shop", repository, helm_binary)


def test_a_missing_chart_path_names_the_path(repository: Path, helm_binary: Path) -> None:
    with pytest.raises(ChartNotFound, match="chart charts/nothing: no such folder or file"):
        resolve("charts/nothing", repository, helm_binary)


def test_a_file_that_is_not_an_archive_is_refused(repository: Path, helm_binary: Path) -> None:
    (repository / "notes.txt").write_text("hello")

    with pytest.raises(ChartNotFound, match=re.escape("neither a chart folder nor a .tgz archive")):
        resolve("notes.txt", repository, helm_binary)


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("../escape.yaml", "climbs out with '..'"),
        ("shop/../../escape.yaml", "climbs out with '..'"),
        ("/etc/escape.yaml", "has an absolute path"),
    ],
)
def test_an_archive_member_with_an_unsafe_path_is_refused(
    repository: Path, helm_binary: Path, member: str, message: str
) -> None:
    contents = {"shop/Chart.yaml": b"name: shop\nversion: 1.0.0\n", member: b"kind: x\n"}
    write_archive(repository / "bad.tgz", [file_member(name) for name in contents], contents)

    with pytest.raises(UnsafeChart, match=f"chart bad.tgz: archive member .*{message}"):
        resolve("bad.tgz", repository, helm_binary)
    assert not any((repository.parent / "cache").rglob("escape.yaml"))
    assert not (repository.parent / "escape.yaml").exists()


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE])
def test_an_archive_holding_links_or_devices_is_refused(
    repository: Path, helm_binary: Path, kind: bytes
) -> None:
    link = tarfile.TarInfo("shop/templates/link.yaml")
    link.type = kind
    link.linkname = "/etc/passwd"
    contents = {"shop/Chart.yaml": b"name: shop\nversion: 1.0.0\n"}
    write_archive(repository / "bad.tgz", [file_member("shop/Chart.yaml"), link], contents)

    with pytest.raises(
        UnsafeChart, match=re.escape("'shop/templates/link.yaml' is a link or device")
    ):
        resolve("bad.tgz", repository, helm_binary)


def test_an_archive_larger_than_the_cap_is_refused(repository: Path, helm_binary: Path) -> None:
    contents = {"shop/Chart.yaml": b"name: shop\nversion: 1.0.0\n", "shop/big": b"x" * 4096}
    write_archive(repository / "big.tgz", [file_member(name) for name in contents], contents)

    with pytest.raises(UnsafeChart, match="unpacks to more than 1000 bytes"):
        resolve("big.tgz", repository, helm_binary, limits=ChartLimits(max_unpacked_bytes=1000))


def test_a_corrupt_archive_is_an_invalid_chart(repository: Path, helm_binary: Path) -> None:
    (repository / "broken.tgz").write_bytes(b"\x1f\x8b not really gzip")

    with pytest.raises(
        InvalidChart, match=re.escape("chart broken.tgz: not a readable chart archive")
    ):
        resolve("broken.tgz", repository, helm_binary)


def test_a_chart_yaml_without_a_version_is_an_invalid_chart(
    repository: Path, helm_binary: Path
) -> None:
    (repository / "charts" / "bad").mkdir(parents=True)
    (repository / "charts" / "bad" / "Chart.yaml").write_text("apiVersion: v2\nname: bad\n")

    with pytest.raises(
        InvalidChart, match=re.escape("chart charts/bad: Chart.yaml has no version")
    ):
        resolve("charts/bad", repository, helm_binary)


def test_file_dependencies_are_built_in_the_cache_and_not_in_the_repository(
    repository: Path, helm_binary: Path
) -> None:
    copy_fixture_chart("helm-umbrella", repository / "charts" / "helm-umbrella")
    copy_fixture_chart("helm-common", repository / "charts" / "helm-common")
    before = sorted(path.relative_to(repository) for path in repository.rglob("*"))

    chart = resolve("charts/helm-umbrella", repository, helm_binary)
    again = resolve("charts/helm-umbrella", repository, helm_binary)

    assert sorted(path.relative_to(repository) for path in repository.rglob("*")) == before
    assert chart.root.is_relative_to(repository.parent / "cache")
    assert [path.name for path in (chart.root / "charts").iterdir()] == ["common-0.1.0.tgz"]
    assert again == chart


def test_a_change_in_a_file_dependency_changes_the_digest(
    repository: Path, helm_binary: Path
) -> None:
    copy_fixture_chart("helm-umbrella", repository / "charts" / "helm-umbrella")
    common = copy_fixture_chart("helm-common", repository / "charts" / "helm-common")
    before = resolve("charts/helm-umbrella", repository, helm_binary)

    (common / "values.yaml").write_text("greeting: bonjour\n")
    after = resolve("charts/helm-umbrella", repository, helm_binary)

    assert after.digest != before.digest
    assert after.root != before.root


def test_a_file_dependency_outside_the_repository_is_refused(
    tmp_path: Path, helm_binary: Path
) -> None:
    # The chart is the repository itself, so its ../helm-common lies outside.
    umbrella = copy_fixture_chart("helm-umbrella", tmp_path / "helm-umbrella")
    copy_fixture_chart("helm-common", tmp_path / "helm-common")

    with pytest.raises(
        UnsafeChart, match=re.escape("'../helm-common' leads outside the repository")
    ):
        resolve(".", umbrella, helm_binary)


def test_a_remote_dependency_that_is_not_vendored_asks_for_vendoring(
    repository: Path, helm_binary: Path
) -> None:
    copy_fixture_chart("helm-remote-deps", repository / "charts" / "remote-deps")

    with pytest.raises(
        InvalidChart,
        match=r"chart charts/remote-deps: dependencies not in charts/: postgresql "
        r"\(https://charts.example.invalid/stable\).*commit the charts/ folder",
    ):
        resolve("charts/remote-deps", repository, helm_binary)
