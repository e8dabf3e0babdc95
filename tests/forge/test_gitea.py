"""Commit statuses and the pull-request comment against a REAL Gitea (the pinned module,
built once and cached): what the sink builds is what Gitea takes and shows."""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from devcluster.build import ensure_gitea
from reconciler.notify.forge import Forge, ForgeError, ForgeKind, commit_status_sink
from reconciler.notify.forge.comments import post_comment
from reconciler.notify.forge.http import exchange
from reconciler.notify.model import StateChange
from reconciler.review.renderers import COMMENT_MARKER
from reconciler.types import ReleaseKey
from tests.forge.gitea import OWNER, Gitea, running_gitea


@dataclass(frozen=True)
class PullRequest:
    gitea: Gitea
    repository: str
    number: int
    sha: str

    def forge(self, token: str | None = None) -> Forge:
        return Forge(ForgeKind.GITEA, self.gitea.api, self.repository, token or self.gitea.token)

    def get(self, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.gitea.api}{path}", headers={"Authorization": f"token {self.gitea.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)


def _call(gitea: Gitea, method: str, path: str, body: object) -> Any:
    request = urllib.request.Request(
        f"{gitea.api}{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"token {gitea.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def gitea(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gitea]:
    with running_gitea(ensure_gitea(), tmp_path_factory.mktemp("gitea")) as server:
        yield server


@pytest.fixture()
def pull_request(gitea: Gitea, request: pytest.FixtureRequest) -> PullRequest:
    """A repository of its own with one pull request adding a release file."""
    name = request.node.name.removeprefix("test_")[:60].replace("_", "-")
    _call(gitea, "POST", "/user/repos", {"name": name, "auto_init": True, "default_branch": "main"})
    content = base64.b64encode(b"name: web\nnamespace: shop\n").decode()
    added = _call(
        gitea,
        "POST",
        f"/repos/{OWNER}/{name}/contents/releases/shop/web.yaml",
        {"content": content, "branch": "main", "new_branch": "add-web", "message": "Add web"},
    )
    pull = _call(
        gitea,
        "POST",
        f"/repos/{OWNER}/{name}/pulls",
        {"head": "add-web", "base": "main", "title": "Add shop/web"},
    )
    return PullRequest(gitea, f"{OWNER}/{name}", pull["number"], added["commit"]["sha"])


def change(state: str, sha: str, reason: str = "") -> StateChange:
    return StateChange(ReleaseKey("shop/web"), state, reason, sha, datetime.now(UTC))


def test_gitea_shows_pending_then_success_for_the_release_on_the_applied_commit(
    pull_request: PullRequest,
) -> None:
    forge = pull_request.forge()
    sink = commit_status_sink(forge, link_url="http://harmonia.example/{namespace}/{name}")
    for word in ("Applied", "Ready"):
        for delivery in sink(change(word, pull_request.sha)):
            exchange(delivery, forge=forge, subject="commit status")

    statuses = pull_request.get(
        f"/repos/{pull_request.repository}/commits/{pull_request.sha}/statuses"
    )
    assert sorted((s["status"], s["description"]) for s in statuses) == [
        ("pending", "applying"),
        ("success", "Ready"),
    ]
    assert {s["context"] for s in statuses} == {"harmonia/shop/web"}
    assert {s["target_url"] for s in statuses} == {"http://harmonia.example/shop/web"}
    combined = pull_request.get(
        f"/repos/{pull_request.repository}/commits/{pull_request.sha}/status"
    )
    assert combined["state"] == "success"


def test_gitea_shows_the_failure_with_its_reason(pull_request: PullRequest) -> None:
    forge = pull_request.forge()
    (delivery,) = commit_status_sink(forge)(
        change("Failed", pull_request.sha, "Job/shop/migrate failed: BackoffLimitExceeded")
    )
    exchange(delivery, forge=forge, subject="commit status")

    combined = pull_request.get(
        f"/repos/{pull_request.repository}/commits/{pull_request.sha}/status"
    )
    assert combined["state"] == "failure"
    (status,) = combined["statuses"]
    assert status["description"] == "Failed: Job/shop/migrate failed: BackoffLimitExceeded"


def test_the_comment_is_created_once_then_updated_in_place(pull_request: PullRequest) -> None:
    forge = pull_request.forge()
    _call(
        pull_request.gitea,
        "POST",
        f"/repos/{pull_request.repository}/issues/{pull_request.number}/comments",
        {"body": "Looks good to me"},
    )

    first = post_comment(forge, pull_request.number, f"{COMMENT_MARKER}\nfirst push\n")
    second = post_comment(forge, pull_request.number, f"{COMMENT_MARKER}\nsecond push\n")

    assert first.created and not second.created and second.id == first.id
    comments = pull_request.get(
        f"/repos/{pull_request.repository}/issues/{pull_request.number}/comments"
    )
    assert [c["body"] for c in comments] == [
        "Looks good to me",
        f"{COMMENT_MARKER}\nsecond push\n",
    ]


def test_a_marked_comment_pasted_by_another_user_is_left_as_it_is(
    pull_request: PullRequest,
) -> None:
    """Anyone who may comment can paste the marker: the admin's token could edit their
    comment, which would then show the diff under their name, for them to edit."""
    forge = pull_request.forge()
    first = post_comment(forge, pull_request.number, f"{COMMENT_MARKER}\nfirst push\n")
    stranger = f"mallory-{pull_request.number}-{pull_request.sha[:8]}"
    _call(
        pull_request.gitea,
        "POST",
        "/admin/users",
        {
            "username": stranger,
            "email": f"{stranger}@example.com",
            "password": "not-a-real-password-2!",
            "must_change_password": False,
        },
    )
    pasted = f"{COMMENT_MARKER}\nNo changes. Merge away.\n"
    request = urllib.request.Request(
        f"{pull_request.gitea.api}/repos/{pull_request.repository}/issues/"
        f"{pull_request.number}/comments",
        data=json.dumps({"body": pasted}).encode(),
        method="POST",
        headers={
            "Authorization": f"token {pull_request.gitea.token}",
            "Sudo": stranger,  # the admin's token, speaking as the stranger
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.load(response)["user"]["login"] == stranger

    second = post_comment(forge, pull_request.number, f"{COMMENT_MARKER}\nsecond push\n")

    assert not second.created and second.id == first.id
    comments = pull_request.get(
        f"/repos/{pull_request.repository}/issues/{pull_request.number}/comments"
    )
    assert [(c["user"]["login"], c["body"]) for c in comments] == [
        (OWNER, f"{COMMENT_MARKER}\nsecond push\n"),
        (stranger, pasted),
    ]


def test_a_wrong_token_is_a_clear_401_that_never_shows_the_token(
    pull_request: PullRequest,
) -> None:
    wrong = "0" * 40
    with pytest.raises(ForgeError) as raised:
        post_comment(pull_request.forge(wrong), pull_request.number, COMMENT_MARKER)

    assert raised.value.status == 401
    assert str(raised.value).startswith(
        f"Gitea comment on pull request #{pull_request.number} failed: Gitea answered HTTP 401"
    )
    assert wrong not in str(raised.value)
