"""The releases the JSON API serves: the last pass's desired state and report, joined at
each request with the statuses read live from the cluster.

By default only this reconciler's releases: those in its repository and those recorded
under its source; another repository's releases and their outputs are not its to show.
The loop updates it after every pass; the HTTP server reads it from its own threads.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from reconciler.desired import DesiredState
from reconciler.kube.client import KubeClient
from reconciler.kube.errors import KubeError
from reconciler.kube.watch import Watches
from reconciler.loop.api import (
    PassSecrets,
    ReleaseView,
    is_namespace_name,
    mask_values,
    parse_list_query,
    release_detail,
    release_list,
    rendered_secret_values,
    secret_values,
)
from reconciler.loop.errors import ApiError
from reconciler.loop.pass_history import PassHistory
from reconciler.loop.release_events import read_release_events
from reconciler.notify.forge.web import CommitLinks
from reconciler.reconcile import PassReport
from reconciler.status.files import SourceState
from reconciler.status.live import ReleaseStatus, read_statuses
from reconciler.types import JsonObject, ReleaseKey, release_key, split_release_key


@dataclass(frozen=True)
class RevisionLinks:
    """Where the commits of this reconciler's repository are shown: a record written under
    `source` holds a revision of that repository; another source's is not its to link."""

    source: str
    commits: CommitLinks

    def url(self, status: ReleaseStatus | None) -> str | None:
        if status is None or status.record.source != self.source:
            return None
        return self.commits.commit_url(status.record.revision)


@dataclass(frozen=True)
class _LastPass:
    state: DesiredState
    report: PassReport
    source: SourceState | None

    def view(
        self, key: ReleaseKey, status: ReleaseStatus | None, revision_url: str | None = None
    ) -> ReleaseView:
        return ReleaseView(
            key=key,
            release=self.state.loaded.releases.get(key),
            rendered=self.state.render.rendered.get(key),
            status=status,
            report=self.report.releases.get(key),
            secrets_of_dependents=self.secrets_of_dependents.get(key, frozenset()),
            revision_url=revision_url,
            secrets_of_pass=self.secrets_of_pass,
        )

    @cached_property
    def secrets_of_pass(self) -> PassSecrets:
        """Every Secret value the pass rendered (and every value it decrypted): a release's
        pods may read another release's Secret, and say its value in their messages."""
        return PassSecrets(self.state.render.secrets)

    @cached_property
    def secrets_of_dependents(self) -> dict[ReleaseKey, frozenset[str]]:
        """For each release depended on, the values of its dependents' rendered Secrets:
        an output a dependent puts into a Secret is a secret of the publisher's too."""
        found: dict[ReleaseKey, set[str]] = {}
        for key, release in self.state.loaded.releases.items():
            values = rendered_secret_values(self.state.render.rendered.get(key))
            for target in release.dependencies.values():
                found.setdefault(target, set()).update(values)
        return {key: frozenset(values) for key, values in found.items()}

    @property
    def keys(self) -> frozenset[ReleaseKey]:
        """Every release in Git, valid or not."""
        return frozenset(self.state.loaded.releases) | self.state.loaded.invalid_releases


class ReleaseCatalog:
    """The API's view of the releases; thread-safe."""

    def __init__(
        self, client: KubeClient, *, source: str | None, links: RevisionLinks | None = None
    ) -> None:
        """`source`: show the releases in the last pass's repository and those recorded
        under this source; None: every release recorded in the cluster too. `links`: the
        forge pages of this repository's commits, None for an unknown forge."""
        self._client = client
        self._source = source
        self._links = links
        self._lock = threading.Lock()
        self._last: _LastPass | None = None
        self._history = PassHistory()
        self.watched: Watches | None = None
        """The reactor's reflectors, read instead of listing at each request."""

    def update(
        self, state: DesiredState, report: PassReport, *, source: SourceState | None = None
    ) -> None:
        """Remember a finished pass (called by the loop after each one) and the revision it
        ran on, stale when the fetch failed and the last good commit was served."""
        with self._lock:
            self._last = _LastPass(state, report, source)
            self._history.record(report, time=datetime.now(UTC), whole=True)

    def update_releases(self, report: PassReport) -> None:
        """Remember a pass over some releases: their reports replace those of the last
        whole pass, whose desired state stays."""
        with self._lock:
            if self._last is None:
                return
            releases = {**self._last.report.releases, **report.releases}
            merged = dataclasses.replace(self._last.report, releases=releases)
            self._last = dataclasses.replace(self._last, report=merged)
            self._history.record(report, time=datetime.now(UTC), whole=False)

    def views(
        self, *, namespace: str | None = None, release: ReleaseKey | None = None
    ) -> list[ReleaseView]:
        """Releases in Git (as of the last pass) or recorded in the cluster (under this
        catalog's source, if it has one), by key; statuses read now."""
        return self._read(namespace=namespace, release=release)[0]

    def list_releases(self, query: Mapping[str, str]) -> JsonObject:
        """The body of `GET /api/v1/releases`; `problems` names inventory records that
        could not be read, `source` the revision of the last pass and whether it was stale
        (null before the first pass)."""
        chosen = parse_list_query(query)
        views, problems = self._read(namespace=chosen.namespace)
        with self._lock:
            source = self._last.source if self._last is not None else None
        return {
            **release_list(views, query),
            "problems": list(problems),
            "source": source.to_json() if source is not None else None,
        }

    def release_detail(self, namespace: str, name: str) -> JsonObject:
        """The body of `GET /api/v1/releases/<namespace>/<name>`, with the release's last
        change, its recent passes and its Events read now; `ApiError(404)` if unknown."""
        key = release_key(namespace, name)
        views = self._read(release=key)[0] if is_namespace_name(namespace) else []
        if not views:
            where = "in the cluster" if self._source is None else "recorded under this source"
            raise ApiError(404, f"release {key}: not in this repository nor {where}")
        with self._lock:
            recent = [line.to_json() for line in self._history.of(key)]
            change = self._history.last_change(key)
        events, problem = read_release_events(self._client, key, views[0].status)
        return release_detail(
            views[0],
            last_change=change.to_json() if change is not None else None,
            recent_passes=recent,
            events=events,
            events_problem=problem,
        )

    def masked(self, key: ReleaseKey, text: str) -> str:
        """`text` with the Secret values of `key`'s last render (and of its dependents')
        masked, as the API masks what it says of that release."""
        with self._lock:
            last = self._last
        if last is None:
            return text
        masked = mask_values(text, secret_values(last.view(key, None)))
        return last.secrets_of_pass.masked(masked if isinstance(masked, str) else str(masked))

    def _read(
        self, *, namespace: str | None = None, release: ReleaseKey | None = None
    ) -> tuple[list[ReleaseView], list[str]]:
        with self._lock:
            last = self._last
        try:
            statuses, problems = read_statuses(
                self._client,
                namespace=namespace,
                release=release,
                source=self._source,
                watched=self.watched,
            )
        except KubeError as error:
            raise ApiError(503, f"reading the cluster failed: {error}") from error
        live = {status.key: status for status in statuses}
        keys = set(live)
        if last is not None:
            keys.update(key for key in last.keys if _wanted(key, namespace, release))
        return [self._view(last, key, live.get(key)) for key in sorted(keys)], problems

    def _view(
        self, last: _LastPass | None, key: ReleaseKey, status: ReleaseStatus | None
    ) -> ReleaseView:
        url = self._links.url(status) if self._links is not None else None
        if last is None:
            return ReleaseView(key, None, None, status, None, revision_url=url)
        return last.view(key, status, url)


def _wanted(key: ReleaseKey, namespace: str | None, release: ReleaseKey | None) -> bool:
    if release is not None:
        return key == release
    return namespace is None or split_release_key(key)[0] == namespace
