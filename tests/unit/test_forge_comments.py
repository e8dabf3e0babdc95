"""The pull-request comment client against loopback HTTP servers playing each forge: the
marked comment found (on a later page) and updated, else one created; errors said once,
clearly, without the token; one attempt per request."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from reconciler.notify.forge import Forge, ForgeError, ForgeKind
from reconciler.notify.forge.comments import post_comment
from reconciler.review.renderers import COMMENT_MARKER
from tests.recording_server import Recorded, RecordingServer, Reply, recording_server

TOKEN = "forge-token-not-for-eyes"
BODY = f"{COMMENT_MARKER}\n### Harmonia diff: `main` → `HEAD`\n"
PREFIX = {ForgeKind.GITHUB: "", ForgeKind.GITLAB: "/api/v4", ForgeKind.GITEA: "/api/v1"}
REPOSITORY = {
    ForgeKind.GITHUB: "acme/shop",
    ForgeKind.GITLAB: "group/sub/shop",
    ForgeKind.GITEA: "acme/shop",
}


ME = 77
"""The token's user id, as GET /user answers it."""
STRANGER = 666


def comment(number: int, body: str, **more: object) -> dict[str, object]:
    return {"id": number, "body": body, **more}


def by(user: int, kind: str = "User") -> dict[str, object]:
    """The author fields of a comment: GitHub and Gitea say `user`, GitLab `author`."""
    return {"user": {"id": user, "type": kind}, "author": {"id": user}}


OTHERS = [comment(n, f"looks good {n}") for n in range(1, 101)]


def forge_for(server: RecordingServer, kind: ForgeKind) -> Forge:
    return Forge(kind, server.url + PREFIX[kind], REPOSITORY[kind], TOKEN)


def github_pages(second: list[dict[str, object]]) -> Callable[[Recorded], Reply]:
    """Two pages, the next one named by a Link header as GitHub does."""

    def answer(request: Recorded) -> Reply:
        if request.path.endswith("/user"):
            return Reply(200, {"id": ME, "login": "harmonia-bot"})
        if request.method == "GET" and request.query.get("page") == ["2"]:
            return Reply(200, second, {"Link": '<x>; rel="prev"'})
        if request.method == "GET":
            base = request.target.split("?")[0]
            link = f'<http://{request.headers["host"]}{base}?per_page=100&page=2>; rel="next"'
            return Reply(200, OTHERS, {"Link": f'{link}, <x>; rel="last"'})
        return Reply(201 if request.method == "POST" else 200, {"id": 4242})

    return answer


def test_github_updates_the_marked_comment_found_on_the_second_page() -> None:
    """https://docs.github.com/en/rest/issues/comments#list-issue-comments (per_page up to
    100, pages in the Link header: .../using-pagination-in-the-rest-api) and
    #update-an-issue-comment: PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}
    with {"body"}; Bearer token, Accept application/vnd.github+json, X-GitHub-Api-Version."""
    second = [
        comment(150, "> " + COMMENT_MARKER + " quoted", **by(ME)),
        comment(170, BODY + "old", **by(ME)),
    ]
    with recording_server(github_pages(second)) as server:
        posted = post_comment(forge_for(server, ForgeKind.GITHUB), 7, BODY)

    assert (posted.id, posted.created) == (170, False)
    first, following, who, update = server.requests
    assert (who.method, who.path) == ("GET", "/user")
    assert (first.method, first.path, first.query) == (
        "GET",
        "/repos/acme/shop/issues/7/comments",
        {"per_page": ["100"]},
    )
    assert following.query == {"per_page": ["100"], "page": ["2"]}
    assert (update.method, update.path, update.json()) == (
        "PATCH",
        "/repos/acme/shop/issues/comments/170",
        {"body": BODY},
    )
    for request in server.requests:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"


def test_github_creates_the_comment_when_none_is_marked() -> None:
    """https://docs.github.com/en/rest/issues/comments#create-an-issue-comment:
    POST /repos/{owner}/{repo}/issues/{issue_number}/comments with {"body"}."""
    with recording_server(github_pages([comment(120, "LGTM")])) as server:
        posted = post_comment(forge_for(server, ForgeKind.GITHUB), 7, BODY)

    assert (posted.id, posted.created) == (4242, True)
    create = server.requests[-1]
    assert (create.method, create.path, create.json()) == (
        "POST",
        "/repos/acme/shop/issues/7/comments",
        {"body": BODY},
    )
    assert len(server.requests) == 3


def test_gitlab_follows_x_next_page_and_updates_the_note_skipping_system_notes() -> None:
    """https://docs.gitlab.com/api/notes/#list-all-merge-request-notes, #modify-existing-
    merge-request-note: GET and PUT /projects/:id/merge_requests/:iid/notes[/:note_id]
    with body; pages by X-Next-Page (https://docs.gitlab.com/api/rest/#pagination);
    PRIVATE-TOKEN header."""
    system = comment(300, BODY, system=True)

    def answer(request: Recorded) -> Reply:
        if request.path.endswith("/user"):
            return Reply(200, {"id": ME, "username": "project_1_bot"})
        if request.method == "GET" and request.query.get("page") == ["2"]:
            return Reply(200, [comment(230, BODY, **by(ME)), system], {"X-Next-Page": ""})
        if request.method == "GET":
            return Reply(200, OTHERS, {"X-Next-Page": "2"})
        return Reply(200, {"id": 230})

    with recording_server(answer) as server:
        posted = post_comment(forge_for(server, ForgeKind.GITLAB), 12, BODY)

    assert (posted.id, posted.created) == (230, False)
    first, following, who, update = server.requests
    assert (who.method, who.target) == ("GET", "/api/v4/user")
    notes = "/api/v4/projects/group%2Fsub%2Fshop/merge_requests/12/notes"
    assert (first.method, first.target) == ("GET", f"{notes}?per_page=100")
    assert following.target.split("?")[0] == notes
    assert following.query == {"per_page": ["100"], "page": ["2"]}
    assert (update.method, update.target, update.json()) == ("PUT", f"{notes}/230", {"body": BODY})
    assert all(r.headers["private-token"] == TOKEN for r in server.requests)


def test_gitlab_creates_a_note_on_the_merge_request() -> None:
    """https://docs.gitlab.com/api/notes/#create-new-merge-request-note:
    POST /projects/:id/merge_requests/:merge_request_iid/notes with body."""
    with recording_server(
        lambda r: Reply(200, []) if r.method == "GET" else Reply(201, {"id": 9})
    ) as server:
        posted = post_comment(forge_for(server, ForgeKind.GITLAB), 12, BODY)

    assert (posted.id, posted.created) == (9, True)
    create = server.requests[-1]
    assert (create.method, create.target, create.json()) == (
        "POST",
        "/api/v4/projects/group%2Fsub%2Fshop/merge_requests/12/notes",
        {"body": BODY},
    )


def test_gitea_updates_the_marked_comment_with_its_token_header() -> None:
    """https://gitea.com/api/swagger#/issue/issueGetComments (every comment at once),
    #/issue/issueEditComment: PATCH /repos/{owner}/{repo}/issues/comments/{id} with
    {"body"}; #/issue/issueCreateComment: POST .../issues/{index}/comments;
    `Authorization: token <t>`."""
    listing = [comment(5, BODY, **by(ME)), comment(6, "nice"), comment(8, BODY + "new", **by(ME))]

    def answer(request: Recorded) -> Reply:
        if request.path.endswith("/user"):
            return Reply(200, {"id": ME, "login": "harmonia"})
        return Reply(200, listing) if request.method == "GET" else Reply(200, {"id": 8})

    with recording_server(answer) as server:
        posted = post_comment(forge_for(server, ForgeKind.GITEA), 3, BODY)

    assert (posted.id, posted.created) == (8, False)
    listed, who, update = server.requests
    assert (who.method, who.target) == ("GET", "/api/v1/user")
    assert (listed.method, listed.target) == ("GET", "/api/v1/repos/acme/shop/issues/3/comments")
    assert (update.method, update.path, update.json()) == (
        "PATCH",
        "/api/v1/repos/acme/shop/issues/comments/8",
        {"body": BODY},
    )
    assert all(r.headers["authorization"] == f"token {TOKEN}" for r in server.requests)


@pytest.mark.parametrize("kind", list(ForgeKind))
@pytest.mark.parametrize(
    ("status", "words"),
    [
        (401, "Bad credentials"),
        (403, "Resource not accessible by integration"),
        (422, "Validation Failed"),
    ],
)
def test_a_refusal_is_one_clear_line_naming_the_forge_and_status_and_never_the_token(
    kind: ForgeKind, status: int, words: str
) -> None:
    def answer(request: Recorded) -> Reply:
        if request.method == "GET":
            return Reply(200, [])
        return Reply(status, {"message": f"{words} for {TOKEN}"})

    with recording_server(answer) as server, pytest.raises(ForgeError) as raised:
        post_comment(forge_for(server, kind), 5, BODY)

    message = str(raised.value)
    assert raised.value.status == status
    assert message.startswith(f"{kind.display} comment on ")
    assert f"{kind.display} answered HTTP {status} to POST " in message
    assert words in message and TOKEN not in message and "\n" not in message
    assert len(server.requests) == 2  # one list, one attempt: no retries


def test_a_refused_listing_stops_at_the_first_request() -> None:
    refusing = recording_server(lambda _r: Reply(401, {"message": "Bad credentials"}))
    expected = pytest.raises(ForgeError, match=r"GitHub answered HTTP 401 to GET /repos/acme/")
    with refusing as server, expected:
        post_comment(forge_for(server, ForgeKind.GITHUB), 5, BODY)
    assert len(server.requests) == 1


def test_a_forge_that_is_down_is_named_with_its_host() -> None:
    with recording_server(lambda _r: Reply()) as server:
        forge = forge_for(server, ForgeKind.GITEA)
    # The server is closed: nothing listens on its port any more.
    with pytest.raises(ForgeError, match=r"^Gitea comment on pull request #5 failed: Gitea at "):
        post_comment(forge, 5, BODY)


def test_a_slow_forge_times_out_within_the_bound() -> None:
    def slow(_request: Recorded) -> Reply:
        time.sleep(1.5)
        return Reply(200, [])

    with recording_server(slow) as server, pytest.raises(ForgeError, match="could not be reached"):
        post_comment(forge_for(server, ForgeKind.GITHUB), 5, BODY, timeout=0.3)
    assert len(server.requests) == 1


def test_a_next_page_on_another_host_is_not_followed_with_the_token() -> None:
    def answer(request: Recorded) -> Reply:
        return Reply(200, OTHERS, {"Link": '<https://elsewhere.example/steal?page=2>; rel="next"'})

    with recording_server(answer) as server, pytest.raises(ForgeError, match="another host"):
        post_comment(forge_for(server, ForgeKind.GITHUB), 5, BODY)
    assert len(server.requests) == 1


def test_a_redirect_is_not_followed() -> None:
    redirecting = recording_server(
        lambda _r: Reply(301, None, {"Location": "http://127.0.0.1:9/x"})
    )
    with redirecting as server, pytest.raises(ForgeError, match="answered HTTP 301"):
        post_comment(forge_for(server, ForgeKind.GITHUB), 5, BODY)
    assert len(server.requests) == 1


def test_pages_are_read_up_to_a_bound_when_the_forge_never_stops_naming_a_next_one() -> None:
    def answer(request: Recorded) -> Reply:
        if request.method == "POST":
            return Reply(201, {"id": 1})
        link = f'<http://{request.headers["host"]}{request.target}>; rel="next"'
        return Reply(200, [], {"Link": link})

    with recording_server(answer) as server:
        post_comment(forge_for(server, ForgeKind.GITHUB), 5, BODY)
    assert len(server.requests) == 51  # 50 pages, then the comment


def test_a_forge_that_is_down_is_named_without_the_credentials_of_its_api_url() -> None:
    with recording_server(lambda _r: Reply()) as server:
        port = server.url.rsplit(":", 1)[1]
    forge = Forge(ForgeKind.GITEA, f"http://bot:hunter2@127.0.0.1:{port}/api/v1", "a/b", TOKEN)
    with pytest.raises(ForgeError) as raised:
        post_comment(forge, 5, BODY)
    assert f"Gitea at 127.0.0.1:{port} could not be reached" in str(raised.value)
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("kind", list(ForgeKind))
def test_a_marked_comment_pasted_by_someone_else_is_left_alone_and_ours_updated(
    kind: ForgeKind,
) -> None:
    """Anyone who may comment can paste the marker; updating their comment would put the
    diff under their name, for them to edit into a lie after the job."""
    listing = [comment(10, BODY, **by(ME)), comment(20, BODY + "trust me", **by(STRANGER))]

    def answer(request: Recorded) -> Reply:
        if request.path.endswith("/user"):
            return Reply(200, {"id": ME})
        return Reply(200, listing) if request.method == "GET" else Reply(200, {"id": 10})

    with recording_server(answer) as server:
        posted = post_comment(forge_for(server, kind), 4, BODY)

    assert (posted.id, posted.created) == (10, False)
    assert server.requests[-1].path.endswith("/10")


@pytest.mark.parametrize("kind", list(ForgeKind))
def test_only_a_strangers_marked_comment_means_a_new_comment(kind: ForgeKind) -> None:
    listing = [comment(20, BODY, **by(STRANGER))]

    def answer(request: Recorded) -> Reply:
        if request.path.endswith("/user"):
            return Reply(200, {"id": ME})
        return Reply(200, listing) if request.method == "GET" else Reply(201, {"id": 30})

    with recording_server(answer) as server:
        posted = post_comment(forge_for(server, kind), 4, BODY)

    assert (posted.id, posted.created) == (30, True)
    assert all(request.method in ("GET", "POST") for request in server.requests)


def test_with_the_actions_job_token_github_updates_only_a_bot_comment() -> None:
    """GitHub answers GET /user with 403 to the Actions job token, whose comments are
    github-actions[bot]'s (user.type Bot)."""
    listing = [comment(10, BODY, **by(41898282, "Bot")), comment(20, BODY, **by(STRANGER))]

    def answer(request: Recorded) -> Reply:
        if request.path == "/user":
            return Reply(403, {"message": "Resource not accessible by integration"})
        return Reply(200, listing) if request.method == "GET" else Reply(200, {"id": 10})

    with recording_server(answer) as server:
        posted = post_comment(forge_for(server, ForgeKind.GITHUB), 4, BODY)

    assert (posted.id, posted.created) == (10, False)
    assert (server.requests[-1].method, server.requests[-1].path) == (
        "PATCH",
        "/repos/acme/shop/issues/comments/10",
    )


def test_a_token_that_makes_an_invalid_header_is_never_in_the_error() -> None:
    """http.client's ValueError quotes the whole header; it must not escape as it is."""
    token = "ghp_first\nghp_second"
    with recording_server(lambda _r: Reply(200, [])) as server:
        forge = Forge(ForgeKind.GITHUB, server.url, "acme/shop", token)
        with pytest.raises(ForgeError) as raised:
            post_comment(forge, 5, BODY)
    assert str(raised.value).startswith("GitHub comment on pull request #5 failed: ")
    assert "ghp_" not in str(raised.value)
