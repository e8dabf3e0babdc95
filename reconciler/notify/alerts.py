"""The alert receivers as one sink: a state change in, one request per receiver that
wants the alert out.

`load_receivers` reads the receivers' secret files once, when `harmonia run` starts (a
wrong path is a usage error then, not a silent gap later); the sink itself is pure but
for its `AlertTracker`, fed in order by the dispatcher's one thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from reconciler.notify.config import AlertFilter, NotificationConfigError, ReceiverSpec
from reconciler.notify.kinds import Alert, AlertTracker
from reconciler.notify.model import Delivery, StateChange
from reconciler.notify.payloads import (
    SIGNATURE_HEADER,
    signature,
    slack_body,
    teams_body,
    webhook_body,
)

BODIES: dict[str, Callable[[Alert], bytes]] = {
    "webhook": webhook_body,
    "slack": slack_body,
    "msteams": teams_body,
}
USER_AGENT = "harmonia-notifications"


@dataclass(frozen=True)
class Receiver:
    """A receiver ready to address: its URL and key read from their files."""

    name: str
    type: str
    url: str
    filter: AlertFilter
    key: bytes | None = None
    """The webhook's HMAC key; None: the body is not signed."""

    def __repr__(self) -> str:
        # The URL of a chat webhook and the key are secrets: never in a traceback.
        return f"Receiver({self.name!r}, {self.type!r})"

    def delivery(self, alert: Alert) -> Delivery:
        body = BODIES[self.type](alert)
        headers = [("Content-Type", "application/json"), ("User-Agent", USER_AGENT)]
        if self.key is not None:
            headers.append((SIGNATURE_HEADER, signature(body, self.key)))
        return Delivery(
            receiver=self.name,
            method="POST",
            url=self.url,
            headers=tuple(headers),
            body=body,
            key=f"{self.name}|{alert.identity}",
        )


def _read(path: Path, *, receiver: str, setting: str) -> bytes:
    try:
        content = path.read_bytes().strip()
    except OSError as error:
        raise NotificationConfigError(
            f"notifications receiver {receiver}: {setting} {path} cannot be read "
            f"({error.strerror or type(error).__name__})"
        ) from None
    if not content:
        raise NotificationConfigError(
            f"notifications receiver {receiver}: {setting} {path} is empty"
        )
    return content


def _check_url(url: str, *, receiver: str) -> None:
    """An http(s) URL with a host that urllib can parse and send (else every alert fails,
    or raises ValueError on the sending thread). Said without the URL: it may be a secret."""
    if not url.startswith(("https://", "http://")):  # urllib would open file: ones
        raise NotificationConfigError(
            f"notifications receiver {receiver}: the URL is not an http(s) URL"
        )
    try:
        parts = urlsplit(url)  # drops line breaks and tabs: http.client would refuse them
        parsed = parts.hostname is not None and (parts.port or 0) >= 0
    except ValueError:
        parsed = False
    if not parsed or not url.isprintable() or any(character.isspace() for character in url):
        raise NotificationConfigError(
            f"notifications receiver {receiver}: the URL names no host, does not parse or "
            "holds a space, a line break or a control character"
        )


def load_receivers(specs: Sequence[ReceiverSpec]) -> list[Receiver]:
    """The receivers with their secrets read; `NotificationConfigError` names the receiver
    and the file that cannot be read or is empty."""
    receivers = []
    for spec in specs:
        if spec.url_file is not None:
            url = _read(spec.url_file, receiver=spec.name, setting="urlFile").decode()
        else:
            url = spec.url or ""
        _check_url(url, receiver=spec.name)
        key = (
            _read(spec.secret_file, receiver=spec.name, setting="secretFile")
            if spec.secret_file is not None
            else None
        )
        receivers.append(Receiver(spec.name, spec.type, url, spec.filter, key))
    return receivers


class AlertSink:
    """Every alert receiver as one `Sink`: the alert is derived once (one memory of
    failures for all receivers), then each receiver whose filter takes it gets a request."""

    def __init__(self, receivers: Sequence[Receiver]) -> None:
        self._receivers = tuple(receivers)
        self._tracker = AlertTracker()

    def __call__(self, change: StateChange) -> list[Delivery]:
        alert = self._tracker.observe(change)
        if alert is None:
            return []
        return [
            receiver.delivery(alert)
            for receiver in self._receivers
            if receiver.filter.matches(alert.kind, change.release, change.labels)
        ]
