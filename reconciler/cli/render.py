"""`harmonia render` and `harmonia plan`: the desired state, without touching the cluster.

Both read the cluster only for its Kubernetes and API versions (the Contracts),
falling back to `harmonia.yaml` when none is reachable; `--offline` skips the
attempt. Secret values are masked unless `--show-secrets` is given.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from reconciler.cli.options import (
    RenderInputs,
    cluster_options,
    environment_option,
    policy_options,
    render_options,
    repository_argument,
    shown,
)
from reconciler.cli.session import desired_state
from reconciler.desired import DesiredState
from reconciler.kube.connection import KubeTarget
from reconciler.policy import Policy
from reconciler.render.secrets.masking import mask_secrets
from reconciler.review.estimate import TABLE_HEADER, estimate
from reconciler.types import ReleaseKey
from reconciler.yamltext import dump_yaml_documents


@click.command()
@repository_argument
@click.option(
    "--release",
    "-r",
    "release",
    required=True,
    metavar="NAMESPACE/NAME",
    help="The release to render.",
)
@click.option("-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml")
@click.option("--show-secrets", is_flag=True, help="Print Secret values instead of ***.")
@environment_option
@render_options
@cluster_options
@policy_options
def render(
    path: Path,
    release: str,
    output: str,
    show_secrets: bool,
    environment: str | None,
    policy: Policy,
    target: KubeTarget,
    inputs: RenderInputs,
) -> None:
    """Print the objects release NAMESPACE/NAME renders to, as `helm template` would.

    Exit 1 when the release is invalid, fails to render, or is blocked by a dependency.
    """
    key = ReleaseKey(release)
    state = desired_state(
        path,
        policy=policy,
        target=target,
        inputs=inputs,
        environment=environment,
        only=frozenset({key}),
    )
    for item in state.diagnostics:
        if item.is_error and item.release == key:
            click.echo(shown(path, item), err=True)
    if key not in state.loaded.releases:
        known = key in state.loaded.invalid_releases
        missing = f"not in environment {environment}" if environment else "not in the repository"
        click.echo(f"release {key}: " + ("its file is invalid" if known else missing), err=True)
        raise click.exceptions.Exit(1)
    if key in state.render.failed:
        click.echo(state.render.failed[key].message, err=True)
        raise click.exceptions.Exit(1)
    if key in state.render.blocked:
        click.echo(f"release {key} is blocked: {state.render.blocked[key]}", err=True)
        raise click.exceptions.Exit(1)
    rendered = state.render.rendered[key]
    objects = list(rendered.objects if show_secrets else mask_secrets(rendered.objects))
    if output == "json":
        click.echo(json.dumps(objects, indent=2))
    else:
        click.echo(dump_yaml_documents(objects), nl=False)


@click.command()
@repository_argument
@click.option(
    "--resources",
    is_flag=True,
    required=True,
    help="Print WALM's dry-run resource estimate (the only plan so far).",
)
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table")
@environment_option
@render_options
@cluster_options
@policy_options
def plan(
    path: Path,
    resources: bool,
    output: str,
    environment: str | None,
    policy: Policy,
    target: KubeTarget,
    inputs: RenderInputs,
) -> None:
    """Estimate what the repository's releases will request: per workload the replicas,
    CPU (cores) and memory (MiB) per pod, storage per claim (GiB); per release and in total.

    Exit 1 when a release is invalid or fails to render (the others are still estimated).
    """
    state = desired_state(
        path, policy=policy, target=target, inputs=inputs, environment=environment
    )
    failed = print_problems(path, state)
    result = estimate({key: r.objects for key, r in sorted(state.render.rendered.items())})
    if output == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        table = Table(*TABLE_HEADER, box=None, pad_edge=False)
        for row in result.table_rows():
            table.add_row(*row)
        Console(width=200).print(table)
    raise click.exceptions.Exit(1 if failed else 0)


def print_problems(path: Path, state: DesiredState) -> bool:
    """Every invalid file (its file and line), failed render and blocked release, one line
    each on stderr; whether there was any (exit 1)."""
    for item in state.diagnostics:
        if item.is_error:
            click.echo(shown(path, item), err=True)
    for _key, problem in sorted(state.render.failed.items()):
        click.echo(problem.message, err=True)
    for key, reason in sorted(state.render.blocked.items()):
        click.echo(f"release {key} is blocked: {reason}", err=True)
    return bool(state.has_errors or state.render.failed or state.render.blocked)


COMMANDS = (render, plan)
