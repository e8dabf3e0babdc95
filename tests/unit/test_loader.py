"""Loading a whole repository: model values, defaults, WALM bodies, and problems across files."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.release_requests import (
    ChartImage,
    ChartPath,
    LoadedRepository,
    RepoChart,
    SourceFormat,
    StorageResource,
    load_repository,
)
from reconciler.types import ReleaseKey
from tests.unit.samples import (
    FULL_RELEASE,
    REPOSITORY,
    WALM_BODY,
    WALM_EQUIVALENT,
    release,
    write_repository,
)


def load(tmp_path: Path, files: dict[str, str | bytes], **options: str) -> LoadedRepository:
    return load_repository(write_repository(tmp_path, files, **options))


def places(loaded: LoadedRepository) -> list[tuple[str, int, int, str]]:
    return [(d.file, d.line, d.column, d.message) for d in loaded.diagnostics]


def test_the_full_release_format_becomes_the_model(tmp_path: Path) -> None:
    loaded = load(tmp_path, {"releases/streaming/kafka.yaml": FULL_RELEASE})
    assert loaded.diagnostics == ()
    kafka = loaded.releases[ReleaseKey("streaming/kafka")]
    assert kafka.chart == ChartPath("charts/kafka")
    assert kafka.dependencies == {"zookeeper": "streaming/zookeeper", "registry": "infra/registry"}
    assert kafka.values_files == ("values/kafka.yaml",)
    assert kafka.config_values == {"replicas": 3, "zookeeper": {"chroot": "/kafka"}}
    assert [plugin.args for plugin in kafka.plugins] == [{"labelsToAdd": {"a": "b"}}, {"x": 1}]
    assert kafka.plugins[0].priority == 1
    role = kafka.meta_info_params.roles[0]
    assert role.base_config is not None and role.base_config.replicas == 3
    assert role.resources is not None and role.resources.requests_cpu == 0.5
    assert role.resources.storage_resources == (
        StorageResource("data", "standard", "10Gi", ("ReadWriteOnce",)),
    )
    assert kafka.restarted_at == datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert kafka.ignore_differences[0].json_pointers == ("/spec/replicas",)
    assert (kafka.timeout_sec, kafka.prune, kafka.self_heal) == (300, True, True)
    assert kafka.source.position(("chartPath",)).line == 7


def test_repository_defaults_fill_the_fields_a_release_leaves_out(tmp_path: Path) -> None:
    loaded = load(tmp_path, {"releases/web.yaml": release("web")})
    web = loaded.releases[ReleaseKey("apps/web")]
    assert (web.timeout_sec, web.prune, web.delete_pvcs) == (120, False, False)
    assert loaded.config is not None and loaded.config.kube_version == "v1.36.3"


def test_a_walm_body_becomes_the_same_model_as_its_harmonia_equivalent(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        {"releases/walm/zookeeper.yaml": WALM_BODY, "other/zookeeper.yaml": WALM_EQUIVALENT},
    )
    assert loaded.diagnostics == ()
    from_walm = loaded.releases[ReleaseKey("streaming/zookeeper")]
    assert from_walm.format is SourceFormat.WALM
    equivalent = load_repository(
        write_repository(tmp_path / "twin", {"releases/zk.yaml": WALM_EQUIVALENT})
    ).releases[ReleaseKey("streaming/zookeeper")]
    assert dataclasses.replace(from_walm, format=SourceFormat.HARMONIA) == equivalent
    assert from_walm.chart == RepoChart("stable", "zookeeper", "6.1.0")


def test_a_walm_chart_image_becomes_an_oci_reference(tmp_path: Path) -> None:
    body = "name: web\nnamespace: apps\nchartImage: registry.example/charts/web:1.0.0\n"
    loaded = load(tmp_path, {"releases/web.yaml": body})
    web = loaded.releases[ReleaseKey("apps/web")]
    assert web.chart == ChartImage("oci://registry.example/charts/web:1.0.0")


def test_walm_fields_harmonia_cannot_honour_are_errors_not_silently_dropped(
    tmp_path: Path,
) -> None:
    body = (
        "name: web\nnamespace: apps\nchartImage: registry.example/web:1\n"
        "isomateConfig: {defaultIsomateName: a}\n"
    )
    loaded = load(tmp_path, {"releases/web.yaml": body})
    assert places(loaded) == [
        ("releases/web.yaml", 4, 1, "WALM's isomateConfig is not supported by Harmonia")
    ]


def test_a_walm_body_using_a_harmonia_field_is_read_as_harmonia_format(tmp_path: Path) -> None:
    body = "name: web\nnamespace: apps\nchartPath: charts/web\n"
    messages = [d.message for d in load(tmp_path, {"releases/web.yaml": body}).diagnostics]
    assert messages == [
        "missing required field 'apiVersion'",
        "missing required field 'kind'",
    ]


def test_two_files_claiming_one_release_is_an_error_naming_both(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        {"releases/a.yaml": release("web"), "releases/b.yaml": "\n" + release("web")},
    )
    assert places(loaded) == [
        ("releases/b.yaml", 4, 7, "release apps/web is also defined in releases/a.yaml:3")
    ]
    assert loaded.releases == {}
    assert loaded.invalid_releases == {"apps/web"}


def test_one_bad_file_never_stops_the_others(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        {
            "releases/bad.yaml": release("bad", timeoutSec="soon"),
            "releases/binary.yaml": b"\x00\x01",
            "releases/good.yaml": release("good"),
        },
    )
    assert list(loaded.releases) == ["apps/good"]
    assert [d.file for d in loaded.errors] == ["releases/bad.yaml", "releases/binary.yaml"]
    assert loaded.invalid_releases == {"apps/bad"}
    assert loaded.errors[0].release == "apps/bad"


def test_every_problem_has_a_place_a_path_a_message_and_a_hint(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        {
            "releases/a.yaml": release("a", chartPath="charts/missing").replace(
                "chartPath: charts/web\n", ""
            ),
            "releases/b.yaml": "name: [",
            "releases/c.yaml": release("c", releaseLabels="{team: 5}"),
        },
    )
    assert len(loaded.errors) == 3
    for problem in loaded.errors:
        assert problem.line >= 1 and problem.column >= 1
        assert problem.path.startswith("$")
        assert problem.message and problem.hint


def test_a_chart_path_values_file_and_chart_repository_must_exist(tmp_path: Path) -> None:
    text = release("web", valuesFiles="[values/kafka.yaml, values/missing.yaml]").replace(
        "charts/web", "charts/missing"
    )
    other = release("other").replace(
        "chartPath: charts/web", "repoName: unknown\nchartName: web\nchartVersion: 1.0.0"
    )
    loaded = load(tmp_path, {"releases/web.yaml": text, "releases/other.yaml": other})
    assert places(loaded) == [
        ("releases/other.yaml", 5, 11, "chart repository 'unknown' is not in harmonia.yaml"),
        ("releases/web.yaml", 5, 12, "no chart folder or .tgz at 'charts/missing'"),
        ("releases/web.yaml", 6, 34, "values file 'values/missing.yaml' does not exist"),
    ]


def test_a_packaged_chart_is_a_chart_path_too(tmp_path: Path) -> None:
    text = release("web").replace("charts/web", "charts/web-1.0.0.tgz")
    loaded = load(tmp_path, {"charts/web-1.0.0.tgz": b"packaged", "releases/web.yaml": text})
    assert loaded.diagnostics == ()


def test_a_release_file_linking_outside_the_repository_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text(release("web"))
    root = write_repository(tmp_path / "repo", {})
    (root / "releases/web.yaml").symlink_to(outside)
    loaded = load_repository(root)
    assert [(d.file, d.message) for d in loaded.errors] == [
        ("releases/web.yaml", "symbolic link to a file outside the repository")
    ]


def test_a_folder_link_in_the_releases_folder_is_an_error_that_holds_removals(
    tmp_path: Path,
) -> None:
    """Its releases are not read; silently skipped, they looked gone and were removed."""
    root = write_repository(tmp_path / "repo", {"shared/web.yaml": release("web")})
    (root / "releases/shop").symlink_to(root / "shared")
    loaded = load_repository(root)
    assert not loaded.releases
    assert [(d.file, d.message) for d in loaded.errors] == [
        ("releases/shop", "a symbolic link to a folder: release folders are not read through links")
    ]
    assert loaded.unclaimed_files == ("releases/shop",)


def test_files_that_are_not_yaml_are_skipped_with_a_warning(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        {
            "releases/README.md": "# notes",
            "releases/.hidden.yaml": "x",
            "releases/a.yml": release("a"),
        },
    )
    assert loaded.errors == ()
    assert [d.file for d in loaded.warnings] == ["releases/README.md"]
    assert list(loaded.releases) == ["apps/a"]


def test_a_missing_harmonia_yaml_is_an_error_but_releases_are_still_checked(
    tmp_path: Path,
) -> None:
    root = write_repository(tmp_path, {"releases/web.yaml": release("Web")})
    (root / "harmonia.yaml").unlink()
    loaded = load_repository(root)
    assert loaded.config is None
    assert places(loaded) == [
        ("harmonia.yaml", 1, 1, "no harmonia.yaml at the repository root"),
        ("releases/web.yaml", 3, 7, '"Web" is not a valid release name'),
    ]


def test_an_invalid_harmonia_yaml_leaves_no_config_and_keeps_its_releases_folder(
    tmp_path: Path,
) -> None:
    config = REPOSITORY.replace("releasesDir: releases", "releasesDir: apps") + "colour: blue\n"
    loaded = load(tmp_path, {"apps/web.yaml": release("web")}, config=config)
    assert loaded.config is None
    assert places(loaded) == [("harmonia.yaml", 10, 1, "unknown field 'colour'")]
    assert list(loaded.releases) == ["apps/web"]


def test_missing_folders_named_in_harmonia_yaml_are_errors_at_their_lines(tmp_path: Path) -> None:
    config = REPOSITORY.replace("releasesDir: releases", "releasesDir: apps").replace(
        "libraryDirs: [lib]", "libraryDirs: [lib, vendor]"
    )
    assert places(load(tmp_path, {}, config=config)) == [
        ("harmonia.yaml", 3, 14, "the releases folder 'apps' does not exist"),
        ("harmonia.yaml", 9, 20, "folder 'vendor' does not exist"),
    ]


def test_an_empty_releases_folder_is_a_warning(tmp_path: Path) -> None:
    loaded = load(tmp_path, {})
    assert [(d.message, d.is_error) for d in loaded.diagnostics] == [
        ("no release files under 'releases'", False)
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("plugins", "[{name: a}, {name: a}]", "plugin 'a' is listed twice (first at $.plugins[0])"),
        ("plugins", "[{name: a, args: 'not json'}]", "plugin args: not valid JSON text"),
        ("restartedAt", '"2026-13-01T00:00:00Z"', "not a valid time: month must be in 1..12"),
    ],
)
def test_what_a_schema_cannot_say_is_checked_after_it(
    tmp_path: Path, field: str, value: str, message: str
) -> None:
    loaded = load(tmp_path, {"releases/web.yaml": release("web", **{field: value})})
    ((problem,),) = [loaded.errors]
    assert problem.message.startswith(message)
    assert (problem.file, problem.line) == ("releases/web.yaml", 6)


def test_a_broken_releases_folder_setting_falls_back_to_releases(tmp_path: Path) -> None:
    config = REPOSITORY.replace("releasesDir: releases", 'releasesDir: ""')
    loaded = load(tmp_path, {"releases/web.yaml": release("web")}, config=config)
    assert [d.message for d in loaded.errors] == ["must not be empty"]
    assert list(loaded.releases) == ["apps/web"]


def test_a_walm_body_keeps_the_plugin_priority_of_walms_later_versions(tmp_path: Path) -> None:
    body = (
        "name: zk\nnamespace: streaming\nrepoName: stable\nchartName: zookeeper\n"
        "chartVersion: 6.1.0\n"
        'plugins:\n- {name: LabelPod, args: \'{"labelsToAdd": {"a": "b"}}\', priority: 5}\n'
    )
    loaded = load(tmp_path, {"releases/walm/zk.yaml": body})
    assert loaded.diagnostics == ()
    assert loaded.releases[ReleaseKey("streaming/zk")].plugins[0].priority == 5


def test_confirm_removal_in_harmonia_yaml_names_releases_and_refuses_anything_else(
    tmp_path: Path,
) -> None:
    confirmed = REPOSITORY + "confirmRemoval: [shop/web, streaming/kafka]\n"
    loaded = load(tmp_path / "good", {}, config=confirmed)
    assert loaded.config is not None
    assert loaded.config.confirm_removal == {"shop/web", "streaming/kafka"}

    loaded = load(tmp_path / "bad", {}, config=REPOSITORY + "confirmRemoval: [web]\n")
    assert loaded.config is None
    assert ("harmonia.yaml", 10, 18, '"web" is not a valid namespace/name of a release') in (
        places(loaded)
    )
