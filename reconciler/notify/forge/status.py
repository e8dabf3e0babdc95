"""The commit status of a release on the commit a pass applied: a pure sink from a state
change to the one request each forge documents for it.

GitHub: POST /repos/{owner}/{repo}/statuses/{sha}; GitLab: POST
/projects/{path}/statuses/{sha}; Gitea/Forgejo: POST /repos/{owner}/{repo}/statuses/{sha}.
The context is `harmonia/<namespace>/<name>`; the description is the masked reason, cut.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

from reconciler.health import ReleaseState
from reconciler.notify.forge.model import Forge, ForgeKind
from reconciler.notify.model import Delivery, Sink, StateChange
from reconciler.outcome import Outcome
from reconciler.types import ReleaseKey, split_release_key

DESCRIPTION_LIMIT = 140
"""Characters of a description: GitHub's limit (GitLab and Gitea take more)."""
STATUSES_REMEMBERED = 10_000
"""(commit, release) pairs whose last status the sink keeps, oldest forgotten first."""
_COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
"""A full commit id (SHA-1 or SHA-256): the statuses APIs take no abbreviation."""


class StatusState(StrEnum):
    """What a commit status says, before each forge's own word for it."""

    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"


_FORGE_STATES: dict[ForgeKind, dict[StatusState, str]] = {
    ForgeKind.GITHUB: {s: s.value for s in StatusState},
    ForgeKind.GITEA: {s: s.value for s in StatusState},
    # GitLab refuses to move a status back from running to pending: both pending words of
    # a release (applying, waiting for Ready) are "running".
    ForgeKind.GITLAB: {
        StatusState.PENDING: "running",
        StatusState.SUCCESS: "success",
        StatusState.FAILURE: "failed",
    },
}

_PENDING_WORDS = {
    str(Outcome.APPLIED): "applying",
    str(ReleaseState.PROGRESSING): "waiting for Ready",
}
_FAILURE_WORDS = frozenset(
    str(word) for word in (Outcome.FAILED, Outcome.BLOCKED, Outcome.INVALID, ReleaseState.DEGRADED)
)


@dataclass(frozen=True)
class CommitStatus:
    """One release's status on one commit, in the forge-neutral words."""

    sha: str
    context: str
    state: StatusState
    description: str
    target_url: str | None = None


def status_context(release: ReleaseKey) -> str:
    return f"harmonia/{release}"


def shortened(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """`text` on one line of printable characters (a control character becomes `?`: a NUL
    is refused by the forges' databases), cut to `limit` characters with an ellipsis."""
    line = "".join(ch if ch.isprintable() else "?" for ch in " ".join(text.split()))
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def link_for(template: str | None, change: StateChange) -> str | None:
    """The status's target URL: the configured link with `{namespace}`, `{name}` and
    `{revision}` filled in (plain replacement: other braces are left as they are)."""
    if not template:
        return None
    namespace, name = split_release_key(change.release)
    filled = template.replace("{namespace}", quote(namespace, safe=""))
    filled = filled.replace("{name}", quote(name, safe=""))
    return filled.replace("{revision}", change.revision or "")


def commit_status(change: StateChange, *, link_url: str | None = None) -> CommitStatus | None:
    """What the commit should say after `change`: pending while applying and waiting,
    success when Ready, failure with the reason when Failed, Blocked, Invalid or Degraded;
    None for the other words, and for a change that names no commit."""
    if change.revision is None or not _COMMIT.match(change.revision):
        return None
    if change.state in _PENDING_WORDS:
        state, description = StatusState.PENDING, _PENDING_WORDS[change.state]
    elif change.state == ReleaseState.READY:
        state, description = StatusState.SUCCESS, str(ReleaseState.READY)
    elif change.state in _FAILURE_WORDS:
        reason = change.reason.strip()
        description = f"{change.state}: {reason}" if reason else change.state
        state = StatusState.FAILURE
    else:
        return None
    return CommitStatus(
        change.revision,
        status_context(change.release),
        state,
        shortened(description),
        link_for(link_url, change),
    )


def status_delivery(forge: Forge, status: CommitStatus, *, receiver: str) -> Delivery:
    """The request that sets `status` on `forge`, as its API documents it."""
    state = _FORGE_STATES[forge.kind][status.state]
    body: dict[str, str] = {"state": state, "description": status.description}
    if forge.kind is ForgeKind.GITLAB:
        url = f"{forge.api_url}/projects/{quote(forge.repository, safe='')}/statuses/{status.sha}"
        body["name"] = status.context
    else:
        url = f"{forge.api_url}/repos/{forge.repository}/statuses/{status.sha}"
        body["context"] = status.context
    if status.target_url:
        body["target_url"] = status.target_url
    return Delivery(
        receiver=receiver,
        method="POST",
        url=url,
        headers=forge.headers(),
        body=json.dumps(body).encode(),
        key=f"{receiver}:{status.sha}:{status.context}:{state}",
    )


def commit_status_sink(
    forge: Forge, *, receiver: str = "forge", link_url: str | None = None
) -> Sink:
    """The sink the dispatcher calls with each state change, in order: a status request
    keyed by the commit, the release and its place in the release's sequence of states
    (pending, success, failure). The dispatcher sends a key once: said again, the same
    state is the same key and is not sent twice, but is sent when every attempt of the
    first failed (the forge was down); a release that fails, recovers and fails again at
    the same commit says failure twice, under two keys."""
    said: OrderedDict[tuple[str, str], tuple[StatusState, int]] = OrderedDict()

    def sink(change: StateChange) -> list[Delivery]:
        status = commit_status(change, link_url=link_url)
        if status is None:
            return []
        place = (status.sha, status.context)
        last, states = said.pop(place, (None, 0))
        states += last is not status.state
        said[place] = (status.state, states)
        while len(said) > STATUSES_REMEMBERED:
            said.popitem(last=False)
        delivery = status_delivery(forge, status, receiver=receiver)
        return [dataclasses.replace(delivery, key=f"{delivery.key}:{states - 1}")]

    return sink
