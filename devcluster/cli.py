"""`harmonia dev-cluster`: the command-line face of the dev cluster."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from devcluster.axe_core import ensure_axe_core
from devcluster.build import BuildError, cached_binaries, ensure_binaries, ensure_gitea
from devcluster.cluster import ClusterError, DevCluster, kubeconfig_path
from devcluster.state import Ports, default_state_dir


def _progress(line: str) -> None:
    click.echo(line, err=True)


state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_state_dir,
    show_default="$HARMONIA_DEVCLUSTER_DIR or ~/.local/state/harmonia/devcluster",
    help="Folder holding the cluster's certificates, data, logs and pids.",
)


@click.group("dev-cluster")
def dev_cluster() -> None:
    """Run a local Kubernetes control plane (etcd, kube-apiserver, controller-manager,
    scheduler, KWOK) for the demo and the tests."""


@dev_cluster.command()
@click.option(
    "--with-gitea",
    is_flag=True,
    help="Also the Gitea the forge tests run (tests/forge/; minutes the first time).",
)
@click.option(
    "--with-axe-core",
    is_flag=True,
    help="Also axe-core from npm, the accessibility checker of the web UI's browser tests.",
)
def build(with_gitea: bool, with_axe_core: bool) -> None:
    """Build (or find cached) every dev-cluster binary and print their paths."""
    try:
        binaries = ensure_binaries(_progress)
        if with_gitea:
            binaries["gitea"] = ensure_gitea(_progress)
        if with_axe_core:
            binaries["axe-core"] = ensure_axe_core(_progress)
    except BuildError as error:
        raise click.ClickException(str(error)) from error
    for name, path in binaries.items():
        click.echo(f"{name}\t{path}")


@dev_cluster.command()
@state_dir_option
@click.option("--random-ports", is_flag=True, help="Listen on free ports instead of the defaults.")
def up(state_dir: Path, random_ports: bool) -> None:
    """Start the dev cluster (building it first if needed); idempotent: of a recorded
    cluster, only the components that died are started again (same ports, data kept)."""
    started = time.monotonic()
    try:
        binaries = ensure_binaries(_progress)
        info = DevCluster(state_dir, progress=_progress).up(
            binaries, ports=Ports.free() if random_ports else None
        )
    except (BuildError, ClusterError) as error:
        raise click.ClickException(str(error)) from error
    _progress(f"dev cluster ready in {time.monotonic() - started:.1f}s")
    click.echo(f"API server: {info.server}")
    click.echo("Use it with:")
    click.echo(f"  export KUBECONFIG={info.kubeconfig}")
    folders = [binaries[name].parent for name in ("kubectl", "helm", "harmonia-renderer")]
    click.echo(f"  export PATH={':'.join(map(str, folders))}:$PATH")
    click.echo("  kubectl get nodes")


@dev_cluster.command()
@state_dir_option
def down(state_dir: Path) -> None:
    """Stop the processes `up` started and remove the state folder; idempotent."""
    stopped = DevCluster(state_dir).down()
    click.echo(f"stopped {', '.join(stopped)}" if stopped else "no dev cluster was running")


@dev_cluster.command()
@state_dir_option
def status(state_dir: Path) -> None:
    """Show each component's process state; exit 3 when the cluster is not fully up."""
    cluster = DevCluster(state_dir)
    statuses = cluster.component_status()
    if not statuses:
        click.echo(f"no dev cluster in {state_dir}")
        sys.exit(3)
    for name, running in statuses.items():
        click.echo(f"{name:<25} {'running' if running else 'stopped'}")
    info = cluster.info()
    click.echo(f"API server: {info.server}")
    click.echo(f"kubeconfig: {info.kubeconfig}")
    binaries = cached_binaries()
    if binaries is not None:
        click.echo(f"binaries:   {binaries['kubectl'].parent.parent}")
    if not cluster.is_up():
        sys.exit(3)


@dev_cluster.command()
@state_dir_option
def kubeconfig(state_dir: Path) -> None:
    """Print the path of the cluster's admin kubeconfig."""
    path = kubeconfig_path(state_dir)
    if not path.is_file():
        raise click.ClickException(f"no dev cluster in {state_dir}; run `harmonia dev-cluster up`")
    click.echo(str(path))
