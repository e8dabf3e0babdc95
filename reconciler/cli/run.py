"""`harmonia run`: the GitOps loop, long-running or (`--once`) one pass for a CronJob.

Settings come from flags, then HARMONIA_* variables, then the --config file, then
defaults (see docs/run.md). Exit codes are the Contracts': 0 success, 1 a release
failed or the repository is invalid, 2 usage, 3 the Git remote or cluster is unreachable.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import click

from reconciler.cli.options import (
    RenderInputs,
    cluster_options,
    environment_option,
    policy_options,
    render_options,
)
from reconciler.cli.session import render_tools
from reconciler.kube.connection import KubeTarget
from reconciler.locations import cache_home
from reconciler.loop.hook_receiver import WebhookSecretError, read_secret
from reconciler.loop.http_token import read_token
from reconciler.loop.leader_label import own_pod
from reconciler.loop.logs import configure_logging
from reconciler.loop.service import Service
from reconciler.loop.settings import (
    API_SCOPES,
    RunSettings,
    SettingsError,
    parse_duration,
    run_settings,
)
from reconciler.notify.alerts import AlertSink, Receiver, load_receivers
from reconciler.notify.config import NotificationConfigError
from reconciler.notify.forge import ForgeConfigError, commit_status_sink, load_forge
from reconciler.notify.model import Sink
from reconciler.policy import Policy
from reconciler.release_requests.yaml_source import read_yaml_file
from reconciler.source import Credentials
from reconciler.types import JsonObject

POD_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def _pod_namespace() -> str | None:
    if os.environ.get("POD_NAMESPACE"):
        return os.environ["POD_NAMESPACE"]
    try:
        return POD_NAMESPACE_FILE.read_text().strip() or None
    except OSError:
        return None


def _config_document(path: Path | None) -> JsonObject:
    """The --config file's keys (already validated when the policy was loaded)."""
    if path is None:
        return {}
    read = read_yaml_file(path, display_name=str(path))
    return read.document.data if read.document is not None else {}


def _credentials(flags: dict[str, Any]) -> Credentials | None:
    """Flags win; else the HARMONIA_GIT_* variables; else (None) the config file's."""
    given = Credentials(
        username=flags["git_username"],
        token_file=flags["git_token_file"],
        ssh_key_file=flags["git_ssh_key_file"],
        known_hosts_file=flags["git_known_hosts_file"],
    )
    if given != Credentials():
        return given
    from_env = Credentials.from_env()
    return from_env if from_env != Credentials() else None


def _duration(value: str | None, setting: str) -> Any:
    return None if value is None else parse_duration(value, setting=setting)


@click.command()
@click.option("--repo", "url", envvar="HARMONIA_REPO_URL", help="The release repository's Git URL.")
@click.option(
    "--ref",
    "--branch",
    "ref",
    envvar="HARMONIA_REPO_REF",
    help="Branch, tag or commit to follow (default: the remote's default branch).",
)
@click.option(
    "--path",
    "subfolder",
    envvar="HARMONIA_REPO_PATH",
    help="Subfolder of the repository that holds harmonia.yaml.",
)
@environment_option
@click.option("--git-username", envvar="HARMONIA_GIT_USERNAME", help="User name for a token.")
@click.option(
    "--git-token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding an https token (or $HARMONIA_GIT_TOKEN / $HARMONIA_GIT_TOKEN_FILE).",
)
@click.option("--git-ssh-key-file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--git-known-hosts-file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--git-timeout",
    envvar="HARMONIA_GIT_TIMEOUT",
    help="Longest a Git command may take before the fetch counts as failed (default 5m).",
)
@click.option("--interval", envvar="HARMONIA_INTERVAL", help="Time between passes (default 1m).")
@click.option("--jitter", type=click.FloatRange(0, 1), help="Share of the interval (default 0.1).")
@click.option("--once", is_flag=True, help="Run one pass and exit (for a CronJob).")
@click.option("--prune/--no-prune", default=None, help="Delete what left Git (default on).")
@click.option("--parallelism", type=click.IntRange(1, 64), help="Releases applied at once (16).")
@click.option("--source-id", help="The identity releases are recorded under.")
@click.option(
    "--listen",
    envvar="HARMONIA_LISTEN",
    help="host:port of /metrics, /healthz, /readyz and /api/v1 (default 127.0.0.1:8080, "
    "loopback only; :8080 or 0.0.0.0:8080 for every interface; off to disable).",
)
@click.option(
    "--listen-token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="HARMONIA_LISTEN_TOKEN_FILE",
    help="File holding a bearer token that the UI and the API then want (Authorization: "
    "Bearer, or the login page's cookie); /healthz, /readyz, /metrics and /hooks stay open. "
    "Read again for every request.",
)
@click.option(
    "--api-scope",
    type=click.Choice(API_SCOPES),
    help="Releases the API shows: this reconciler's (source, the default) or all in the cluster.",
)
@click.option(
    "--leader-elect/--no-leader-elect",
    "leader_election",
    default=None,
    help="Apply only while holding the Lease (default on; off with --once).",
)
@click.option("--lease-namespace", help="The Lease's namespace (default: the pod's, else default).")
@click.option("--lease-name", help="The Lease's name (default harmonia-leader).")
@click.option("--lease-duration", help="How long a lease lasts unrenewed (default 15s).")
@click.option(
    "--identity",
    envvar="HARMONIA_IDENTITY",
    help="This replica's identity in its Lease (default: the host name and a random tag); "
    "must differ between replicas.",
)
@click.option(
    "--shards/--no-shards",
    "sharding",
    default=None,
    help="Share the releases out among the replicas, each holding a Lease of its own in the "
    "set named by --lease-name (default off: one leader applies everything).",
)
@click.option(
    "--status/--no-status",
    "write_status",
    default=None,
    help="Commit status files to the status branch (default on).",
)
@click.option(
    "--status-interval",
    help="Least time between status commits caused by watched changes (default 10s).",
)
@click.option(
    "--watch/--no-watch",
    "watch",
    default=None,
    help="Watch the cluster and react between passes: drift put back, readiness reported, "
    "`harmonia sync` served (default on).",
)
@click.option(
    "--webhook-secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="HARMONIA_WEBHOOK_SECRET_FILE",
    help="File holding the push webhooks' secret (POST /hooks/github|gitlab|gitea|generic); "
    "read again for every delivery. Without it the hook routes answer 404.",
)
@click.option("--status-author-name", help="Author of status commits (default Harmonia).")
@click.option("--status-author-email", help="(default harmonia@harmonia.dev)")
@click.option("--log-format", type=click.Choice(["text", "json"]), envvar="HARMONIA_LOG_FORMAT")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    envvar="HARMONIA_LOG_LEVEL",
)
@render_options
@cluster_options
@policy_options
def run(
    once: bool,
    policy: Policy,
    target: KubeTarget,
    inputs: RenderInputs,
    **flags: Any,
) -> None:
    """Keep the cluster in step with the repository: a pass every interval.

    Each pass fetches the branch, applies what changed in dependency order, puts back
    hand edits (selfHeal), prunes what left Git, and commits status/ to the status
    branch named in harmonia.yaml. Only the replica holding the Lease applies.
    """
    if inputs.offline:
        raise click.UsageError("--offline: harmonia run needs the cluster")
    config_file = click.get_current_context().params.get("config_file")
    try:
        overrides = {
            "url": flags["url"],
            "ref": flags["ref"],
            "subfolder": flags["subfolder"],
            "environment": flags["environment"],
            "credentials": _credentials(flags),
            "git_timeout": _duration(flags["git_timeout"], "--git-timeout"),
            "interval": _duration(flags["interval"], "--interval"),
            "jitter": flags["jitter"],
            "prune": flags["prune"],
            "parallelism": flags["parallelism"],
            "source_id": flags["source_id"],
            "listen": flags["listen"],
            "listen_token_file": flags["listen_token_file"],
            "api_scope": flags["api_scope"],
            "leader_election": False if once and flags["leader_election"] is None else None,
            "lease_namespace": flags["lease_namespace"],
            "lease_name": flags["lease_name"],
            "lease_duration": _duration(flags["lease_duration"], "--lease-duration"),
            "sharding": flags["sharding"],
            "identity": flags["identity"],
            "write_status": flags["write_status"],
            "status_interval": _duration(flags["status_interval"], "--status-interval"),
            "watch": flags["watch"],
            "status_author_name": flags["status_author_name"],
            "status_author_email": flags["status_author_email"],
            "log_format": flags["log_format"],
            "log_level": flags["log_level"],
            "webhook_secret_file": flags["webhook_secret_file"],
        }
        if flags["leader_election"] is not None:
            overrides["leader_election"] = flags["leader_election"]
        settings: RunSettings = run_settings(
            _config_document(config_file), overrides, pod_namespace=_pod_namespace()
        )
        if settings.webhook_secret_file is not None:
            read_secret(settings.webhook_secret_file)  # at start: a wrong path is a usage error
        if settings.listen_token_file is not None:
            read_token(settings.listen_token_file)
        receivers = load_receivers(settings.notifications.receivers)
        sinks = notification_sinks(settings, receivers)
    except (SettingsError, WebhookSecretError, NotificationConfigError, ForgeConfigError) as error:
        raise click.UsageError(str(error)) from None
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    service = Service(
        settings,
        target=target,
        policy=policy,
        tools=render_tools(dataclasses.replace(inputs, decrypt=True)),
        cache_root=cache_home(),
        own_pod=own_pod(os.environ),
        sinks=sinks,
    )
    service.handle_signals()
    raise click.exceptions.Exit(service.run(once=once))


def notification_sinks(settings: RunSettings, receivers: list[Receiver]) -> tuple[Sink, ...]:
    """The alert receivers, then the forge's commit statuses (its token read now: a wrong
    path is a usage error at start, not a failure at the first status)."""
    sinks: list[Sink] = [AlertSink(receivers)] if receivers else []
    if settings.forge is not None:
        forge = load_forge(settings.forge, remote_url=settings.url)
        sinks.append(commit_status_sink(forge, link_url=settings.forge.link_url))
    return tuple(sinks)


COMMANDS = (run,)
