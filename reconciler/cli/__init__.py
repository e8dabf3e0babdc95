"""The `harmonia` command: a thin shell over the library.

Subcommands and flags follow kubectl and helm habits. Exit codes are the
Contracts': 0 success, 1 validation failed / differences / a release failed,
2 usage error, 3 a needed service (Git remote, cluster) cannot be reached.
A subcommand's module is imported only when that subcommand runs.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import sys
from dataclasses import dataclass

import click

from reconciler import __version__
from reconciler.kube.errors import ClusterUnreachable


@dataclass(frozen=True)
class LazyCommand:
    """Where a subcommand lives, and the summary `harmonia --help` shows without loading it."""

    module: str
    attribute: str
    summary: str
    """The first sentence of the command's help, as click shortens it (a test keeps it so)."""


LAZY_COMMANDS: dict[str, LazyCommand] = {
    "apply": LazyCommand(
        "reconciler.cli.cluster",
        "apply",
        "Run one pass: apply the repository at PATH to the cluster, in dependency order.",
    ),
    "diff": LazyCommand(
        "reconciler.cli.cluster",
        "diff",
        "Show what would change, Secret values masked: in the cluster (`harmonia apply`), "
        "or between two revisions of the repository (a pull request: --base, --head).",
    ),
    "graph": LazyCommand(
        "reconciler.cli.repository",
        "graph_command",
        "Print the release order of the repository at PATH, dependencies first.",
    ),
    "import-walm": LazyCommand(
        "reconciler.cli.walm",
        "import_walm",
        "Convert WALM release request bodies into Harmonia release files.",
    ),
    "plan": LazyCommand(
        "reconciler.cli.render",
        "plan",
        "Estimate what the repository's releases will request: per workload the replicas, "
        "CPU (cores) and memory (MiB) per pod, storage per claim (GiB); per release and in "
        "total.",
    ),
    "render": LazyCommand(
        "reconciler.cli.render",
        "render",
        "Print the objects release NAMESPACE/NAME renders to, as `helm template` would.",
    ),
    "run": LazyCommand(
        "reconciler.cli.run",
        "run",
        "Keep the cluster in step with the repository: a pass every interval.",
    ),
    "status": LazyCommand(
        "reconciler.cli.status",
        "status",
        "Show every release Harmonia applied: Ready or not, and if not, the first resource "
        "that is not ready and why.",
    ),
    "sync": LazyCommand(
        "reconciler.cli.sync",
        "sync",
        "Ask the running reconciler (`harmonia run`) to reconcile releases now.",
    ),
    "ui": LazyCommand(
        "reconciler.cli.ui",
        "ui",
        "Serve the web UI of the cluster's releases (of the repository at PATH, if given), "
        "read-only, until Ctrl-C.",
    ),
    "validate": LazyCommand(
        "reconciler.cli.repository",
        "validate",
        "Check the repository at PATH offline and print every problem, one line each.",
    ),
}
"""Every subcommand but `version` and `dev-cluster`, by name."""

DEV_CLUSTER = "dev-cluster"
DEV_CLUSTER_SUMMARY = (
    "Run a local Kubernetes control plane (etcd, kube-apiserver, controller-manager, "
    "scheduler, KWOK) for the demo and the tests."
)
"""`dev-cluster` stands apart: it exists only where the development tool is installed, and
its import is written out for the import contract that allows just this one."""


class LazyGroup(click.Group):
    """A group that imports a subcommand's module when the subcommand is asked for; its
    `--help` lists every subcommand from `LAZY_COMMANDS` without importing any."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(self.commands) | set(LAZY_COMMANDS)
        if _has_dev_cluster():
            names.add(DEV_CLUSTER)
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            loaded = _load_command(cmd_name)
            if loaded is None:
                return None
            self.add_command(loaded, cmd_name)
        return self.commands[cmd_name]

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.NoSuchCommand as error:
            # Click suggests from the loaded commands only; suggest from every one.
            raise click.NoSuchCommand(
                error.command_name, possibilities=self.list_commands(ctx), ctx=ctx
            ) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        listed = [(name, self._listed(name)) for name in self.list_commands(ctx)]
        limit = formatter.width - 6 - max(len(name) for name, _ in listed)
        with formatter.section("Commands"):
            formatter.write_dl(
                [(name, command.get_short_help_str(limit)) for name, command in listed]
            )

    def _listed(self, name: str) -> click.Command:
        """The command if loaded, else a stand-in carrying its summary."""
        if name in self.commands:
            return self.commands[name]
        summary = DEV_CLUSTER_SUMMARY if name == DEV_CLUSTER else LAZY_COMMANDS[name].summary
        return click.Command(name, help=summary)


def _load_command(name: str) -> click.Command | None:
    if name == DEV_CLUSTER:
        return _dev_cluster()
    lazy = LAZY_COMMANDS.get(name)
    if lazy is None:
        return None
    command = getattr(importlib.import_module(lazy.module), lazy.attribute)
    assert isinstance(command, click.Command)
    return command


def _has_dev_cluster() -> bool:
    """The dev cluster is a development tool, absent from the container image."""
    return importlib.util.find_spec("devcluster") is not None


def _dev_cluster() -> click.Command | None:
    try:
        from devcluster.cli import dev_cluster
    except ImportError:
        return None
    return dev_cluster


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="harmonia")
def cli() -> None:
    """Harmonia keeps Kubernetes application releases in step with a Git repository."""


@cli.command()
def version() -> None:
    """Print Harmonia's version."""
    click.echo(f"harmonia {__version__}")


YOUNG_COLLECTION_THRESHOLD = 10_000
"""Allocations between young garbage collections (Python's default: 700)."""


def main() -> None:
    """Run the command; a cluster lost mid-command still exits 3, as the Contracts say."""
    # A pass decodes millions of small values that hold no cycles (listed and rendered
    # objects). At the default thresholds Python runs a full collection each time the heap
    # grows by a quarter, scanning all of them again: 0.3 s of a 2 s no-op pass over 1000
    # releases. Rarer young collections make full ones rare; cycles are still collected.
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, 10, 10)
    try:
        cli()
    except ClusterUnreachable as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(3)
