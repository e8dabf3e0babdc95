"""`harmonia sync`: ask the running reconciler to reconcile releases now.

Kubernetes RBAC decides who may: the request is a patch of the release's inventory
record (apply/sync_request.py), so `patch` on ConfigMaps in its namespace is the right
to ask. With `--wait`, the command waits for the reconciler's answer on the record and
prints the release's last result.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import click

from reconciler.apply.inventory import (
    INVENTORY_SELECTOR,
    InventoryFormatError,
    inventory_release,
    inventory_stub,
    record_from_configmap,
)
from reconciler.apply.sync_request import handled_at, request_patch, requested_at
from reconciler.cli.cluster import connect_or_exit
from reconciler.cli.options import cluster_options
from reconciler.kube.client import KubeClient
from reconciler.kube.connection import KubeTarget
from reconciler.kube.errors import Forbidden, KubeError
from reconciler.loop.cycle import EXIT_FAILED, EXIT_UNREACHABLE
from reconciler.loop.settings import parse_duration
from reconciler.types import ReleaseKey, split_release_key

POLL_SECONDS = 1.0


def _request(client: KubeClient, key: ReleaseKey) -> str:
    """Set the request on the release's record; the time it says."""
    stub = inventory_stub(key)
    if client.get(stub) is None:
        raise click.ClickException(
            f"release {key}: no inventory record in the cluster (Harmonia never applied it)"
        )
    try:
        patched = client.merge_patch(stub, request_patch(datetime.now(UTC)))
    except Forbidden as error:
        raise click.ClickException(
            f"release {key}: not allowed to request a sync ({error.message}); it takes "
            f"`patch` on configmaps in namespace {split_release_key(key)[0]}"
        ) from None
    requested = requested_at(patched)
    assert requested is not None
    return requested


def _result_when_handled(
    client: KubeClient, key: ReleaseKey, requested: str, deadline: float
) -> str | None:
    """The record's last result once the reconciler has acted on `requested`, or None
    when it did not by `deadline`."""
    while time.monotonic() < deadline:
        record = client.get(inventory_stub(key))
        if record is not None and handled_at(record) == requested:
            try:
                return record_from_configmap(record).result
            except InventoryFormatError as error:
                return f"Failed: {error}"
        time.sleep(POLL_SECONDS)
    return None


def _every_release(client: KubeClient) -> list[ReleaseKey]:
    records = client.list("v1", "ConfigMap", label_selector=INVENTORY_SELECTOR)
    return sorted(key for key in map(inventory_release, records) if key is not None)


@click.command()
@click.argument("releases", nargs=-1, metavar="NAMESPACE/NAME...")
@click.option("--all", "every", is_flag=True, help="Every release recorded in the cluster.")
@click.option("--wait", is_flag=True, help="Wait for the pass and print each release's result.")
@click.option("--timeout", default="2m", show_default=True, help="How long --wait waits.")
@cluster_options
def sync(
    releases: tuple[str, ...], every: bool, wait: bool, timeout: str, target: KubeTarget
) -> None:
    """Ask the running reconciler (`harmonia run`) to reconcile releases now.

    The request is an annotation on each release's inventory record, so Kubernetes RBAC
    decides who may ask. Exit 0 when requested (with --wait: handled and not failed), 1
    when a release failed or may not be asked for, 3 when the cluster cannot be reached
    or no reconciler acted on the request within --timeout.
    """
    if every == bool(releases):
        raise click.UsageError("name releases (NAMESPACE/NAME) or give --all")
    try:
        seconds = parse_duration(timeout, setting="--timeout").total_seconds()
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--timeout") from None
    exit_code = 0
    with connect_or_exit(target) as client:
        try:
            keys = _every_release(client) if every else [ReleaseKey(r) for r in releases]
            requested = {key: _request(client, key) for key in keys}
        except KubeError as error:
            raise click.ClickException(str(error)) from None
        for key, stamp in requested.items():
            click.echo(f"{key}: sync requested at {stamp}", err=True)
        if not wait:
            return
        deadline = time.monotonic() + seconds
        for key, stamp in requested.items():
            result = _result_when_handled(client, key, stamp, deadline)
            if result is None:
                click.echo(
                    f"{key}: no reconciler acted on the request within {timeout}: is "
                    "`harmonia run` running against this cluster?",
                    err=True,
                )
                exit_code = max(exit_code, EXIT_UNREACHABLE)
                continue
            click.echo(f"{key}: {result}")
            if not result.startswith("Applied"):
                exit_code = max(exit_code, EXIT_FAILED)
    raise click.exceptions.Exit(exit_code)


COMMANDS = (sync,)
