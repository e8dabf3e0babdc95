"""The `notifications:` section of the reconciler configuration, as plain values.

Pure: the schema has checked the shapes; this reads them into frozen settings and checks
what a schema cannot (one name per receiver). Secret files are named here and read when
the receivers are built (`alerts.load_receivers`), never kept in these values.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.notify.kinds import AlertKind
from reconciler.types import ReleaseKey, split_release_key

RECEIVER_TYPES = ("webhook", "slack", "msteams")


class NotificationConfigError(ValueError):
    """The notifications section cannot be used; the message names the receiver and the
    setting, never a file's content."""


@dataclass(frozen=True)
class RateLimit:
    """A token bucket per receiver: `per_second` requests on average, `burst` at once."""

    per_second: float = 1.0
    burst: int = 10


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts a receiver wants; empty namespaces or labels mean all."""

    namespaces: tuple[str, ...] = ()
    """Namespace names or patterns (`*` any characters, `?` one)."""
    release_labels: tuple[tuple[str, str], ...] = ()
    """Labels the release must carry, each with this value."""
    kinds: frozenset[AlertKind] = frozenset(AlertKind)

    def matches(self, kind: AlertKind, release: ReleaseKey, labels: Mapping[str, str]) -> bool:
        namespace, _name = split_release_key(release)
        return (
            kind in self.kinds
            and (
                not self.namespaces
                or any(fnmatch.fnmatchcase(namespace, pattern) for pattern in self.namespaces)
            )
            and all(labels.get(key) == value for key, value in self.release_labels)
        )


@dataclass(frozen=True)
class ReceiverSpec:
    name: str
    type: str
    """One of `RECEIVER_TYPES`."""
    url: str | None = None
    """A generic webhook's URL given inline (it names no secret)."""
    url_file: Path | None = None
    """A file (a mounted Secret) holding the URL: Slack's and Teams' URLs are secrets."""
    secret_file: Path | None = None
    """A webhook's HMAC-SHA256 key, in a file (a mounted Secret)."""
    filter: AlertFilter = field(default_factory=AlertFilter)


@dataclass(frozen=True)
class NotificationSettings:
    receivers: tuple[ReceiverSpec, ...] = ()
    rate_limit: RateLimit = field(default_factory=RateLimit)


def notification_settings(section: Mapping[str, Any]) -> NotificationSettings:
    """The `notifications:` section (already valid against the schema) as settings."""
    receivers = tuple(_receiver(entry) for entry in section.get("receivers") or ())
    names = [receiver.name for receiver in receivers]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise NotificationConfigError(
            f"notifications.receivers: the name {twice[0]!r} is given to more than one receiver"
        )
    limit: Any = section.get("rateLimit") or {}
    rate_limit = RateLimit(
        per_second=float(limit.get("perSecond", RateLimit.per_second)),
        burst=int(limit.get("burst", RateLimit.burst)),
    )
    return NotificationSettings(receivers, rate_limit)


def _receiver(entry: Mapping[str, Any]) -> ReceiverSpec:
    name, kind = str(entry["name"]), str(entry["type"])
    url, url_file = entry.get("url"), entry.get("urlFile")
    if (url is None) == (url_file is None) or (url is not None and kind != "webhook"):
        needs = "url or urlFile" if kind == "webhook" else "urlFile"
        raise NotificationConfigError(
            f"notifications receiver {name}: give exactly one of {needs} "
            "(a chat webhook's URL is a secret: it is read from a mounted file)"
        )
    if entry.get("secretFile") is not None and kind != "webhook":
        raise NotificationConfigError(
            f"notifications receiver {name}: secretFile signs generic webhooks only"
        )
    labels: Mapping[str, Any] = entry.get("releaseLabels") or {}
    kinds = entry.get("kinds")
    return ReceiverSpec(
        name=name,
        type=kind,
        url=str(url) if url is not None else None,
        url_file=Path(url_file) if url_file is not None else None,
        secret_file=Path(entry["secretFile"]) if entry.get("secretFile") else None,
        filter=AlertFilter(
            namespaces=tuple(str(pattern) for pattern in entry.get("namespaces") or ()),
            release_labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
            kinds=frozenset(AlertKind(k) for k in kinds) if kinds else frozenset(AlertKind),
        ),
    )
