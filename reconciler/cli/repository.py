"""`harmonia validate` and `harmonia graph`: offline checks of a repository."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path

import click

from reconciler.cli.options import (
    environment_option,
    environment_usage,
    policy_options,
    repository_argument,
    shown,
)
from reconciler.desired import check_repository
from reconciler.graph import build_graph, render_dot, render_json, render_mermaid, render_text
from reconciler.policy import Policy
from reconciler.release_requests import (
    Diagnostic,
    LoadedRepository,
    load_repository,
    require_environment,
)


@click.command()
@repository_argument
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text")
@environment_option
@policy_options
def validate(
    path: Path,
    output: str,
    environment: str | None,
    policy: Policy,
) -> None:
    """Check the repository at PATH offline and print every problem, one line each.

    Lines read `file:line:col: message (json path) hint`. With environments declared,
    every environment is checked (or the one of --environment). Exit 0 when valid
    (warnings allowed), 1 when anything is invalid, 2 on a usage error.
    """
    with environment_usage():
        loaded, _graph, _narrowed, diagnostics = check_repository(
            path, policy=policy, environment=environment
        )
    checked = {environment: loaded}
    config = loaded.config
    if environment is None and config is not None and config.environments:
        checked, diagnostics = _every_environment(path, policy, config.environments, diagnostics)
    errors = sum(item.is_error for item in diagnostics)
    if output == "json":
        report = {
            "valid": not errors,
            "releases": list(loaded.releases),
            "invalidReleases": sorted(loaded.invalid_releases),
            "diagnostics": [item.to_json() for item in diagnostics],
        }
        if None not in checked:
            report["environments"] = {str(name): _validated(item) for name, item in checked.items()}
        click.echo(json.dumps(report, indent=2))
    else:
        for item in diagnostics:
            click.echo(shown(path, item))
        warnings = len(diagnostics) - errors
        valid = ", ".join(
            f"{len(item.releases)} valid releases" + (f" in {name}" if name else "")
            for name, item in checked.items()
        )
        click.echo(f"{path}: {valid}, {errors} errors, {warnings} warnings", err=True)
    raise click.exceptions.Exit(1 if errors else 0)


def _every_environment(
    path: Path, policy: Policy, names: Iterable[str], base: tuple[Diagnostic, ...]
) -> tuple[dict[str | None, LoadedRepository], tuple[Diagnostic, ...]]:
    """Each environment checked, and their problems once each; one found in some
    environments only (an overlay's, a narrowing's) says which."""
    checked: dict[str | None, LoadedRepository] = {}
    found: set[Diagnostic] = set()
    for name in names:
        checked[name], _graph, _narrowed, problems = check_repository(
            path, policy=policy, environment=name
        )
        prefix = f"environment {name}: "
        found.update(
            item
            if item in base or item.message.startswith(prefix)
            else dataclasses.replace(item, message=prefix + item.message)
            for item in problems
        )
    return checked, tuple(sorted(found, key=Diagnostic.sort_key))


def _validated(loaded: LoadedRepository) -> dict[str, list[str]]:
    return {"releases": list(loaded.releases), "invalidReleases": sorted(loaded.invalid_releases)}


_GRAPH_RENDERERS = {
    "text": render_text,
    "mermaid": render_mermaid,
    "dot": render_dot,
    "json": render_json,
}


@click.command("graph")
@repository_argument
@click.option("-o", "--output", type=click.Choice(list(_GRAPH_RENDERERS)), default="text")
@environment_option
def graph_command(path: Path, output: str, environment: str | None) -> None:
    """Print the release order of the repository at PATH, dependencies first.

    Each level's releases can run in parallel. Problems go to stderr; exit 1 when a file
    is invalid or a dependency cycle blocks releases.
    """
    with environment_usage():
        loaded = load_repository(path, environment=environment)
        require_environment(loaded.config)
    graph = build_graph(loaded.releases, invalid=loaded.invalid_releases)
    errors = [item for item in (*loaded.diagnostics, *graph.diagnostics) if item.is_error]
    for item in sorted(errors, key=Diagnostic.sort_key):
        click.echo(shown(path, item), err=True)
    click.echo(_GRAPH_RENDERERS[output](graph))
    raise click.exceptions.Exit(1 if errors else 0)


COMMANDS = (validate, graph_command)
