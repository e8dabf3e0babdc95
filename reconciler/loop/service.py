"""`harmonia run` as a service: the schedule, the leader lease, the HTTP endpoints, signals.

Thin on purpose (the work of a tick is `cycle.py`): it wires the parts together,
runs one pass per tick (APScheduler, with jitter, never two at once) once this
replica holds the Lease (its pod labelled the leader's meanwhile, `leader_label.py`),
brings the next pass forward when a temporary failure's backoff ends before the next
tick (or, without watches, when a push webhook arrives), and on SIGTERM lets the
current writes finish, takes the label off, gives the Lease up and exits.
"""

from __future__ import annotations

import logging
import math
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from reconciler.desired import Tools
from reconciler.kube.client import KubeClient
from reconciler.kube.connection import KubeTarget
from reconciler.kube.errors import ClusterUnreachable, KubeError
from reconciler.loop.cycle import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, Cycle, CycleResult
from reconciler.loop.event_bus import ReleaseEvent
from reconciler.loop.hook_receiver import WebhookReceiver
from reconciler.loop.leader_label import LeaderLabel, OwnPod
from reconciler.loop.lease import LeaderElector, LeaseSettings, lease_reference
from reconciler.loop.loop_journal import (
    DeliveryRecord,
    journaled_hook,
    lease_json,
    reconciler_body,
)
from reconciler.loop.metrics import Metrics
from reconciler.loop.pass_queue import QUIET_SECONDS, PassRequest
from reconciler.loop.reactor import Reactor
from reconciler.loop.server import Endpoints, ObservabilityServer
from reconciler.loop.settings import RunSettings
from reconciler.loop.shard_set import ShardSet, shards_json
from reconciler.notify.dispatch import Dispatcher
from reconciler.notify.model import Sink, StateChange
from reconciler.policy import Policy
from reconciler.types import JsonObject

log = logging.getLogger(__name__)
_PASS_JOB = "pass"
# The scheduler logs every job run, and every tick skipped while a long pass runs;
# the pass logs its own lines.
logging.getLogger("apscheduler").setLevel(logging.ERROR)
NOTIFICATIONS_GRACE_SECONDS = 10.0
"""How long an exiting reconciler keeps sending the notifications still queued."""


def instance_name() -> str:
    """This replica's identity in the Lease and in Events: the pod's host name and a tag."""
    return f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"


@dataclass
class _Progress:
    """What the readiness probe and the exit code read, written by the pass thread."""

    last: CycleResult | None = None
    standing_by: bool = False
    """Waiting for the Lease another replica holds: healthy, and Ready (a rolling update
    must be able to start a new replica while the old one leads)."""
    lease_lost: bool = False
    leading: bool = False
    """Holding the Lease (or not electing): the reactor acts on what its watches see."""
    stop: threading.Event = field(default_factory=threading.Event)
    scheduler: BackgroundScheduler | None = None
    """The loop's scheduler while it runs (not with `--once`)."""
    next_why: str = "the interval"
    """Why the scheduler's next tick comes when it does (brought forward, or not)."""
    fetch_owed: bool = False
    """Without watches: a push arrived since the last tick began, so the next one is due
    at once (a tick under way may have fetched before the push)."""


class Service:
    def __init__(
        self,
        settings: RunSettings,
        *,
        target: KubeTarget,
        policy: Policy,
        tools: Tools,
        cache_root: Path,
        own_pod: OwnPod | None = None,
        sinks: Sequence[Sink] = (),
    ) -> None:
        """`own_pod`: the Pod this process runs in (the downward API's), labelled while it
        leads; None outside a pod. `sinks`: what the release state changes are sent to
        (notify/), while this replica leads."""
        self._settings = settings
        self._target = target
        self._policy = policy
        self._tools = tools
        self._cache_root = cache_root
        self._progress = _Progress()
        self.instance = settings.identity or instance_name()
        self._reactor: Reactor | None = None
        self._own_pod = own_pod
        self._leader_label: LeaderLabel | None = None
        self._sinks = tuple(sinks)

    def stop(self) -> None:
        """Ask the service to finish the writes under way and exit (what SIGTERM does)."""
        self._progress.stop.set()

    def handle_signals(self) -> None:
        def on_signal(number: int, _frame: FrameType | None) -> None:
            log.info("%s received: finishing the current writes", signal.Signals(number).name)
            self.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def run(self, *, once: bool = False) -> int:
        """Serve until stopped (or, with `once`, for one pass); returns the exit code."""
        with ExitStack() as clients:
            try:
                client = clients.enter_context(self._connect())
                # The Lease gets a connection of its own: nothing the pass or an API request
                # does with theirs (a discovery refresh under its lock, a full pool) can
                # delay a renewal.
                lease_client = (
                    clients.enter_context(self._connect())
                    if self._settings.leader_election or self._settings.sharding
                    else None
                )
            except ClusterUnreachable as error:
                log.error("%s", error)
                return EXIT_UNREACHABLE
            # Only the webhooks Service selects the label: without webhooks its absence is no news.
            unknown = logging.INFO if self._settings.webhook_secret_file else logging.DEBUG
            self._leader_label = LeaderLabel(client, self._own_pod, unknown_level=unknown)
            self._leader_label.clear_stale()
            metrics = Metrics()
            metrics.count_requests("pass", client.requests_by_verb)
            if lease_client is not None:
                metrics.count_requests("lease", lease_client.requests_by_verb)
            shards = (
                ShardSet(
                    lease_client,
                    self._lease_settings(),
                    on_lost=self._lost(metrics, lease="shard lease"),
                )
                if self._settings.sharding and lease_client is not None
                else None
            )
            cycle = Cycle(
                self._settings,
                client=client,
                policy=self._policy,
                tools=self._tools,
                metrics=metrics,
                instance=self.instance,
                cache_root=self._cache_root,
                retrying=not once,
                shards=shards,
            )
            dispatcher = self._notifications(cycle, metrics)
            server = self._serve(metrics, cycle, client)
            if self._settings.watch and not once:
                watch_client = clients.enter_context(self._connect())
                metrics.count_requests("watch", watch_client.requests_by_verb)
                self._reactor = Reactor(
                    cycle,
                    watch_client,
                    acting=lambda: self._progress.leading,
                    stopping=self._progress.stop,
                    instance=self.instance,
                )
                self._reactor.start()
            try:
                if shards is not None:
                    return self._share_and_loop(shards, cycle, metrics, once=once)
                return self._lead_and_loop(lease_client, cycle, metrics, once=once)
            finally:
                if self._reactor is not None:
                    self._reactor.stop()
                if server is not None:
                    server.stop()
                if dispatcher is not None:
                    dispatcher.close(timeout=NOTIFICATIONS_GRACE_SECONDS)

    def _notifications(self, cycle: Cycle, metrics: Metrics) -> Dispatcher | None:
        """The dispatcher of the sinks, fed what the event bus says while this replica
        leads (a standby says nothing, and sends nothing)."""
        if not self._sinks:
            return None
        names = [spec.name for spec in self._settings.notifications.receivers]
        names += ["forge"] if self._settings.forge is not None else []
        dispatcher = Dispatcher(
            self._sinks,
            rate_limit=self._settings.notifications.rate_limit,
            registry=metrics.registry,
            receivers=names,
            on_done=lambda receiver, result: cycle.journal.notification_done(
                DeliveryRecord(datetime.now(UTC), receiver, result)
            ),
        )

        def offer(event: ReleaseEvent) -> None:
            if self._progress.leading:
                labels = cycle.release_labels.get(event.release, {})
                change = StateChange(
                    event.release, event.state, event.reason, event.revision, event.time, labels
                )
                dispatcher.offer(change)

        cycle.events.listen(offer)
        dispatcher.start()
        return dispatcher

    def _connect(self) -> KubeClient:
        return KubeClient.connect(self._target, cache_dir=self._cache_root / "discovery")

    def _serve(
        self, metrics: Metrics, cycle: Cycle, client: KubeClient
    ) -> ObservabilityServer | None:
        if self._settings.listen is None:
            return None
        receiver = WebhookReceiver(
            self._settings.webhook_secret_file,
            url=self._settings.url,
            ref=self._settings.ref,
            acting=lambda: self._progress.leading,
            ask=self._ask,
            retry_after=math.ceil(self._settings.lease_duration.total_seconds()),
        )
        server = ObservabilityServer(
            self._settings.listen,
            Endpoints(
                metrics=metrics,
                readiness=self._readiness,
                releases=cycle.catalog.list_releases,
                release=cycle.catalog.release_detail,
                hook=journaled_hook(
                    receiver.receive, cycle.journal, clock=lambda: datetime.now(UTC)
                ),
                events=cycle.events,
                reconciler=lambda: self._reconciler_state(cycle, client),
            ),
            token_file=self._settings.listen_token_file,
        )
        server.start()
        return server

    def _reconciler_state(self, cycle: Cycle, client: KubeClient) -> JsonObject:
        """The body of `GET /api/v1/reconciler`: the journal, the Lease read now (a Lease
        that cannot be read says why, the rest is still told) and the next pass."""
        lease: JsonObject | None = None
        if self._settings.leader_election and not self._settings.sharding:
            settings = self._lease_settings()
            where = {"namespace": settings.namespace, "name": settings.name}
            try:
                lease = lease_json(client.get(lease_reference(settings)), **where)
            except KubeError as error:
                lease = {**where, "error": f"{settings.subject}: {error.message}"}
        return reconciler_body(
            cycle.journal.view(),
            instance=self.instance,
            leading=self._progress.leading,
            lease=lease,
            next_pass=self._next_pass(),
            shards=self._shards_state(cycle),
        )

    def _shards_state(self, cycle: Cycle) -> JsonObject | None:
        """Under sharding, the set and this replica's share of the last full pass's releases."""
        shards = cycle.shards
        if shards is None:
            return None
        state = cycle.state
        keys = [] if state is None else [*state.loaded.releases, *state.loaded.invalid_releases]
        return shards_json(shards, cycle.shard_view, keys)

    def _next_pass(self) -> tuple[datetime | None, str]:
        """When the next pass comes and why: a pass owed to changes or pushes (the
        reactor's, within seconds), else the scheduler's next tick."""
        pending = self._reactor.pending() if self._reactor is not None else None
        if pending is not None and self._progress.leading:
            return datetime.now(UTC), "; ".join(pending.reasons) or "a change"
        scheduler = self._progress.scheduler
        job = scheduler.get_job(_PASS_JOB) if scheduler is not None else None
        if job is None or job.next_run_time is None:
            if self._progress.standing_by:
                return None, "standing by: another replica holds the lease"
            return None, "none scheduled"
        return job.next_run_time, self._progress.next_why

    def _ask(self, request: PassRequest) -> None:
        """A pass asked for from outside (a push): the reactor's, coalesced with the
        others; without watches, the scheduler's next tick, brought forward."""
        if self._reactor is not None:
            self._reactor.ask(request)
            return
        self._progress.fetch_owed = True
        scheduler = self._progress.scheduler
        if scheduler is not None:
            self._bring_forward(scheduler, self._soon(), why="; ".join(request.reasons))

    @staticmethod
    def _soon() -> datetime:
        """A moment from now: the pushes of a burst make one tick, as the reactor's do."""
        return datetime.now(UTC) + timedelta(seconds=QUIET_SECONDS)

    def _readiness(self) -> tuple[bool, str]:
        if self._progress.stop.is_set():
            return False, "stopping"
        if self._progress.standing_by:
            return True, "standing by: another replica holds the lease"
        last = self._progress.last
        if last is None:
            return False, "no pass has finished yet"
        if last.unreachable:
            return False, f"last pass could not reach a needed service: {last.problem}"
        if last.crashed:
            return False, "last pass crashed (the log has the error)"
        if last.stopped:
            return False, f"last pass stopped: {last.problem}"
        return True, "ok"

    def _lead_and_loop(
        self, lease_client: KubeClient | None, cycle: Cycle, metrics: Metrics, *, once: bool
    ) -> int:
        elector = self._elect(lease_client, metrics) if lease_client is not None else None
        if elector is not None:
            self._progress.standing_by = True
            acquired = elector.acquire(self._progress.stop)
            self._progress.standing_by = False
            if not acquired:
                return EXIT_OK

        def give_up() -> None:
            if elector is not None and elector.is_leader:
                elector.release()

        return self._act(cycle, metrics, once=once, give_up=give_up)

    def _share_and_loop(
        self, shards: ShardSet, cycle: Cycle, metrics: Metrics, *, once: bool
    ) -> int:
        """Under sharding: join the set with a Lease of this replica's own, then pass over
        its share of the releases, as the leader passes over all of them."""
        log.info(
            "joining the shard set %s/%s as %s (Lease %s)",
            shards.namespace,
            shards.name,
            self.instance,
            shards.lease_name,
        )
        if not shards.join(self._progress.stop):
            return EXIT_OK
        return self._act(cycle, metrics, once=once, give_up=shards.leave)

    def _act(
        self, cycle: Cycle, metrics: Metrics, *, once: bool, give_up: Callable[[], None]
    ) -> int:
        """Pass after pass while this replica may apply; at the end `give_up` its Lease."""
        metrics.set_leader(True)
        self._progress.leading = True
        self._hold_leader_label()
        try:
            if once:
                result = self._tick(cycle)
                return result.exit_code
            self._loop(cycle)
            return EXIT_FAILED if self._progress.lease_lost else EXIT_OK
        finally:
            self._progress.leading = False
            metrics.set_leader(False)
            if self._leader_label is not None:
                # Before the Lease is given up: deliveries stop coming here first.
                self._leader_label.drop()
            give_up()

    def _lease_settings(self) -> LeaseSettings:
        duration = self._settings.lease_duration
        return LeaseSettings(
            namespace=self._settings.lease_namespace,
            name=self._settings.lease_name,
            identity=self.instance,
            duration=duration,
            renew_deadline=duration * 2 / 3,
            retry_period=duration * 2 / 15,
        )

    def _lost(self, metrics: Metrics, *, lease: str = "leader lease") -> Callable[[], None]:
        """What losing this replica's Lease does: stop, so that two replicas never apply
        the same release at once."""

        def on_lost() -> None:
            log.error("%s lost: stopping so that two replicas never apply at once", lease)
            metrics.count_error("lease")
            self._progress.lease_lost = True
            self.stop()

        return on_lost

    def _elect(self, client: KubeClient, metrics: Metrics) -> LeaderElector:
        settings = self._lease_settings()
        on_lost = self._lost(metrics)
        log.info(
            "waiting for the lease %s/%s as %s", settings.namespace, settings.name, self.instance
        )
        return LeaderElector(client, settings, on_lost=on_lost)

    def _tick(self, cycle: Cycle) -> CycleResult:
        self._progress.fetch_owed = False
        why, self._progress.next_why = self._progress.next_why, "the interval"
        result = cycle.run_pass(stopping=self._progress.stop.is_set, why=why)
        self._progress.last = result
        self._hold_leader_label()
        if self._reactor is not None:
            self._reactor.after_pass()
        scheduler = self._progress.scheduler
        if scheduler is not None:
            self._bring_forward(scheduler, cycle.next_due(datetime.now(UTC)), why="a retry")
            if self._progress.fetch_owed:
                self._bring_forward(scheduler, self._soon(), why="a push during the pass")
        return result

    def _hold_leader_label(self) -> None:
        """The leader label on this replica's pod; after a pass, again if it failed before."""
        if self._leader_label is not None:
            self._leader_label.hold()

    def _bring_forward(
        self, scheduler: BackgroundScheduler, due: datetime | None, *, why: str
    ) -> None:
        """The next pass at `due` when that is before the next tick: a retry or a push does
        not wait for the interval (which then counts on from it)."""
        job = scheduler.get_job(_PASS_JOB)
        if due is None or job is None or self._progress.stop.is_set():
            return
        if job.next_run_time is None or due < job.next_run_time:
            scheduler.modify_job(_PASS_JOB, next_run_time=due)
            self._progress.next_why = why
            log.info("next pass at %s for %s", f"{due.astimezone(UTC):%H:%M:%S}Z", why)

    def _loop(self, cycle: Cycle) -> None:
        interval = self._settings.interval.total_seconds()
        scheduler = BackgroundScheduler(timezone=UTC)
        scheduler.add_job(
            self._tick,
            IntervalTrigger(
                seconds=interval, jitter=interval * self._settings.jitter or None, timezone=UTC
            ),
            args=(cycle,),
            id=_PASS_JOB,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._progress.scheduler = scheduler
        scheduler.start()
        try:
            self._progress.stop.wait()
        finally:
            self._progress.scheduler = None
            # Waits for a pass under way: it sees the stop and defers what it has not begun.
            scheduler.shutdown(wait=True)
