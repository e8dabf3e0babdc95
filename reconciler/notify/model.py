"""The values notifications are made of: a release's state change in, HTTP requests out.

Pure data, no I/O. A sink (an alert receiver, the forge's commit statuses) is a function
from a `StateChange` to the `Delivery` values it wants sent; the dispatcher sends them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.types import ReleaseKey


@dataclass(frozen=True)
class StateChange:
    """What the loop said of a release: the event stream's word and its masked reason."""

    release: ReleaseKey
    state: str
    """A word of the contract's vocabulary (DESIGN.md): Applied, Ready, Progressing,
    Degraded, Failed, Blocked, Invalid, Removed, RemovalWithheld, DriftCorrected, Paused,
    Resumed, SecretWarning."""
    reason: str
    """Already masked: no Secret value (the event bus redacts before anything sees it)."""
    revision: str | None
    time: datetime
    labels: Mapping[str, str] = field(default_factory=dict)
    """The release's releaseLabels, for receivers' filters."""


@dataclass(frozen=True)
class Delivery:
    """One HTTP request to send, built in full before any I/O."""

    receiver: str
    """The configured name of the receiver (metrics label, log subject)."""
    method: str
    url: str = field(repr=False)
    """A chat webhook's URL is a secret, as is the token in `headers`: neither in `repr`."""
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    body: bytes = field(repr=False)
    key: str
    """Identity for deduplication: a delivery whose key was sent already is not sent again."""


Sink = Callable[[StateChange], list[Delivery]]
"""What turns a state change into the requests one receiver wants sent (often none)."""
