"""Commit statuses: which state change says what, and the request each forge documents,
sent to a loopback HTTP server playing the forge and checked there."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

import pytest

from reconciler.notify.config import RateLimit
from reconciler.notify.dispatch import Dispatcher
from reconciler.notify.forge import Forge, ForgeKind, commit_status_sink
from reconciler.notify.forge.http import exchange
from reconciler.notify.forge.status import DESCRIPTION_LIMIT, StatusState, commit_status
from reconciler.notify.model import StateChange
from reconciler.notify.pacing import RetryPolicy
from reconciler.types import ReleaseKey
from tests.recording_server import Recorded, Reply, recording_server
from tests.waiting import wait_for

SHA = "0123456789abcdef0123456789abcdef01234567"
TOKEN = "forge-token-not-for-eyes"


def change(state: str, reason: str = "", revision: str | None = SHA) -> StateChange:
    return StateChange(
        ReleaseKey("shop/web"), state, reason, revision, datetime(2026, 1, 1, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    ("state", "expected", "description"),
    [
        ("Applied", StatusState.PENDING, "applying"),
        ("Progressing", StatusState.PENDING, "waiting for Ready"),
        ("Ready", StatusState.SUCCESS, "Ready"),
        ("Failed", StatusState.FAILURE, "Failed: Deployment/shop/web apply failed: refused"),
        ("Blocked", StatusState.FAILURE, "Blocked: Deployment/shop/web apply failed: refused"),
        ("Invalid", StatusState.FAILURE, "Invalid: Deployment/shop/web apply failed: refused"),
        ("Degraded", StatusState.FAILURE, "Degraded: Deployment/shop/web apply failed: refused"),
    ],
)
def test_each_state_word_says_pending_success_or_failure_with_the_reason(
    state: str, expected: StatusState, description: str
) -> None:
    status = commit_status(change(state, "Deployment/shop/web apply failed:\n refused"))

    assert status is not None
    assert (status.state, status.description, status.context) == (
        expected,
        description,
        "harmonia/shop/web",
    )


@pytest.mark.parametrize(
    "state", ["Removed", "RemovalWithheld", "DriftCorrected", "Paused", "Resumed", "SecretWarning"]
)
def test_other_words_set_no_status(state: str) -> None:
    assert commit_status(change(state, "whatever")) is None


@pytest.mark.parametrize("revision", [None, "local", SHA[:12], SHA + "-dirty"])
def test_a_change_without_a_full_commit_sets_no_status(revision: str | None) -> None:
    assert commit_status(change("Ready", revision=revision)) is None


def test_a_long_reason_is_cut_to_the_description_limit() -> None:
    status = commit_status(change("Failed", "x" * 500))

    assert status is not None
    assert len(status.description) == DESCRIPTION_LIMIT
    assert status.description.startswith("Failed: xxx") and status.description.endswith("…")


def test_a_reason_with_a_nul_byte_and_terminal_escapes_makes_a_printable_description() -> None:
    """A hostile manifest's value quoted in an error reaches the reason; PostgreSQL (GitLab,
    many Gitea) refuses a NUL in a text column, and the failure would never show."""
    status = commit_status(change("Failed", "value \x00\x1b[2Jbad\x7f"))
    assert status is not None
    assert status.description == "Failed: value ??[2Jbad?"


def test_the_link_names_the_release_and_revision_when_configured() -> None:
    link = "https://harmonia.example/releases/{namespace}/{name}?at={revision}"
    status = commit_status(change("Ready"), link_url=link)

    assert status is not None
    assert status.target_url == f"https://harmonia.example/releases/shop/web?at={SHA}"
    unlinked = commit_status(change("Ready"))
    assert unlinked is not None and unlinked.target_url is None


def test_a_status_is_sent_when_it_changes_and_a_failure_after_a_recovery_is_sent_again() -> None:
    sink = commit_status_sink(Forge(ForgeKind.GITHUB, "https://api", "a/b", TOKEN))

    (progressing,) = sink(change("Progressing"))
    (still_pending,) = sink(change("Applied"))  # nothing new: the same key, sent once
    (ready,) = sink(change("Ready"))
    (failed,) = sink(change("Failed", "one reason"))
    (still_failed,) = sink(change("Failed", "another reason"))
    (ready_again,) = sink(change("Ready"))
    (failed_again,) = sink(change("Failed", "a third reason"))

    keys = [progressing.key, ready.key, failed.key, ready_again.key, failed_again.key]
    assert len(set(keys)) == len(keys)  # the dispatcher sends each of them
    assert json.loads(failed_again.body)["state"] == "failure"
    assert (still_pending.key, still_failed.key) == (progressing.key, failed.key)


def test_a_failure_status_lost_while_the_forge_was_down_is_sent_when_said_again() -> None:
    """The sink said each status once: when every attempt failed (the forge down for a
    minute), the commit stayed pending for ever though the release went on failing."""
    down = threading.Event()
    down.set()

    def answer(_request: Recorded) -> Reply:
        return Reply(503, {"message": "down"}) if down.is_set() else Reply(201, {"id": 1})

    with recording_server(answer) as server:
        forge = Forge(ForgeKind.GITHUB, server.url, "a/b", TOKEN)
        dispatcher = Dispatcher(
            [commit_status_sink(forge)],
            retry=RetryPolicy(attempts=2, base=0.01, rest=0.0),
            rate_limit=RateLimit(per_second=100, burst=100),
        )
        dispatcher.start()
        dispatcher.offer(change("Failed", "Job/shop/migrate failed"))
        wait_for(
            lambda: len(server.requests), until=lambda n: n >= 2, what="2 attempts", timeout=30
        )
        time.sleep(0.2)
        down.clear()
        dispatcher.offer(change("Failed", "Job/shop/migrate failed"))  # the next pass
        dispatcher.offer(change("Failed", "Job/shop/migrate failed"))  # and the one after
        assert dispatcher.close(timeout=30)
    states = [json.loads(request.body)["state"] for request in server.requests]
    assert states == ["failure"] * 3  # two attempts refused, then sent once


def send_all(forge_kind: ForgeKind, repository: str, *, path_prefix: str = "") -> list[Recorded]:
    with recording_server(lambda _request: Reply(201, {"id": 1})) as server:
        forge = Forge(forge_kind, server.url + path_prefix, repository, TOKEN)
        sink = commit_status_sink(forge, link_url="https://harmonia.example/{namespace}")
        for word in ("Applied", "Ready", "Failed"):
            for delivery in sink(change(word, "Job/shop/migrate failed")):
                exchange(delivery, forge=forge, subject="status")
        return list(server.requests)


def test_github_statuses_are_posted_as_its_rest_api_documents() -> None:
    """https://docs.github.com/en/rest/commits/statuses#create-a-commit-status:
    POST /repos/{owner}/{repo}/statuses/{sha}; state error|failure|pending|success,
    target_url, description, context; Accept: application/vnd.github+json,
    Authorization: Bearer, X-GitHub-Api-Version (docs.github.com/en/rest/authentication)."""
    requests = send_all(ForgeKind.GITHUB, "acme/shop")

    assert [r.method for r in requests] == ["POST"] * 3
    for request in requests:
        assert request.path == f"/repos/acme/shop/statuses/{SHA}"
        headers = request.headers
        assert headers["authorization"] == f"Bearer {TOKEN}"
        assert headers["accept"] == "application/vnd.github+json"
        assert headers["x-github-api-version"] == "2022-11-28"
        assert headers["content-type"] == "application/json"
        assert headers["user-agent"]
    bodies = [r.json() for r in requests]
    assert [body["state"] for body in bodies] == ["pending", "success", "failure"]
    assert bodies[2] == {
        "state": "failure",
        "description": "Failed: Job/shop/migrate failed",
        "context": "harmonia/shop/web",
        "target_url": "https://harmonia.example/shop",
    }
    assert all(len(body["description"]) <= 140 for body in bodies)


def test_gitlab_statuses_go_to_the_url_encoded_project_with_the_context_as_name() -> None:
    """https://docs.gitlab.com/api/commits/#set-the-pipeline-status-of-a-commit:
    POST /projects/:id/statuses/:sha, :id the URL-encoded path; state
    pending|running|success|failed|canceled|skipped, name, target_url, description;
    PRIVATE-TOKEN header (https://docs.gitlab.com/api/rest/authentication/)."""
    requests = send_all(ForgeKind.GITLAB, "group/sub/shop", path_prefix="/api/v4")

    for request in requests:
        # The raw path: the project's slashes must arrive encoded.
        assert request.target == f"/api/v4/projects/group%2Fsub%2Fshop/statuses/{SHA}"
        assert request.headers["private-token"] == TOKEN
        assert "authorization" not in request.headers
    bodies = [r.json() for r in requests]
    assert [body["state"] for body in bodies] == ["running", "success", "failed"]
    assert {body["name"] for body in bodies} == {"harmonia/shop/web"}
    assert all("context" not in body for body in bodies)
    assert bodies[2]["description"] == "Failed: Job/shop/migrate failed"


def test_gitea_statuses_are_posted_with_its_token_header() -> None:
    """https://gitea.com/api/swagger#/repository/repoCreateStatus (Forgejo keeps it):
    POST /repos/{owner}/{repo}/statuses/{sha}, CreateStatusOption {state
    pending|success|error|failure|warning, target_url, description, context};
    `Authorization: token <t>` (https://docs.gitea.com/development/api-usage)."""
    requests = send_all(ForgeKind.GITEA, "acme/shop", path_prefix="/api/v1")

    for request in requests:
        assert request.path == f"/api/v1/repos/acme/shop/statuses/{SHA}"
        assert request.headers["authorization"] == f"token {TOKEN}"
    bodies = [r.json() for r in requests]
    assert [body["state"] for body in bodies] == ["pending", "success", "failure"]
    assert set(bodies[0]) == {"state", "description", "context", "target_url"}
