"""Leader election through a `coordination.k8s.io/v1` Lease, the way client-go's leaderelection
does it, so that of several replicas of the loop only the one holding the Lease applies.

The decisions (may this replica take the Lease, what to write) are pure functions; the
`LeaderElector` sends them through `KubeClient` and renews from a daemon thread.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.health.model import format_duration
from reconciler.kube.client import KubeClient
from reconciler.kube.errors import KubeError, StaleObject
from reconciler.types import JsonObject

logger = logging.getLogger(__name__)

LEASE_API_VERSION = "coordination.k8s.io/v1"
MICRO_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
"""Kubernetes' MicroTime, as the API server writes it: RFC 3339 with microseconds, in UTC."""


def default_identity() -> str:
    """This host's name and a short random suffix, so two replicas on one host differ."""
    return f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class LeaseSettings:
    """Which Lease, who this replica is, and client-go's timings (15s / 10s / 2s)."""

    namespace: str
    name: str = "harmonia-leader"
    identity: str = field(default_factory=default_identity)
    duration: timedelta = timedelta(seconds=15)
    """How long a holder's claim lasts after its last renewal."""
    renew_deadline: timedelta = timedelta(seconds=10)
    """How long the leader keeps trying to renew before it gives up leading."""
    retry_period: timedelta = timedelta(seconds=2)
    """How often a standby tries to acquire, and the leader renews."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Written on the Lease (a shard's: the set it belongs to, shard_set.py); none for the
    leader's."""

    def __post_init__(self) -> None:
        if not self.identity:
            raise ValueError(f"{self.subject}: the identity must not be empty")
        if not self.duration > self.renew_deadline > self.retry_period > timedelta(0):
            raise ValueError(
                f"{self.subject}: need duration > renew_deadline > retry_period > 0, got "
                f"{format_duration(self.duration)} / {format_duration(self.renew_deadline)} / "
                f"{format_duration(self.retry_period)}"
            )

    @property
    def subject(self) -> str:
        return f"Lease/{self.namespace}/{self.name}"

    @property
    def duration_seconds(self) -> int:
        """The duration the Lease declares: whole seconds, rounded up so no claim is shorter."""
        return math.ceil(self.duration.total_seconds())


# -- pure decisions -----------------------------------------------------------


def format_micro_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(MICRO_TIME_FORMAT)


def parse_micro_time(text: str) -> datetime:
    """A MicroTime (or an RFC 3339 time without a fraction) in UTC; ValueError if it is not one."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone")
    return moment.astimezone(UTC)


def lease_reference(settings: LeaseSettings) -> JsonObject:
    """Enough of the Lease for `KubeClient` to find it."""
    return {
        "apiVersion": LEASE_API_VERSION,
        "kind": "Lease",
        "metadata": {"name": settings.name, "namespace": settings.namespace},
    }


def _spec(lease: JsonObject | None) -> dict[str, Any]:
    spec: Any = (lease or {}).get("spec") or {}
    return dict(spec)


def holder_of(lease: JsonObject | None) -> str:
    """Who holds the Lease; "" when nobody does (never held, or released)."""
    return str(_spec(lease).get("holderIdentity") or "")


def claim_ends(lease: JsonObject) -> datetime | None:
    """When the holder's claim runs out: its last renewal plus the duration it declared;
    None when the Lease carries no valid claim (then it is free to take)."""
    spec = _spec(lease)
    stamp = spec.get("renewTime") or spec.get("acquireTime")
    seconds = spec.get("leaseDurationSeconds")
    if not isinstance(stamp, str) or not isinstance(seconds, int):
        return None
    try:
        return parse_micro_time(stamp) + timedelta(seconds=seconds)
    except ValueError:
        return None


def may_acquire(lease: JsonObject | None, identity: str, now: datetime) -> bool:
    """Whether `identity` may write itself in as holder at `now`: there is no Lease, nobody
    holds it, `identity` already does (a renewal), or the holder's claim has run out."""
    if lease is None or holder_of(lease) in ("", identity):
        return True
    ends = claim_ends(lease)
    return ends is None or ends <= now


def _claimed_by_twin(
    lease: JsonObject | None, identity: str, stamps: tuple[str, ...], now: datetime
) -> bool:
    """Whether `lease` carries a live claim in `identity`'s name whose renewTime is none of
    `stamps` (what this elector wrote or tried to): another process with the same
    identity renews it, and both would lead (or apply the same shard) unnoticed."""
    if lease is None or holder_of(lease) != identity:
        return False
    ends = claim_ends(lease)
    return ends is not None and ends > now and _spec(lease).get("renewTime") not in stamps


def _lease_object(
    settings: LeaseSettings, previous: JsonObject | None, spec: JsonObject
) -> JsonObject:
    """The whole Lease to create or, carrying `previous`'s resourceVersion, a merge patch that
    the API server refuses (409) if anyone wrote the Lease since `previous` was read."""
    metadata: JsonObject = {"name": settings.name, "namespace": settings.namespace}
    if settings.labels:
        metadata["labels"] = dict(settings.labels)
    if previous is not None:
        previous_metadata: Any = previous.get("metadata") or {}
        metadata["resourceVersion"] = str(previous_metadata.get("resourceVersion", ""))
    return {"apiVersion": LEASE_API_VERSION, "kind": "Lease", "metadata": metadata, "spec": spec}


def lease_body(settings: LeaseSettings, previous: JsonObject | None, now: datetime) -> JsonObject:
    """The Lease naming `settings.identity` holder as of `now`. A renewal keeps the acquire
    time; taking it from someone else (or from nobody, after a release) counts a transition."""
    spec = _spec(previous)
    renewing = holder_of(previous) == settings.identity
    transitions = int(spec.get("leaseTransitions") or 0)
    if previous is not None and not renewing:
        transitions += 1
    stamp = format_micro_time(now)
    return _lease_object(
        settings,
        previous,
        {
            "holderIdentity": settings.identity,
            "leaseDurationSeconds": settings.duration_seconds,
            "acquireTime": str(spec.get("acquireTime") or stamp) if renewing else stamp,
            "renewTime": stamp,
            "leaseTransitions": transitions,
        },
    )


def released_body(settings: LeaseSettings, held: JsonObject, now: datetime) -> JsonObject:
    """The patch that gives `held` up: no holder and a one-second claim, so a standby takes it
    on its next try (client-go's release). Refused if someone took the Lease meanwhile."""
    stamp = format_micro_time(now)
    return _lease_object(
        settings,
        held,
        {
            "holderIdentity": "",
            "leaseDurationSeconds": 1,
            "acquireTime": stamp,
            "renewTime": stamp,
            "leaseTransitions": int(_spec(held).get("leaseTransitions") or 0),
        },
    )


# -- the elector ----------------------------------------------------------------


def _nothing() -> None:
    return None


class LeaderElector:
    """Campaigns for one Lease and, once it holds it, renews it from a daemon thread.

    Leadership lasts while renewals succeed: `is_leader` turns False as soon as
    `renew_deadline` has passed since the last successful one (even while a request hangs),
    and `on_lost` is called once when the renewing thread gives up. Decisions compare the
    Lease's times with this host's clock, so replicas' clocks must agree well within the
    lease duration.
    """

    def __init__(
        self, client: KubeClient, settings: LeaseSettings, *, on_lost: Callable[[], None] = _nothing
    ) -> None:
        self._client = client
        self._settings = settings
        self._on_lost = on_lost
        self._state = threading.Lock()
        self._held: JsonObject | None = None
        """The Lease as this replica last wrote it with itself as holder."""
        self._renewed_at: float | None = None
        """Monotonic time the last successful write started; None while not leading."""
        self._stamps: tuple[str, ...] = ()
        """The renewTimes of this elector's last successful write and of every attempt since
        (one may have landed though its answer was lost): while it holds the Lease, a live
        claim in its name carrying none of them was written by another replica with the
        same identity."""
        self._stop_renewing = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def identity(self) -> str:
        return self._settings.identity

    @property
    def is_leader(self) -> bool:
        with self._state:
            renewed_at = self._renewed_at
        deadline = self._settings.renew_deadline.total_seconds()
        return renewed_at is not None and time.monotonic() - renewed_at < deadline

    def acquire(self, stop: threading.Event) -> bool:
        """Try every retry period until this replica leads (True, and renewing has started)
        or `stop` is set (False). Errors from the cluster are logged and retried."""
        if self.is_leader:
            return True
        retry = self._settings.retry_period.total_seconds()
        obstacle = ""
        while not stop.is_set():
            try:
                refused = self._try_acquire_or_renew()
            except KubeError as error:
                obstacle = self._note_obstacle(
                    obstacle, f"cannot take it: {error.message}", logging.WARNING
                )
            else:
                if refused is None:
                    self._start_renewing()
                    return True
                obstacle = self._note_obstacle(obstacle, f"{refused}; standing by", logging.INFO)
            stop.wait(retry)
        return False

    def release(self) -> None:
        """Stop renewing and, if this replica still holds the Lease, give it up at once."""
        self._stop_renewing.set()
        if self._renewer is not None:
            self._renewer.join()
        with self._state:
            held, self._held, self._renewed_at = self._held, None, None
            self._stamps = ()
        if held is None:
            return
        subject = self._settings.subject
        body = released_body(self._settings, held, datetime.now(UTC))
        try:
            self._client.merge_patch(body, body)
        except StaleObject:
            logger.info(
                "%s: not released by %s, someone else wrote it since", subject, self.identity
            )
        except KubeError as error:
            logger.warning(
                "%s: could not release (%s); a standby takes over when it expires",
                subject,
                error.message,
            )
        else:
            logger.info("%s: released by %s", subject, self.identity)

    def _try_acquire_or_renew(self) -> str | None:
        """One attempt: None when this replica now holds the Lease, else what stood in the way."""
        # Counted from before the request, so this replica's idea of leading never outlasts
        # the claim the API server records.
        started = time.monotonic()
        current = self._client.get(lease_reference(self._settings))
        now = datetime.now(UTC)
        if not may_acquire(current, self.identity, now):
            return f"held by {holder_of(current)}"
        with self._state:
            holding, stamps = self._held is not None, self._stamps
        if holding and _claimed_by_twin(current, self.identity, stamps, now):
            return (
                f"renewed by another replica as {self.identity} (two replicas share the"
                " identity: give each its own)"
            )
        body = lease_body(self._settings, current, now)
        attempt = str(_spec(body).get("renewTime"))
        with self._state:
            self._stamps = (*self._stamps, attempt)
        try:
            written = (
                self._client.create(body)
                if current is None
                else self._client.merge_patch(body, body)
            )
        except StaleObject:
            return "another replica wrote it first"
        with self._state:
            self._held, self._renewed_at = written, started
            self._stamps = (str(_spec(written).get("renewTime")),)
        return None

    def _note_obstacle(self, previous: str, obstacle: str, level: int) -> str:
        """Log what keeps this replica from leading when it changes, not on every retry."""
        if obstacle != previous:
            logger.log(level, "%s: %s", self._settings.subject, obstacle)
        return obstacle

    def _start_renewing(self) -> None:
        transitions = _spec(self._held).get("leaseTransitions")
        logger.info(
            "%s: became leader as %s (transitions %s)",
            self._settings.subject,
            self.identity,
            transitions,
        )
        self._stop_renewing = threading.Event()
        self._renewer = threading.Thread(
            target=self._renew_until_lost,
            args=(self._stop_renewing,),
            name=f"lease-renewer-{self._settings.name}",
            daemon=True,
        )
        self._renewer.start()

    def _renew_until_lost(self, stop: threading.Event) -> None:
        retry = self._settings.retry_period.total_seconds()
        while not stop.wait(retry):
            try:
                obstacle = self._try_acquire_or_renew() or ""
            except KubeError as error:
                obstacle = error.message
            if not self.is_leader and not stop.is_set():
                self._lose(obstacle)
                return

    def _lose(self, obstacle: str) -> None:
        with self._state:
            self._renewed_at = None
        logger.warning(
            "%s: lost leadership as %s, not renewed for %s: %s",
            self._settings.subject,
            self.identity,
            format_duration(self._settings.renew_deadline),
            obstacle or "no answer in time",
        )
        self._on_lost()
