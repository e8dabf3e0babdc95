"""`harmonia diff -o markdown --comment github` as a CI job runs it: the review printed and
posted to a loopback HTTP server playing GitHub's REST API; a refusal is exit 4 with one
line naming the forge and the status, and the token appears nowhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.review.renderers import COMMENT_MARKER
from tests.recording_server import Recorded, Reply, recording_server
from tests.review.conftest import Workspace

TOKEN = "ghs_not-a-real-token-but-secret"


@pytest.fixture()
def scaled(examples: Workspace, tmp_path: Path) -> Workspace:
    """ZooKeeper scaled in the head commit; the token in a file as a mounted Secret."""
    examples.edit("examples/releases/streaming/zookeeper.yaml", "replicas: 3", "replicas: 5")
    examples.commit("Scale ZooKeeper to 5")
    token_file = tmp_path / "forge-token"
    token_file.write_text(TOKEN + "\n")
    environment = {
        **examples.environment,
        "HARMONIA_FORGE_TOKEN_FILE": str(token_file),
        "GITHUB_REF": "refs/pull/7/merge",
        "GITHUB_REPOSITORY": "acme/shop",
    }
    return Workspace(examples.repos, environment)


def diff_with_comment(workspace: Workspace, forge_url: str) -> tuple[int, str, str]:
    workspace.environment["GITHUB_API_URL"] = forge_url
    result = workspace.harmonia(
        "diff", "--base", "HEAD~1", "--head", "HEAD", "examples", "-o", "markdown",
        "--comment", "github",
    )  # fmt: skip
    return result.returncode, result.stdout, result.stderr


def test_the_review_is_printed_and_posted_as_the_pull_requests_comment(scaled: Workspace) -> None:
    """https://docs.github.com/en/rest/issues/comments#create-an-issue-comment: POST
    /repos/{owner}/{repo}/issues/{issue_number}/comments {"body"}, after listing them."""

    def answer(request: Recorded) -> Reply:
        return Reply(200, []) if request.method == "GET" else Reply(201, {"id": 99})

    with recording_server(answer) as server:
        code, stdout, stderr = diff_with_comment(scaled, server.url)

    assert code == 0, stderr
    assert stdout.startswith(COMMENT_MARKER)
    listed, created = server.requests
    assert (listed.method, listed.path) == ("GET", "/repos/acme/shop/issues/7/comments")
    assert (created.method, created.path) == ("POST", "/repos/acme/shop/issues/7/comments")
    assert created.json() == {"body": stdout}
    assert created.headers["authorization"] == f"Bearer {TOKEN}"
    assert "GitHub comment 99 created on pull request #7" in stderr
    assert TOKEN not in stdout + stderr


@pytest.mark.parametrize("status", [401, 403, 422])
def test_a_refused_comment_exits_4_with_one_line_and_the_review_still_printed(
    scaled: Workspace, status: int
) -> None:
    def answer(request: Recorded) -> Reply:
        if request.method == "GET":
            return Reply(200, [])
        return Reply(status, {"message": "Resource not accessible by integration"})

    with recording_server(answer) as server:
        code, stdout, stderr = diff_with_comment(scaled, server.url)

    assert code == 4
    assert stdout.startswith(COMMENT_MARKER)
    (error,) = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert error == (
        "error: GitHub comment on pull request #7 failed: GitHub answered HTTP "
        f"{status} to POST /repos/acme/shop/issues/7/comments "
        "(Resource not accessible by integration)"
    )
    assert TOKEN not in stdout + stderr
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (("-o", "text", "--comment", "github"), "give -o markdown"),
        (("-o", "markdown", "--pull-request", "3"), "--pull-request: only with --comment"),
        (("-o", "markdown", "--comment", "gitlab"), "--comment gitlab: give --pull-request N"),
    ],
)
def test_comment_flags_that_cannot_be_used_are_usage_errors_before_any_rendering(
    examples: Workspace, arguments: tuple[str, ...], words: str
) -> None:
    result = examples.harmonia("diff", "--base", "HEAD", "examples", *arguments)

    assert result.returncode == 2, result.stderr
    assert words in result.stderr
