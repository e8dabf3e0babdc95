"""`harmonia status`: the releases in the cluster, their state and why (WALM's release detail)."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from reconciler.cli.cluster import connect_or_exit
from reconciler.cli.options import cluster_options, environment_option
from reconciler.kube.connection import KubeTarget
from reconciler.release_requests import of_environment
from reconciler.status.live import read_statuses
from reconciler.types import ReleaseKey
from reconciler.yamltext import dump_yaml


@click.command()
@click.option("--namespace", "-n", help="Only releases in this namespace (default: all).")
@click.option("--release", "-r", metavar="NAMESPACE/NAME", help="One release, in detail.")
@click.option("-o", "--output", type=click.Choice(["table", "yaml", "json"]), default="table")
@environment_option
@cluster_options
def status(
    namespace: str | None,
    release: str | None,
    output: str,
    environment: str | None,
    target: KubeTarget,
) -> None:
    """Show every release Harmonia applied: Ready or not, and if not, the first resource
    that is not ready and why. `-o yaml|json` adds every resource with its pods, the
    dependencies' outputs used, and the outputs published. With --environment, only the
    releases an environment's passes recorded (their source ends in #ENVIRONMENT).

    Exit 1 when a release shown is not Ready (or Paused), 3 when the cluster cannot be reached.
    """
    with connect_or_exit(target) as client:
        statuses, problems = read_statuses(
            client, namespace=namespace, release=ReleaseKey(release) if release else None
        )
    if environment is not None:
        statuses = [s for s in statuses if of_environment(s.record.source, environment)]
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    if release and not statuses:
        click.echo(f"release {release}: no inventory record in the cluster", err=True)
        raise click.exceptions.Exit(1)
    documents = [s.to_json() for s in statuses]
    if output == "json":
        click.echo(json.dumps(documents if not release else documents[0], indent=2))
    elif output == "yaml":
        click.echo(dump_yaml(documents if not release else documents[0]), nl=False)
    else:
        # The shard replica that last applied each release, when replicas share them.
        sharded = any(entry.record.applied_by for entry in statuses)
        columns = ["NAMESPACE", "NAME", "STATE", "REVISION", "APPLIED", "MESSAGE"]
        table = Table(*columns, *(["APPLIED BY"] if sharded else []), box=None, pad_edge=False)
        for entry in statuses:
            namespace_name, _, name = entry.key.partition("/")
            table.add_row(
                namespace_name,
                name,
                str(entry.health.state),
                entry.record.revision[:12],
                entry.record.time,
                entry.health.message,
                *([entry.record.applied_by or "-"] if sharded else []),
            )
        Console(width=240).print(table)
    settled = all(s.health.state.value in ("Ready", "Paused") for s in statuses)
    raise click.exceptions.Exit(0 if settled else 1)


COMMANDS = (status,)
