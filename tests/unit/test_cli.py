"""`harmonia validate` and `harmonia graph`: one line per problem, and the Contracts' exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from tests.unit.samples import release, write_repository

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HARMONIA = Path(sys.executable).parent / "harmonia"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture()
def broken_repository(tmp_path: Path) -> Path:
    """One of each problem the issue names, each in its own file."""
    return write_repository(
        tmp_path / "repo",
        {
            "releases/wrong-type.yaml": release("wrong-type", timeoutSec='"300"'),
            "releases/missing-chart.yaml": release("missing-chart").replace(
                "charts/web", "charts/missing"
            ),
            "releases/duplicate-key.yaml": release("duplicate-key", namespace="apps\nname: again"),
            "releases/unknown-field.yaml": release("unknown-field", descripton="shop front"),
            "releases/web-1.yaml": release("web"),
            "releases/web-2.yaml": release("web"),
            "releases/cycle-a.yaml": release("cycle-a", dependencies="{next: cycle-b}"),
            "releases/cycle-b.yaml": release("cycle-b", dependencies="{next: cycle-a}"),
        },
    )


def test_validate_prints_one_line_per_problem_with_its_place_and_exits_1(
    broken_repository: Path,
) -> None:
    completed = subprocess.run(
        [str(HARMONIA), "validate", "repo"],
        cwd=broken_repository.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    assert completed.stdout.splitlines() == [
        "repo/releases/cycle-a.yaml:6:22: dependency cycle: apps/cycle-a -> apps/cycle-b -> "
        "apps/cycle-a ($.dependencies.next) releases on a cycle cannot be ordered; "
        "remove one of these dependencies",
        "repo/releases/duplicate-key.yaml:5:1: duplicate key 'name' (first at line 3) ($.name) "
        "remove one of them: YAML would silently keep only the last",
        "repo/releases/missing-chart.yaml:5:12: no chart folder or .tgz at 'charts/missing' "
        "($.chartPath) chartPath is relative to the repository root (where harmonia.yaml is)",
        "repo/releases/unknown-field.yaml:6:1: unknown field 'descripton' ($.descripton) "
        "did you mean 'description'?",
        "repo/releases/web-2.yaml:3:7: release apps/web is also defined in "
        "releases/web-1.yaml:3 ($.name) one file per release: remove one, or change its "
        "name or namespace",
        'repo/releases/wrong-type.yaml:6:13: expected an integer, got string "300" '
        "($.timeoutSec) remove the quotes: 300",
    ]
    assert "6 errors" in completed.stderr


def test_validate_exits_0_and_prints_no_problem_for_a_valid_repository(tmp_path: Path) -> None:
    root = write_repository(tmp_path, {"releases/web.yaml": release("web")})
    code, out, err = run("validate", str(root))
    assert (code, out) == (0, "")
    assert "1 valid releases, 0 errors" in err


def test_validate_writes_json_when_asked(broken_repository: Path) -> None:
    code, out, _ = run("validate", str(broken_repository), "-o", "json")
    report = json.loads(out)
    assert code == 1 and report["valid"] is False
    assert "apps/web" not in report["releases"]
    assert {"apps/web", "apps/wrong-type"} <= set(report["invalidReleases"])
    first = report["diagnostics"][0]
    assert set(first) == {
        "file",
        "line",
        "column",
        "path",
        "message",
        "hint",
        "severity",
        "release",
    }


def test_validate_reports_releases_outside_the_allowed_namespaces(tmp_path: Path) -> None:
    root = write_repository(tmp_path, {"releases/web.yaml": release("web")})
    code, out, _ = run("validate", str(root), "--allowed-namespace", "shop")
    assert code == 1
    assert out.splitlines() == [
        f"{root}/releases/web.yaml:4:12: namespace 'apps' is not allowed (allowed: shop) "
        "($.namespace) use an allowed namespace; the reconciler's --allowed-namespace and "
        "harmonia.yaml's allowedNamespaces decide"
    ]


def test_validate_reads_the_reconciler_config_file(tmp_path: Path) -> None:
    root = write_repository(tmp_path / "repo", {"releases/web.yaml": release("web")})
    config = tmp_path / "reconciler.yaml"
    config.write_text(
        "apiVersion: harmonia.dev/v1alpha1\nkind: ReconcilerConfig\nallowedNamespaces: [app*]\n"
    )
    assert run("validate", str(root), "--config", str(config))[0] == 0


@pytest.mark.parametrize(
    "arguments",
    [
        ["validate", "/nonexistent/repository"],
        ["validate", ".", "-o", "yaml"],
        ["validate", ".", "--allowed-namespace", "Not_A_Namespace"],
        ["graph", ".", "-o", "svg"],
    ],
)
def test_usage_errors_exit_2(arguments: list[str]) -> None:
    assert run(*arguments)[0] == 2


def test_an_invalid_reconciler_config_file_is_a_usage_error_with_its_line(tmp_path: Path) -> None:
    config = tmp_path / "reconciler.yaml"
    config.write_text("apiVersion: harmonia.dev/v1alpha1\nkind: Reconciler\n")
    code, _, err = run("validate", str(tmp_path), "--config", str(config))
    assert code == 2
    assert f'{config}:2:7: must be "ReconcilerConfig"' in err


def test_graph_prints_problems_to_stderr_and_exits_1_on_a_cycle(broken_repository: Path) -> None:
    code, out, err = run("graph", str(broken_repository))
    assert code == 1
    assert "dependency cycle: apps/cycle-a -> apps/cycle-b -> apps/cycle-a" in err
    assert "  apps/cycle-a: on the dependency cycle" in out


def test_the_examples_repository_is_valid() -> None:
    code, out, _ = run("validate", str(EXAMPLES))
    assert (code, out) == (0, "")


def test_the_examples_graph_puts_zookeeper_before_kafka() -> None:
    code, out, _ = run("graph", str(EXAMPLES), "-o", "json")
    levels = json.loads(out)["levels"]
    level_of = {key: number for number, level in enumerate(levels) for key in level}
    assert code == 0
    assert level_of["streaming/zookeeper"] < level_of["streaming/kafka"]


@pytest.mark.parametrize(
    ("output", "start"), [("text", "level 1: "), ("mermaid", "flowchart LR"), ("dot", "digraph")]
)
def test_graph_renders_the_examples_in_every_format(output: str, start: str) -> None:
    code, out, _ = run("graph", str(EXAMPLES), "-o", output)
    assert code == 0 and out.startswith(start)
