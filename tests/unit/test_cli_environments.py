"""`--environment` on the offline commands: `validate` checks every environment by default,
the others need one when harmonia.yaml declares some, and an unknown name is a usage error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from tests.unit.samples import REPOSITORY, release, write_repository

TWO_ENVIRONMENTS = Path(__file__).resolve().parents[2] / "examples" / "two-environments"
CONFIG = REPOSITORY + "environments:\n  staging: {}\n  prod: {allowedNamespaces: [apps]}\n"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture()
def broken_in_prod(tmp_path: Path) -> Path:
    """apps/web valid in staging, its prod overlay breaks it."""
    return write_repository(
        tmp_path,
        {
            "releases/web.yaml": release("web"),
            "environments/prod/apps/web.yaml": "paused: true\ntimeoutSec: soon\n",
        },
        config=CONFIG,
    )


def test_the_environments_example_is_valid_in_both_environments() -> None:
    code, out, err = run("validate", str(TWO_ENVIRONMENTS))
    assert (code, out) == (0, "")
    assert "2 valid releases in dev, 1 valid releases in prod, 0 errors" in err


def test_validate_checks_every_environment_and_says_which_one_failed(
    broken_in_prod: Path,
) -> None:
    code, out, err = run("validate", str(broken_in_prod))
    assert code == 1
    assert out.splitlines() == [
        f"{broken_in_prod}/environments/prod/apps/web.yaml:2:13: environment prod: expected an "
        'integer, got string "soon" ($.timeoutSec) how long to wait for the release to become '
        "ready, in seconds (1 to 86400)"
    ]
    assert "1 valid releases in staging, 0 valid releases in prod, 1 errors" in err


def test_validate_checks_one_environment_when_asked(broken_in_prod: Path) -> None:
    assert run("validate", str(broken_in_prod), "--environment", "staging")[:2] == (0, "")
    code, out, _ = run(
        "validate", str(broken_in_prod), "-o", "json", env={"HARMONIA_ENVIRONMENT": "prod"}
    )
    report = json.loads(out)
    assert (code, report["valid"], report["invalidReleases"]) == (1, False, ["apps/web"])


def test_validate_reports_every_environment_in_json(broken_in_prod: Path) -> None:
    code, out, _ = run("validate", str(broken_in_prod), "-o", "json")
    environments = json.loads(out)["environments"]
    assert code == 1
    assert environments == {
        "staging": {"releases": ["apps/web"], "invalidReleases": []},
        "prod": {"releases": [], "invalidReleases": ["apps/web"]},
    }


def test_graph_needs_an_environment_when_harmonia_yaml_declares_some() -> None:
    code, _, err = run("graph", str(TWO_ENVIRONMENTS))
    assert code == 2
    assert "harmonia.yaml declares environments dev, prod: pass --environment" in err


def test_graph_shows_the_chosen_environments_releases() -> None:
    assert run("graph", str(TWO_ENVIRONMENTS), "--environment", "prod")[:2] == (
        0,
        "level 1: shop/greeter\n",
    )
    code, out, _ = run("graph", str(TWO_ENVIRONMENTS), env={"HARMONIA_ENVIRONMENT": "dev"})
    assert (code, out) == (0, "level 1: shop/debug-tools, shop/greeter\n")


@pytest.mark.parametrize("command", ["validate", "graph", "render", "plan"])
def test_an_unknown_environment_is_a_usage_error_naming_the_declared_ones(command: str) -> None:
    extra = {"render": ["-r", "shop/greeter", "--offline"], "plan": ["--resources", "--offline"]}
    code, _, err = run(
        command, str(TWO_ENVIRONMENTS), "--environment", "qa", *extra.get(command, [])
    )
    assert code == 2
    assert "environment 'qa': harmonia.yaml declares dev, prod" in err


@pytest.mark.parametrize("command", ["render", "plan"])
def test_rendering_commands_need_an_environment_when_some_are_declared(command: str) -> None:
    extra = {"render": ["-r", "shop/greeter"], "plan": ["--resources"]}[command]
    code, _, err = run(command, str(TWO_ENVIRONMENTS), "--offline", *extra)
    assert code == 2
    assert "pass --environment" in err


def test_ui_takes_an_environment_of_a_repository_only() -> None:
    code, _, err = run("ui", "--environment", "prod")
    assert code == 2
    assert "--environment is an environment of the repository at PATH" in err


def test_render_says_a_release_absent_in_the_environment_is_not_in_it() -> None:
    code, _, err = run(
        "render",
        str(TWO_ENVIRONMENTS),
        "-r",
        "shop/debug-tools",
        "--offline",
        "--environment",
        "prod",
    )
    assert code == 1
    assert "release shop/debug-tools: not in environment prod" in err
