"""The `harmonia` command: a thin shell over the library.

Subcommands and flags follow kubectl and helm habits. Exit codes are the
Contracts': 0 success, 1 validation failed / differences / a release failed,
2 usage error, 3 a needed service (Git remote, cluster) cannot be reached.
"""

from __future__ import annotations

import sys

import click

from reconciler import __version__
from reconciler.kube.errors import ClusterUnreachable


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="harmonia")
def cli() -> None:
    """Harmonia keeps Kubernetes application releases in step with a Git repository."""


@cli.command()
def version() -> None:
    """Print Harmonia's version."""
    click.echo(f"harmonia {__version__}")


def _add_commands() -> None:
    from reconciler.cli import cluster, render, repository, run, status, walm

    for module in (repository, render, cluster, status, run, walm):
        for command in module.COMMANDS:
            cli.add_command(command)
    try:
        # The dev cluster is a development tool, absent from the container image.
        from devcluster.cli import dev_cluster
    except ImportError:
        return
    cli.add_command(dev_cluster)


_add_commands()


def main() -> None:
    """Run the command; a cluster lost mid-command still exits 3, as the Contracts say."""
    try:
        cli()
    except ClusterUnreachable as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(3)
