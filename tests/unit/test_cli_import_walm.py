"""`harmonia import-walm`: release files that validate, the report on stderr, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import cli
from tests.unit.test_walm_import import (
    CHART_IMAGE,
    KAFKA_DEPENDENCIES,
    KAFKA_LIST_ITEM,
    LABEL_POD_PLUGIN,
    ZOOKEEPER_CONFIG_VALUES,
    ZOOKEEPER_META_INFO,
)

ROOT = Path(__file__).resolve().parents[2]
CHART_REPOSITORIES = (
    *("--chart-repo", "qa=https://charts.example/qa"),
    *("--chart-repo", "stable=https://charts.example/stable"),
)


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(arg) for arg in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture()
def bodies(tmp_path: Path) -> Path:
    """A folder of WALM bodies as people kept them: JSON, and one as YAML."""
    folder = tmp_path / "walm"
    folder.mkdir()
    (folder / "zookeeper.json").write_text(json.dumps(ZOOKEEPER_META_INFO, indent=2))
    (folder / "zookeeper-values.json").write_text(json.dumps(ZOOKEEPER_CONFIG_VALUES))
    (folder / "kafka.yaml").write_text(yaml.safe_dump(KAFKA_DEPENDENCIES))
    (folder / "labelled").mkdir()
    (folder / "labelled/kafka-labelled.json").write_text(json.dumps(LABEL_POD_PLUGIN))
    (folder / "demo.json").write_text(json.dumps(CHART_IMAGE))
    (folder / "README.md").write_text("exported from WALM\n")
    return folder


def test_imported_releases_are_written_per_namespace_and_validate(
    bodies: Path, tmp_path: Path
) -> None:
    out = tmp_path / "repo"
    code, stdout, stderr = run(
        "import-walm", bodies, "-n", "streaming", "-o", out, *CHART_REPOSITORIES
    )
    assert code == 0, stderr
    assert stdout == ""
    assert sorted(path.relative_to(out).as_posix() for path in out.rglob("*.yaml")) == [
        "harmonia.yaml",
        "releases/streaming/kafka-labelled.yaml",
        "releases/streaming/kafka.yaml",
        "releases/streaming/zookeeper-demo.yaml",
        "releases/streaming/zookeeper-test.yaml",
        "releases/streaming/zookeeper-zhiyang.yaml",
    ]
    assert f"{bodies / 'README.md'}: warning: skipped, not a .json/.yaml/.yml file" in stderr
    assert stderr.splitlines()[-1] == (
        f"5 releases imported to {out} (0 notes), 0 bodies could not be converted"
    )
    code, stdout, stderr = run("validate", out)
    assert (code, stdout) == (0, ""), stderr
    assert stderr == f"{out}: 5 valid releases, 0 errors, 0 warnings\n"


def test_a_release_file_keeps_every_field_of_its_body(bodies: Path, tmp_path: Path) -> None:
    out = tmp_path / "repo"
    assert run("import-walm", bodies, "-n", "streaming", "-o", out, *CHART_REPOSITORIES)[0] == 0
    kafka = yaml.safe_load((out / "releases/streaming/kafka-labelled.yaml").read_text())
    assert kafka["plugins"] == [
        {"name": "LabelPod", "args": {"labelsToAdd": {"test1": "test2"}}, "version": "1.0"}
    ]
    zookeeper = yaml.safe_load((out / "releases/streaming/zookeeper-zhiyang.yaml").read_text())
    assert zookeeper["configValues"] == ZOOKEEPER_CONFIG_VALUES["configValues"]
    demo = (out / "releases/streaming/zookeeper-demo.yaml").read_text()
    assert demo.startswith(f"# Imported from WALM by harmonia import-walm: {bodies / 'demo.json'}")
    assert yaml.safe_load(demo)["chartImage"] == "oci://docker.io/warpcloud/zookeeper:6.1"


def test_the_release_list_goes_to_stdout_with_what_stayed_behind_on_stderr(
    tmp_path: Path,
) -> None:
    listing = tmp_path / "releases.json"
    listing.write_text(json.dumps({"num": 1, "items": [KAFKA_LIST_ITEM]}))
    code, stdout, stderr = run("import-walm", listing, "-o", "-")
    assert code == 0, stderr
    (document,) = yaml.safe_load_all(stdout)
    assert (document["name"], document["namespace"], document["dependencies"]) == (
        "ka2",
        "helmv3",
        {"zookeeper": "zk2"},
    )
    assert f"{listing} items[0]: helmv3/ka2: $.computedValues: not carried over: " in stderr
    assert f"{listing} items[0]: helmv3/ka2: $.ready, $.releaseStatus: not carried over" in stderr
    assert stderr.splitlines()[-1] == (
        "1 release imported to stdout (7 notes), 0 bodies could not be converted"
    )


def test_several_releases_on_stdout_are_one_multi_document_stream(tmp_path: Path) -> None:
    listing = tmp_path / "releases.json"
    listing.write_text(json.dumps([KAFKA_LIST_ITEM, ZOOKEEPER_META_INFO]))
    code, stdout, _stderr = run("import-walm", listing, "-n", "streaming", "-o", "-")
    assert code == 0
    assert [doc["name"] for doc in yaml.safe_load_all(stdout)] == ["ka2", "zookeeper-test"]


def test_a_body_that_cannot_be_converted_is_named_and_the_others_are_written(
    bodies: Path, tmp_path: Path
) -> None:
    broken = dict(KAFKA_DEPENDENCIES, name="broken", chartVersion="6.1")
    (bodies / "broken.json").write_text(json.dumps(broken))
    (bodies / "not-json.json").write_text("{oops")
    bad_args = dict(LABEL_POD_PLUGIN, name="bad-args")
    bad_args["plugins"] = [{"name": "LabelPod", "args": '{"labelsToAdd": "x"}'}]
    (bodies / "bad-args.json").write_text(json.dumps(bad_args))
    out = tmp_path / "repo"
    code, _stdout, stderr = run("import-walm", bodies, "-n", "streaming", "-o", out)
    assert code == 1
    errors = [line for line in stderr.splitlines() if ": error: " in line]
    assert [line.split(": error: ")[0] for line in errors] == [
        str(bodies / "not-json.json"),
        str(bodies / "broken.json"),
        str(bodies / "bad-args.json"),
    ]
    assert "not valid JSON: Expecting property name" in errors[0]
    assert '$.chartVersion: "6.1" is not a valid exact chart version' in errors[1]
    assert "plugins[0] LabelPod: args.labelsToAdd: expected a mapping" in errors[2]
    assert len(list((out / "releases/streaming").iterdir())) == 5
    assert stderr.splitlines()[-1].endswith("3 bodies could not be converted")


def test_existing_release_files_are_refused_unless_forced_and_nothing_is_written(
    bodies: Path, tmp_path: Path
) -> None:
    out = tmp_path / "repo"
    taken = out / "releases/streaming/kafka.yaml"
    taken.parent.mkdir(parents=True)
    taken.write_text("# mine\n")
    code, _stdout, stderr = run("import-walm", bodies, "-n", "streaming", "-o", out)
    assert code == 1
    assert f"{taken}: error: exists; pass --force to overwrite" in stderr
    assert stderr.splitlines()[-1] == (
        f"5 releases converted, none written to {out} (0 notes), 0 bodies could not be converted"
    )
    assert sorted(path.name for path in out.rglob("*")) == ["kafka.yaml", "releases", "streaming"]
    assert taken.read_text() == "# mine\n"
    code, _stdout, stderr = run("import-walm", bodies, "-n", "streaming", "-o", out, "--force")
    assert code == 0, stderr
    assert yaml.safe_load(taken.read_text())["name"] == "kafka"


def test_an_existing_harmonia_yaml_is_kept_and_names_the_releases_folder(
    bodies: Path, tmp_path: Path
) -> None:
    out = tmp_path / "repo"
    out.mkdir()
    config = "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\nreleasesDir: apps\n"
    config += "chartRepositories: {stable: https://charts.example/stable}\n"
    (out / "harmonia.yaml").write_text(config)
    code, _stdout, stderr = run("import-walm", bodies, "-n", "streaming", "-o", out, "--adopt")
    assert code == 0, stderr
    assert (out / "harmonia.yaml").read_text() == config
    assert yaml.safe_load((out / "apps/streaming/kafka.yaml").read_text())["adopt"] is True
    assert (
        f"{out / 'harmonia.yaml'}: warning: chart repository 'qa' (used by streaming/kafka, "
        "streaming/kafka-labelled, streaming/zookeeper-zhiyang) has no URL; add it under "
        "chartRepositories, or pass --chart-repo qa=URL"
    ) in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-n", "Not_A_Namespace", "-o", "out"), "is not a namespace name"),
        (("-o", "out", "--chart-repo", "qa"), "write NAME=URL"),
        (("-n", "streaming"), "Missing option '-o'"),
    ],
)
def test_usage_errors_exit_2(bodies: Path, args: tuple[str, ...], message: str) -> None:
    code, _stdout, stderr = run("import-walm", bodies, *args)
    assert code == 2
    assert message in stderr


def test_a_missing_source_is_a_usage_error(tmp_path: Path) -> None:
    code, _stdout, stderr = run("import-walm", tmp_path / "absent", "-o", "-")
    assert code == 2
    assert "does not exist" in stderr


def test_an_empty_source_imports_nothing_and_exits_1(tmp_path: Path) -> None:
    listing = tmp_path / "releases.json"
    listing.write_text('{"num": 0, "items": []}')
    code, stdout, stderr = run("import-walm", listing, "-o", "-")
    assert (code, stdout) == (1, "")
    assert f"error: no WALM release bodies in {listing}" in stderr


def test_python_m_reconciler_runs_import_walm(tmp_path: Path) -> None:
    body = tmp_path / "zookeeper.json"
    body.write_text(json.dumps(ZOOKEEPER_META_INFO))
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "reconciler",
            "import-walm",
            str(body),
            "-n",
            "streaming",
            "-o",
            "-",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert yaml.safe_load(completed.stdout)["metaInfoParams"]["roles"][0]["name"] == "zookeeper"
