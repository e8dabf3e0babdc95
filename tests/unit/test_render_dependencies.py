"""A release's dependencies checked against its chart's metainfo: undeclared keys are
errors naming the file and line, chart and version mismatches are warnings unless strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.release_requests import Release, load_repository
from reconciler.render.model import DependedRelease, RenderError
from reconciler.render.values.dependency_check import check_dependencies
from reconciler.render.values.metainfo import ChartMetaInfo, read_metainfo
from reconciler.types import ReleaseKey
from tests.unit.samples import release, write_repository
from tests.unit.test_render_metainfo import write_chart

KAFKA_METAINFO = """\
friendlyName: Kafka
dependencies:
  - name: zookeeper
    chartName: zookeeper
    minVersion: "6.0"
    maxVersion: "6.2"
    dependencyOptional: false
    aliasConfigVar: ZOOKEEPER_CLIENT_CONFIG
  - name: guardian
    dependencyOptional: true
"""
ZOOKEEPER = ReleaseKey("streaming/zk")


def kafka_release(tmp_path: Path, dependencies: str) -> Release:
    root = write_repository(
        tmp_path / "repo",
        {"releases/kafka.yaml": release("kafka", "streaming", dependencies=dependencies)},
    )
    loaded = load_repository(root)
    assert not loaded.errors, [d.render() for d in loaded.errors]
    return loaded.releases[ReleaseKey("streaming/kafka")]


@pytest.fixture
def metainfo(tmp_path: Path) -> ChartMetaInfo:
    found = read_metainfo(write_chart(tmp_path, KAFKA_METAINFO))
    assert found is not None
    return found


def zookeeper(chart_name: str = "zookeeper", chart_version: str = "6.1.0") -> DependedRelease:
    return DependedRelease(ZOOKEEPER, {"zookeeper_port": "2181"}, chart_name, chart_version)


def test_declared_dependencies_of_the_declared_chart_and_range_pass(
    tmp_path: Path, metainfo: ChartMetaInfo
) -> None:
    kafka = kafka_release(tmp_path, "{zookeeper: zk}")
    warnings = check_dependencies(
        kafka, metainfo, {"zookeeper": zookeeper()}, chart_name="kafka", strict=True
    )
    assert warnings == ()


def test_a_dependency_key_the_metainfo_does_not_declare_is_an_error_at_its_line(
    tmp_path: Path, metainfo: ChartMetaInfo
) -> None:
    kafka = kafka_release(tmp_path, "{zookeeper: zk, zk2: other}")
    with pytest.raises(RenderError) as caught:
        check_dependencies(kafka, metainfo, {}, chart_name="kafka", strict=False)
    assert str(caught.value).startswith(
        "release streaming/kafka: releases/kafka.yaml:6:31: dependency key 'zk2' is not "
        "declared by chart kafka's metainfo (declared: zookeeper, guardian)"
    )
    assert "dependency key 'zookeeper'" not in str(caught.value)


def test_every_undeclared_key_is_named(tmp_path: Path, metainfo: ChartMetaInfo) -> None:
    kafka = kafka_release(tmp_path, "{a: x, b: y}")
    with pytest.raises(RenderError) as caught:
        check_dependencies(kafka, metainfo, {}, chart_name="kafka", strict=False)
    assert "dependency key 'a'" in str(caught.value)
    assert "dependency key 'b'" in str(caught.value)


def test_a_metainfo_without_dependencies_declares_none(tmp_path: Path) -> None:
    kafka = kafka_release(tmp_path, "{zookeeper: zk}")
    with pytest.raises(RenderError, match=r"\(declared: none\)"):
        check_dependencies(kafka, ChartMetaInfo(), {}, chart_name="kafka", strict=False)


def test_a_chart_without_metainfo_checks_nothing(tmp_path: Path) -> None:
    kafka = kafka_release(tmp_path, "{anything: zk}")
    found = {"anything": zookeeper("etcd", "0.1")}
    assert check_dependencies(kafka, None, found, chart_name="kafka", strict=True) == ()


def test_a_declared_dependency_left_out_is_not_an_error_even_when_not_optional(
    tmp_path: Path, metainfo: ChartMetaInfo
) -> None:
    kafka = kafka_release(tmp_path, "{}")
    assert check_dependencies(kafka, metainfo, {}, chart_name="kafka", strict=True) == ()


@pytest.mark.parametrize(
    ("depended", "problem"),
    [
        (
            zookeeper(chart_name="etcd"),
            "it runs chart etcd; chart kafka's metainfo expects chart zookeeper",
        ),
        (
            zookeeper(chart_version="6.3.0"),
            "its chart zookeeper 6.3.0 is outside [6.0, 6.2], the versions chart kafka's "
            "metainfo declares",
        ),
        (
            zookeeper(chart_version="5.2"),
            "its chart zookeeper 5.2 is outside [6.0, 6.2]",
        ),
        (
            zookeeper(chart_version="latest"),
            "cannot compare chart versions, not a version: 'latest'",
        ),
    ],
)
def test_a_chart_or_version_mismatch_is_a_warning_and_with_strict_an_error(
    tmp_path: Path, metainfo: ChartMetaInfo, depended: DependedRelease, problem: str
) -> None:
    kafka = kafka_release(tmp_path, "{zookeeper: zk}")
    found = {"zookeeper": depended}
    (warning,) = check_dependencies(kafka, metainfo, found, chart_name="kafka", strict=False)
    assert warning.startswith(f"release streaming/kafka: dependency 'zookeeper' ({ZOOKEEPER}): ")
    assert problem in warning
    with pytest.raises(RenderError) as caught:
        check_dependencies(kafka, metainfo, found, chart_name="kafka", strict=True)
    assert problem in str(caught.value)
    assert "strictDependencies is on" in str(caught.value)


@pytest.mark.parametrize(
    "depended",
    [zookeeper(chart_name="", chart_version=""), zookeeper(chart_version="")],
    ids=["nothing known", "version unknown"],
)
def test_what_the_source_does_not_say_is_not_checked(
    tmp_path: Path, metainfo: ChartMetaInfo, depended: DependedRelease
) -> None:
    kafka = kafka_release(tmp_path, "{zookeeper: zk}")
    found = {"zookeeper": depended}
    assert check_dependencies(kafka, metainfo, found, chart_name="kafka", strict=True) == ()


def test_a_dependency_declared_without_a_range_accepts_any_version(
    tmp_path: Path, metainfo: ChartMetaInfo
) -> None:
    kafka = kafka_release(tmp_path, "{guardian: guardian}")
    found = {"guardian": DependedRelease(ReleaseKey("streaming/guardian"), {}, "guardian", "9")}
    assert check_dependencies(kafka, metainfo, found, chart_name="kafka", strict=True) == ()
