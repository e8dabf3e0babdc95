"""`harmonia` loads only the subcommand it runs, and its `--help` still lists every one."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from types import ModuleType

import click
import pytest

import reconciler.cli
from reconciler.cli import DEV_CLUSTER_SUMMARY, LAZY_COMMANDS, cli

WHOLE_SENTENCE = 10_000
"""A width at which click shortens a help text to its first sentence and no further."""
WIDE = 400
"""Columns for `--help`, enough for every summary whole."""


def command_modules() -> list[ModuleType]:
    """Every module of the CLI package that defines subcommands (a `COMMANDS` tuple)."""
    names = (info.name for info in pkgutil.iter_modules(reconciler.cli.__path__))
    modules = [importlib.import_module(f"reconciler.cli.{name}") for name in names]
    return [module for module in modules if hasattr(module, "COMMANDS")]


def test_the_lazy_table_names_every_subcommand_with_its_module_and_summary() -> None:
    found = {
        command.name: (module.__name__, command)
        for module in command_modules()
        for command in module.COMMANDS
    }
    assert sorted(found) == sorted(LAZY_COMMANDS)
    for name, (module_name, command) in found.items():
        lazy = LAZY_COMMANDS[name]
        assert (lazy.module, getattr(importlib.import_module(lazy.module), lazy.attribute)) == (
            module_name,
            command,
        )
        assert click.Command(name, help=lazy.summary).get_short_help_str(
            WHOLE_SENTENCE
        ) == command.get_short_help_str(WHOLE_SENTENCE)


def test_the_dev_cluster_summary_is_its_commands_own() -> None:
    dev_cluster = pytest.importorskip("devcluster.cli").dev_cluster
    summary = click.Command("dev-cluster", help=DEV_CLUSTER_SUMMARY)
    assert summary.get_short_help_str(WHOLE_SENTENCE) == dev_cluster.get_short_help_str(
        WHOLE_SENTENCE
    )


def test_every_lazy_subcommand_is_found_by_name() -> None:
    context = click.Context(cli)
    for name in LAZY_COMMANDS:
        command = cli.get_command(context, name)
        assert command is not None and command.name == name


def fresh_harmonia(*arguments: str) -> tuple[str, list[str]]:
    """`harmonia ARGUMENTS` in a fresh interpreter, with help as wide as it likes: what
    it printed, and the Harmonia modules it imported."""
    script = (
        "import json, sys\n"
        "from click.testing import CliRunner\n"
        "from reconciler.cli import cli\n"
        f"wide = dict(terminal_width={WIDE}, max_content_width={WIDE})\n"
        f"result = CliRunner().invoke(cli, {list(arguments)!r}, **wide)\n"
        "assert result.exit_code == 0, result.output\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('reconciler'))\n"
        "print(json.dumps([result.output, loaded]))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    output, loaded = json.loads(completed.stdout)
    return output, loaded


@pytest.mark.parametrize("arguments", [("--help",), ("version",)])
def test_help_and_version_import_no_subcommand_module(arguments: tuple[str, ...]) -> None:
    assert fresh_harmonia(*arguments)[1] == [
        "reconciler",
        "reconciler.cli",
        "reconciler.kube",
        "reconciler.kube.errors",
        "reconciler.kube.redact",
        "reconciler.secret_data",
        "reconciler.types",
    ]


def test_a_subcommand_imports_its_own_module_and_not_the_others() -> None:
    loaded = set(fresh_harmonia("graph", "--help")[1])
    assert "reconciler.cli.repository" in loaded
    assert not {"reconciler.cli.cluster", "reconciler.cli.run", "reconciler.cli.walm"} & loaded


def test_help_lists_every_subcommand_with_the_first_sentence_of_its_help() -> None:
    listed = fresh_harmonia("--help")[0]
    commands = listed.split("Commands:\n")[1].splitlines()
    assert [line.split()[0] for line in commands] == sorted(
        [*LAZY_COMMANDS, "dev-cluster", "version"]
    )
    for name, lazy in LAZY_COMMANDS.items():
        assert f"  {name}  " in listed
        assert f" {lazy.summary}\n" in listed
