"""`harmonia validate` and `harmonia graph`: offline checks of a repository."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reconciler.cli.options import policy_options, repository_argument, shown
from reconciler.desired import check_repository
from reconciler.graph import build_graph, render_dot, render_json, render_mermaid, render_text
from reconciler.policy import Policy
from reconciler.release_requests import Diagnostic, load_repository


@click.command()
@repository_argument
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text")
@policy_options
def validate(
    path: Path,
    output: str,
    policy: Policy,
) -> None:
    """Check the repository at PATH offline and print every problem, one line each.

    Lines read `file:line:col: message (json path) hint`. Exit 0 when valid (warnings
    allowed), 1 when anything is invalid, 2 on a usage error.
    """
    loaded, _graph, _narrowed, diagnostics = check_repository(path, policy=policy)
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
            click.echo(shown(path, item))
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


@click.command("graph")
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
        click.echo(shown(path, item), err=True)
    click.echo(_GRAPH_RENDERERS[output](graph))
    raise click.exceptions.Exit(1 if errors else 0)


COMMANDS = (validate, graph_command)
