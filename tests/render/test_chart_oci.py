"""Charts from an OCI registry: a real docker-registry on loopback, charts pushed by helm."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.release_requests.model import ChartImage
from reconciler.render.charts import (
    ChartNotFound,
    ChartSourceError,
    InvalidChart,
    LocalChart,
    resolve_chart,
)
from reconciler.render.charts.oci import OciReference, parse_chart_image
from tests.render.conftest import FIXTURE_CHARTS
from tests.render.servers import OciRegistry, run_helm_cli


def resolve(
    reference: str, cache: Path, helm: Path, plain_http_registries: tuple[str, ...]
) -> LocalChart:
    return resolve_chart(
        ChartImage(reference),
        repository_root=cache.parent,
        chart_repositories={},
        cache_dir=cache,
        helm=helm,
        plain_http_registries=plain_http_registries,
    )


def push_shop(registry: OciRegistry, helm: Path, home: Path) -> str:
    """Package and push helm-shop to `registry`; the manifest digest helm printed."""
    packages = home / "packages"
    run_helm_cli(
        helm,
        "package",
        str(FIXTURE_CHARTS / "helm-shop"),
        "--destination",
        str(packages),
        home=home,
    )
    pushed = run_helm_cli(
        helm,
        "push",
        str(packages / "shop-1.4.2.tgz"),
        f"oci://{registry.address}/charts",
        "--plain-http",
        home=home,
    )
    digest = re.search(r"sha256:[0-9a-f]{64}", pushed)
    assert digest is not None, pushed
    return digest.group(0)


def test_a_chart_pushed_to_a_registry_is_pulled_by_tag_and_then_served_from_the_cache(
    oci_registry: OciRegistry, tmp_path: Path, helm_binary: Path, helm_home: Path
) -> None:
    push_shop(oci_registry, helm_binary, helm_home)
    reference = f"oci://{oci_registry.address}/charts/shop:1.4.2"

    chart = resolve(reference, tmp_path / "cache", helm_binary, (oci_registry.address,))
    oci_registry.stop()
    again = resolve(reference, tmp_path / "cache", helm_binary, (oci_registry.address,))

    assert (chart.name, chart.version) == ("shop", "1.4.2")
    assert (chart.root / "charts" / "cache" / "Chart.yaml").is_file()
    assert again == chart


def test_a_chart_is_pulled_by_digest(
    oci_registry: OciRegistry, tmp_path: Path, helm_binary: Path, helm_home: Path
) -> None:
    digest = push_shop(oci_registry, helm_binary, helm_home)

    chart = resolve(
        f"oci://{oci_registry.address}/charts/shop@{digest}",
        tmp_path / "cache",
        helm_binary,
        (oci_registry.address,),
    )

    assert (chart.name, chart.version) == ("shop", "1.4.2")


def test_a_plain_http_registry_not_listed_as_such_is_refused_with_a_hint(
    oci_registry: OciRegistry, tmp_path: Path, helm_binary: Path, helm_home: Path
) -> None:
    push_shop(oci_registry, helm_binary, helm_home)

    with pytest.raises(ChartSourceError, match="list it in plain_http_registries") as raised:
        resolve(
            f"oci://{oci_registry.address}/charts/shop:1.4.2", tmp_path / "cache", helm_binary, ()
        )
    assert raised.value.temporary is False


def test_an_unknown_tag_is_not_found(
    oci_registry: OciRegistry, tmp_path: Path, helm_binary: Path, helm_home: Path
) -> None:
    push_shop(oci_registry, helm_binary, helm_home)
    reference = f"oci://{oci_registry.address}/charts/shop:9.9.9"

    with pytest.raises(ChartNotFound, match=f"chart {re.escape(reference)}: not in the registry"):
        resolve(reference, tmp_path / "cache", helm_binary, (oci_registry.address,))


def test_an_unreachable_registry_is_a_temporary_error(
    oci_registry: OciRegistry, tmp_path: Path, helm_binary: Path
) -> None:
    address = oci_registry.address
    oci_registry.stop()

    with pytest.raises(ChartSourceError, match="helm pull failed") as raised:
        resolve(f"oci://{address}/charts/shop:1.4.2", tmp_path / "cache", helm_binary, (address,))
    assert raised.value.temporary is True


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (
            "oci://registry.example:5000/team/charts/shop:1.4.2",
            OciReference("registry.example:5000", "team/charts/shop", "1.4.2", None),
        ),
        (
            "oci://127.0.0.1:5000/shop@sha256:" + "a" * 64,
            OciReference("127.0.0.1:5000", "shop", None, "sha256:" + "a" * 64),
        ),
        (
            "oci://ghcr.io/org/shop:1.0.0@sha256:" + "b" * 64,
            OciReference("ghcr.io", "org/shop", "1.0.0", "sha256:" + "b" * 64),
        ),
    ],
)
def test_chart_image_references_are_taken_apart(reference: str, expected: OciReference) -> None:
    assert parse_chart_image(reference, subject="chart x") == expected


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("https://ghcr.io/org/shop:1.0.0", "starts with oci://"),
        ("oci://ghcr.io/org/shop", r"pin the chart with a tag \(:1.2.3\) or a digest"),
        ("oci://ghcr.io/org/shop@sha256:abc", "is not a sha256:<64 hex digits> digest"),
        ("oci://ghcr.io", "expected oci://REGISTRY/REPOSITORY/CHART:TAG"),
        ("oci://ghcr.io/org/shop:1.0!", "is not a valid tag"),
    ],
)
def test_malformed_chart_image_references_are_refused(reference: str, message: str) -> None:
    with pytest.raises(InvalidChart, match=message):
        parse_chart_image(reference, subject="chart x")


def test_pull_arguments_prefer_the_digest_over_the_tag() -> None:
    reference = OciReference("ghcr.io", "org/shop", "1.0.0", "sha256:" + "b" * 64)

    assert reference.pull_arguments() == ["oci://ghcr.io/org/shop@sha256:" + "b" * 64]
    assert OciReference("ghcr.io", "org/shop", "1.0.0", None).pull_arguments() == [
        "oci://ghcr.io/org/shop",
        "--version",
        "1.0.0",
    ]
