"""The `harmonia` command: a thin shell over the library.

Subcommands and flags follow kubectl and helm habits. Exit codes are the
Contracts': 0 success, 1 validation failed / differences / a release failed,
2 usage error, 3 a needed service (Git remote, cluster) cannot be reached.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any, TypeVar

import click

from reconciler import __version__
from reconciler.graph import build_graph, render_dot, render_json, render_mermaid, render_text
from reconciler.policy import (
    Policy,
    PolicyConfigError,
    effective_policy,
    load_policy,
    namespace_problems,
)
from reconciler.spec import Diagnostic, load_repository

_Command = TypeVar("_Command", bound=Callable[..., Any])

repository_argument = click.argument(
    "path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path)
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="harmonia")
def cli() -> None:
    """Harmonia keeps Kubernetes application releases in step with a Git repository."""


@cli.command()
def version() -> None:
    """Print Harmonia's version."""
    click.echo(f"harmonia {__version__}")


def policy_options(command: _Command) -> _Command:
    """The reconciler's own policy (what releases may touch), for every command that needs it."""
    options = [
        click.option(
            "--config",
            "config_file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="The reconciler's config file (kind: ReconcilerConfig).",
        ),
        click.option(
            "--allowed-namespace",
            "allowed_namespaces",
            multiple=True,
            metavar="NS",
            help="A namespace (or pattern such as team-*) releases may target; repeatable.",
        ),
        click.option(
            "--allow-cluster-scoped",
            is_flag=True,
            help="Let releases create cluster-scoped objects.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _reconciler_policy(
    config_file: Path | None, allowed_namespaces: tuple[str, ...], allow_cluster_scoped: bool
) -> Policy:
    try:
        return load_policy(
            config_file,
            allowed_namespaces=allowed_namespaces,
            allow_cluster_scoped=True if allow_cluster_scoped else None,
        )
    except PolicyConfigError as error:
        for diagnostic in error.diagnostics:
            click.echo(diagnostic.render(), err=True)
        raise click.exceptions.Exit(2) from None


def _shown(root: Path, diagnostic: Diagnostic) -> str:
    """A repository problem as one line, its file named as seen from the working folder."""
    return diagnostic.render(file=str(PurePath(root) / diagnostic.file))


@cli.command()
@repository_argument
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text")
@policy_options
def validate(
    path: Path,
    output: str,
    config_file: Path | None,
    allowed_namespaces: tuple[str, ...],
    allow_cluster_scoped: bool,
) -> None:
    """Check the repository at PATH offline and print every problem, one line each.

    Lines read `file:line:col: message (json path) hint`. Exit 0 when valid (warnings
    allowed), 1 when anything is invalid, 2 on a usage error.
    """
    policy = _reconciler_policy(config_file, allowed_namespaces, allow_cluster_scoped)
    loaded = load_repository(path)
    narrowed, policy_problems = effective_policy(policy, loaded.config)
    graph = build_graph(loaded.releases, invalid=loaded.invalid_releases)
    found = [*loaded.diagnostics, *policy_problems, *graph.diagnostics]
    found.extend(namespace_problems(narrowed, loaded.releases))
    diagnostics = sorted(found, key=Diagnostic.sort_key)
    errors = sum(item.is_error for item in diagnostics)
    if output == "json":
        report = {
            "valid": not errors,
            "releases": list(loaded.releases),
            "invalidReleases": sorted(loaded.invalid_releases),
            "diagnostics": [item.to_json() for item in diagnostics],
        }
        click.echo(json.dumps(report, indent=2))
    else:
        for item in diagnostics:
            click.echo(_shown(path, item))
        warnings = len(diagnostics) - errors
        click.echo(
            f"{path}: {len(loaded.releases)} valid releases, {errors} errors, {warnings} warnings",
            err=True,
        )
    raise click.exceptions.Exit(1 if errors else 0)


_GRAPH_RENDERERS = {
    "text": render_text,
    "mermaid": render_mermaid,
    "dot": render_dot,
    "json": render_json,
}


@cli.command("graph")
@repository_argument
@click.option("-o", "--output", type=click.Choice(list(_GRAPH_RENDERERS)), default="text")
def graph_command(path: Path, output: str) -> None:
    """Print the release order of the repository at PATH, dependencies first.

    Each level's releases can run in parallel. Problems go to stderr; exit 1 when a file
    is invalid or a dependency cycle blocks releases.
    """
    loaded = load_repository(path)
    graph = build_graph(loaded.releases, invalid=loaded.invalid_releases)
    errors = [item for item in (*loaded.diagnostics, *graph.diagnostics) if item.is_error]
    for item in sorted(errors, key=Diagnostic.sort_key):
        click.echo(_shown(path, item), err=True)
    click.echo(_GRAPH_RENDERERS[output](graph))
    raise click.exceptions.Exit(1 if errors else 0)


def _add_dev_cluster() -> None:
    """The dev cluster is a development tool, absent from the container image."""
    try:
        from devcluster.cli import dev_cluster
    except ImportError:
        return
    cli.add_command(dev_cluster)


_add_dev_cluster()


def main() -> None:
    cli()
