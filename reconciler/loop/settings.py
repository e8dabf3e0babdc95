"""How `harmonia run` is configured: built-in defaults < the config file < environment and flags.

Pure: the CLI reads the file and the flags and hands both here; the loop gets one
frozen `RunSettings`. The file is the same ReconcilerConfig that holds the policy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from reconciler.notify.config import (
    NotificationConfigError,
    NotificationSettings,
    notification_settings,
)
from reconciler.notify.forge import ForgeKind, ForgeSettings
from reconciler.source import Credentials
from reconciler.types import JsonObject

DEFAULT_LISTEN = "127.0.0.1:8080"
"""Loopback: the API is unauthenticated unless a token file is given, so reaching it from
elsewhere is a choice the installation makes (deploy/ listens on 0.0.0.0:8080 for the
probes and Prometheus)."""
API_SCOPES = ("source", "all")
"""Which releases the JSON API shows: those recorded under this reconciler's source (and
those in its repository), or every release recorded in the cluster."""
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class SettingsError(ValueError):
    """A setting has a value the loop cannot use; the message names the setting."""


def parse_duration(text: str, *, setting: str) -> timedelta:
    """`1m30s`, `45s`, `2h`, `500ms` (Go's duration syntax, without signs or µs)."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise SettingsError(f"{setting}: {text!r} is not a duration such as 30s, 5m or 1h30m")
    return timedelta(seconds=sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts))


SAFETY_NET_INTERVAL = timedelta(minutes=10)
"""The default interval when push webhooks bring the commits (else it is 1m)."""


@dataclass(frozen=True)
class RunSettings:
    url: str
    ref: str = "HEAD"
    subfolder: str = ""
    environment: str | None = None
    """The environment of the repository's harmonia.yaml this reconciler applies."""
    credentials: Credentials = field(default_factory=Credentials)
    git_timeout: timedelta = timedelta(minutes=5)
    """Longest one Git command may take: a remote that stalls is a failed fetch,
    retried with backoff, not a pass that never ends."""
    interval: timedelta = timedelta(minutes=1)
    jitter: float = 0.1
    """Each pass starts up to `jitter * interval` late, so replicas of many
    reconcilers do not hit the Git server in step."""
    prune: bool = True
    parallelism: int = 16
    source_id: str | None = None
    listen: str | None = DEFAULT_LISTEN
    """host:port of the metrics, probes and API; None when switched off."""
    listen_token_file: Path | None = None
    """The file (a mounted Secret) of the bearer token the UI and API then want
    (`http_token.py`); None: no token (an authenticating proxy in front, or loopback)."""
    api_scope: str = "source"
    """One of `API_SCOPES`."""
    leader_election: bool = True
    lease_namespace: str = "default"
    lease_name: str = "harmonia-leader"
    lease_duration: timedelta = timedelta(seconds=15)
    identity: str | None = None
    """This replica's identity in its Lease; None: the host's name and a random tag. A
    stable one (a StatefulSet's pod name) gives a restarted shard its releases back."""
    sharding: bool = False
    """Replicas share the releases out (shard_set.py), each holding a Lease of its own in
    the set named `lease_name`, instead of one leader applying everything."""
    write_status: bool = True
    status_interval: timedelta = timedelta(seconds=10)
    """Least time between two status commits caused by watched changes (a full pass
    commits at once): a rollout's events make one commit, not hundreds."""
    watch: bool = True
    """Keep the live state current with watches and react between passes: drift put
    back, readiness reported, sync requests served (off: a pass every interval only)."""
    status_author_name: str = "Harmonia"
    status_author_email: str = "harmonia@harmonia.dev"
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(minutes=15)
    log_format: str = "text"
    log_level: str = "info"
    webhook_secret_file: Path | None = None
    """The file (a mounted Secret) holding the push webhooks' secret; None: no webhooks."""
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    """The alert receivers (docs/notifications.md); none by default."""
    forge: ForgeSettings | None = None
    """Where commit statuses go; None: nowhere."""


def _path(value: object) -> Path | None:
    return Path(str(value)) if value else None


def _from_file(document: JsonObject) -> dict[str, Any]:
    """The file's keys as RunSettings fields (the schema has checked their types)."""
    found: dict[str, Any] = {}
    repository: Any = document.get("repository") or {}
    for key, name in (
        ("url", "url"),
        ("ref", "ref"),
        ("path", "subfolder"),
        ("environment", "environment"),
    ):
        if key in repository:
            found[name] = repository[key]
    credentials = Credentials(
        username=repository.get("username"),
        token_file=_path(repository.get("tokenFile")),
        ssh_key_file=_path(repository.get("sshKeyFile")),
        known_hosts_file=_path(repository.get("knownHostsFile")),
    )
    if credentials != Credentials():
        found["credentials"] = credentials
    for key, name in (
        ("jitter", "jitter"),
        ("prune", "prune"),
        ("parallelism", "parallelism"),
        ("sourceId", "source_id"),
        ("listen", "listen"),
        ("apiScope", "api_scope"),
        ("watch", "watch"),
    ):
        if key in document:
            found[name] = document[key]
    if "listenTokenFile" in document:
        found["listen_token_file"] = _path(document["listenTokenFile"])
    if "interval" in document:
        found["interval"] = parse_duration(str(document["interval"]), setting="interval")
    election: Any = document.get("leaderElection") or {}
    for key, name in (("enabled", "leader_election"), ("namespace", "lease_namespace")):
        if key in election:
            found[name] = election[key]
    if "name" in election:
        found["lease_name"] = election["name"]
    if "leaseDuration" in election:
        found["lease_duration"] = parse_duration(
            str(election["leaseDuration"]), setting="leaderElection.leaseDuration"
        )
    sharding: Any = document.get("sharding") or {}
    if "enabled" in sharding:
        found["sharding"] = sharding["enabled"]
    status: Any = document.get("status") or {}
    for key, name in (
        ("enabled", "write_status"),
        ("authorName", "status_author_name"),
        ("authorEmail", "status_author_email"),
    ):
        if key in status:
            found[name] = status[key]
    if "interval" in status:
        found["status_interval"] = parse_duration(
            str(status["interval"]), setting="status.interval"
        )
    backoff: Any = document.get("backoff") or {}
    for key, name in (("base", "backoff_base"), ("max", "backoff_max")):
        if key in backoff:
            found[name] = parse_duration(str(backoff[key]), setting=f"backoff.{key}")
    webhooks: Any = document.get("webhooks") or {}
    if "secretFile" in webhooks:
        found["webhook_secret_file"] = _path(webhooks["secretFile"])
    notifications: Any = document.get("notifications")
    if notifications:
        try:
            found["notifications"] = notification_settings(notifications)
        except NotificationConfigError as error:
            raise SettingsError(str(error)) from None
    log: Any = document.get("log") or {}
    for key, name in (("format", "log_format"), ("level", "log_level")):
        if key in log:
            found[name] = log[key]
    if forge := document.get("forge"):
        found["forge"] = _forge(forge)
    return found


def _forge(section: Any) -> ForgeSettings:
    """The `forge:` section (commit statuses); the schema has checked its keys."""
    return ForgeSettings(
        ForgeKind(section["type"]),
        Path(section["tokenFile"]),
        api_url=section.get("apiUrl"),
        repository=section.get("repository"),
        link_url=section.get("linkUrl"),
    )


def run_settings(
    document: JsonObject, overrides: Mapping[str, Any], *, pod_namespace: str | None
) -> RunSettings:
    """Defaults < the config file's `document` < `overrides` (flags and environment, None
    meaning not given). The Lease lives in the pod's namespace unless one is named."""
    chosen: dict[str, Any] = {}
    if pod_namespace:
        chosen["lease_namespace"] = pod_namespace
    chosen.update(_from_file(document))
    chosen.update({name: value for name, value in overrides.items() if value is not None})
    if chosen.get("listen") == "off":
        chosen["listen"] = None
    if "interval" not in chosen and chosen.get("webhook_secret_file") is not None:
        # Pushes bring commits at once: the interval's pass is the safety net only.
        chosen["interval"] = SAFETY_NET_INTERVAL
    if not chosen.get("url"):
        raise SettingsError(
            "no repository: give --repo URL, HARMONIA_REPO_URL or repository.url in --config"
        )
    settings = RunSettings(**chosen)
    if settings.interval <= timedelta(0):
        raise SettingsError("interval must be longer than zero")
    if settings.git_timeout <= timedelta(0):
        raise SettingsError("git timeout must be longer than zero")
    if not 0 <= settings.jitter <= 1:
        raise SettingsError("jitter must be between 0 and 1")
    if settings.api_scope not in API_SCOPES:
        raise SettingsError(
            f"API scope must be {' or '.join(API_SCOPES)}, not {settings.api_scope!r}"
        )
    if settings.log_format not in ("text", "json"):
        raise SettingsError(f"log format must be text or json, not {settings.log_format!r}")
    return settings
