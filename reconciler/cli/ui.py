"""`harmonia ui`: `harmonia run`'s web UI served on a laptop, read-only, against the
kubeconfig's cluster.

Without PATH, the releases recorded in the cluster; with PATH, the repository's releases
loaded and rendered as `harmonia plan` does (never applied), joined with their live
status as `harmonia run`'s catalog joins them. The pages, the JSON API and the event
stream are `harmonia run`'s own (`loop/server.py`); no pass runs, so the stream is fed by
the watches (`loop/readiness_feed.py`). Nothing is written to the cluster or to Git.
Exit codes are the Contracts': 0 when stopped (Ctrl-C), 1 when PATH has invalid files (the
rest is served until then) or holds no repository, 2 usage, 3 the cluster is unreachable.
"""

from __future__ import annotations

import signal
import threading
import webbrowser
from pathlib import Path
from types import FrameType

import click

from reconciler.apply.external_outputs import external_outputs_from
from reconciler.cli.cluster import connect_or_exit
from reconciler.cli.options import (
    RenderInputs,
    cluster_options,
    environment_option,
    policy_options,
    render_options,
)
from reconciler.cli.render import print_problems
from reconciler.cli.session import EXIT_UNREACHABLE, desired_state
from reconciler.kube.client import KubeClient
from reconciler.kube.connection import KubeTarget
from reconciler.kube.errors import KubeError
from reconciler.loop.catalog import ReleaseCatalog
from reconciler.loop.event_bus import EventBus
from reconciler.loop.loopback_hosts import is_loopback
from reconciler.loop.metrics import Metrics
from reconciler.loop.readiness_feed import ReadinessFeed
from reconciler.loop.server import Endpoints, ObservabilityServer, parse_address
from reconciler.policy import Policy
from reconciler.reconcile import PassReport
from reconciler.reconcile.refusals import refused_before_writing
from reconciler.release_requests import environment_source
from reconciler.source.git_source import describe_checkout
from reconciler.status.files import SourceState

DEFAULT_LISTEN = "127.0.0.1:8484"
"""Loopback only: the pages show what the kubeconfig may read to whoever reaches the port."""


@click.command()
@click.argument(
    "path", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--listen",
    default=DEFAULT_LISTEN,
    show_default=True,
    help="host:port to serve on, loopback only by default (:PORT or 0.0.0.0:PORT for every "
    "interface: anyone who reaches it sees what your kubeconfig may read); port 0 picks one.",
)
@click.option(
    "--source-id",
    help="Only the releases recorded under this source (default: with PATH, its origin URL "
    "and subfolder, as `harmonia apply` records them; without PATH, every release).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the web browser.")
@environment_option
@render_options
@cluster_options
@policy_options
def ui(
    path: Path | None,
    listen: str,
    source_id: str | None,
    open_browser: bool,
    environment: str | None,
    policy: Policy,
    target: KubeTarget,
    inputs: RenderInputs,
) -> None:
    """Serve the web UI of the cluster's releases (of the repository at PATH, if given),
    read-only, until Ctrl-C.

    The pages of `harmonia run` (releases, dependency graph) with their JSON API and live
    event stream, fed by watches of the cluster: a release that turns Degraded shows on
    the open page without a reload. Exit 0 when stopped, 1 when PATH has invalid files
    (shown as Invalid, the rest served) or is no repository, 3 when the cluster cannot be
    reached.
    """
    if inputs.offline:
        raise click.UsageError("--offline: harmonia ui shows the cluster")
    if environment is not None and path is None:
        raise click.UsageError("--environment is an environment of the repository at PATH")
    try:
        parse_address(listen)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--listen") from None
    with connect_or_exit(target) as client, connect_or_exit(target) as watch_client:
        checkout = describe_checkout(path).source if path is not None else None
        source = source_id or (
            environment_source(checkout, environment) if checkout is not None else None
        )
        catalog = ReleaseCatalog(client, source=source)
        invalid = path is not None and _load(
            catalog,
            path,
            client,
            policy=policy,
            target=target,
            inputs=inputs,
            environment=environment,
        )
        events = EventBus(redact=catalog.masked)
        feed = ReadinessFeed(watch_client, events, source=source)
        try:
            feed.start()
        except KubeError as error:
            click.echo(f"error: {error}", err=True)
            raise click.exceptions.Exit(EXIT_UNREACHABLE if error.temporary else 1) from None
        catalog.watched = feed.watches
        try:
            _serve(listen, catalog, events, open_browser=open_browser, what=_what(path, source))
        finally:
            feed.stop()
    raise click.exceptions.Exit(1 if invalid else 0)


def _load(
    catalog: ReleaseCatalog,
    path: Path,
    client: KubeClient,
    *,
    policy: Policy,
    target: KubeTarget,
    inputs: RenderInputs,
    environment: str | None,
) -> bool:
    """The repository at PATH rendered into the catalog, with the reports of the releases
    it refuses (invalid, blocked, failed to render) as a pass would start from them; its
    problems on stderr. Whether there were any; exit 1 at once when there is no repository."""
    state = desired_state(
        path,
        policy=policy,
        target=target,
        inputs=inputs,
        environment=environment,
        external_outputs=external_outputs_from(client),
    )
    invalid = print_problems(path, state)
    if state.loaded.config is None:
        click.echo(f"error: {path}: no valid harmonia.yaml; nothing served", err=True)
        raise click.exceptions.Exit(1)
    revision = describe_checkout(path).revision
    report = PassReport(revision, refused_before_writing(state))
    catalog.update(state, report, source=SourceState(revision))
    return invalid


def _what(path: Path | None, source: str | None) -> str:
    if path is not None:
        return f"the releases of {path}"
    return f"the releases recorded under {source}" if source else "every release in the cluster"


def _serve(
    listen: str, catalog: ReleaseCatalog, events: EventBus, *, open_browser: bool, what: str
) -> None:
    """Serve until SIGINT or SIGTERM, saying where."""
    host = parse_address(listen)[0]
    try:
        server = ObservabilityServer(
            listen,
            Endpoints(
                metrics=Metrics(),
                readiness=lambda: (True, "ok"),
                releases=catalog.list_releases,
                release=catalog.release_detail,
                events=events,
            ),
            loopback_hosts=is_loopback(host),
        )
    except OSError as error:
        raise click.BadParameter(f"{listen}: {error}", param_hint="--listen") from None
    stop = threading.Event()

    def on_signal(_number: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with server:
        everywhere = host in ("", "0.0.0.0")
        url = f"http://{'127.0.0.1' if everywhere else host}:{server.port}/"
        scope = "every interface" if everywhere else f"on {host} only"
        click.echo(f"harmonia ui: {what} at {url} ({scope}, read-only; Ctrl-C to stop)")
        if open_browser:
            webbrowser.open(url)
        while not stop.wait(1.0):
            pass


COMMANDS = (ui,)
