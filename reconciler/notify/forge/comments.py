"""`harmonia diff --comment`: the pull request's one Harmonia comment, updated in place.

The requests are built as values (each forge's documented endpoints), then sent one by
one through `http.exchange`: list the comments page by page (GitHub and Gitea: the `Link`
header; GitLab: `X-Next-Page`), update the newest one that starts with the marker and was
written by the token's user (`ours`), or create one. Synchronous: the CLI waits for it.
One attempt per request, no retries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from reconciler.notify.forge.errors import ForgeError
from reconciler.notify.forge.http import TIMEOUT_SECONDS, Answer, exchange
from reconciler.notify.forge.model import Forge, ForgeKind
from reconciler.notify.model import Delivery
from reconciler.review.renderers import COMMENT_MARKER

PAGE_SIZE = 100
MAX_PAGES = 50
"""Pages of comments read at most: a pull request with more gets a new comment."""
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass(frozen=True)
class PostedComment:
    """What `post_comment` did."""

    id: int
    created: bool
    """True: a new comment; False: the marked one was updated."""


def pull_request_name(forge: Forge, number: int) -> str:
    return (
        f"merge request !{number}" if forge.kind is ForgeKind.GITLAB else f"pull request #{number}"
    )


def _project(forge: Forge) -> str:
    return f"{forge.api_url}/projects/{quote(forge.repository, safe='')}"


def _issues(forge: Forge) -> str:
    return f"{forge.api_url}/repos/{forge.repository}/issues"


def _request(forge: Forge, method: str, url: str, body: str | None = None) -> Delivery:
    payload = json.dumps({"body": body}).encode() if body is not None else b""
    return Delivery(forge.kind.value, method, url, forge.headers(), payload, f"{method} {url}")


def list_request(forge: Forge, number: int) -> Delivery:
    """The first page of the pull request's comments (GitLab: the merge request's notes)."""
    if forge.kind is ForgeKind.GITLAB:
        url = f"{_project(forge)}/merge_requests/{number}/notes?per_page={PAGE_SIZE}"
    elif forge.kind is ForgeKind.GITHUB:
        url = f"{_issues(forge)}/{number}/comments?per_page={PAGE_SIZE}"
    else:  # Gitea answers every comment at once
        url = f"{_issues(forge)}/{number}/comments"
    return _request(forge, "GET", url)


def create_request(forge: Forge, number: int, body: str) -> Delivery:
    if forge.kind is ForgeKind.GITLAB:
        return _request(forge, "POST", f"{_project(forge)}/merge_requests/{number}/notes", body)
    url = f"{_issues(forge)}/{number}/comments"
    return _request(forge, "POST", url, body)


def update_request(forge: Forge, number: int, comment_id: int, body: str) -> Delivery:
    if forge.kind is ForgeKind.GITLAB:
        url = f"{_project(forge)}/merge_requests/{number}/notes/{comment_id}"
        return _request(forge, "PUT", url, body)
    url = f"{_issues(forge)}/comments/{comment_id}"
    return _request(forge, "PATCH", url, body)


def next_page_url(forge: Forge, answer: Answer, url: str) -> str | None:
    """The next page's URL, or None on the last page. It must be on the API's own host:
    the token goes with it."""
    if forge.kind is ForgeKind.GITLAB:
        page = answer.headers.get("x-next-page", "").strip()
        if not page:
            return None
        parts = urlsplit(url)
        query = [(key, value) for key, value in parse_qsl(parts.query) if key != "page"]
        following = urlunsplit(parts._replace(query=urlencode([*query, ("page", page)])))
    else:
        found = _NEXT_LINK.search(answer.headers.get("link", ""))
        if found is None:
            return None
        following = found[1]
    api = urlsplit(forge.api_url)
    if urlsplit(following)[:2] != (api.scheme, api.netloc):
        raise ForgeError(
            f"{forge.kind.display} put the next page of comments on another host "
            f"({urlsplit(following).netloc}); not following it with the token"
        )
    return following


@dataclass(frozen=True)
class MarkedComment:
    """A comment whose body starts with the marker, and who wrote it."""

    id: int
    author: int | None
    """The author's user id (GitHub and Gitea: `user.id`; GitLab: `author.id`)."""
    bot: bool
    """GitHub's `user.type` is `Bot` (the Actions job token writes as github-actions[bot])."""


def marked_comments(comments: Sequence[object]) -> list[MarkedComment]:
    """The comments whose body starts with the marker (GitLab's system notes never do)."""
    found = []
    for item in comments:
        if not isinstance(item, dict) or not isinstance(item.get("id"), int):
            continue
        if item.get("system") or not str(item.get("body") or "").lstrip().startswith(
            COMMENT_MARKER
        ):
            continue
        user = item.get("user") or item.get("author")
        author = user.get("id") if isinstance(user, dict) else None
        bot = isinstance(user, dict) and user.get("type") == "Bot"
        found.append(MarkedComment(item["id"], author if isinstance(author, int) else None, bot))
    return found


def identity_request(forge: Forge) -> Delivery:
    """Who the token is: GET /user on all three (GitHub: docs.github.com/en/rest/users/
    users#get-the-authenticated-user; GitLab: docs.gitlab.com/api/users/#get-the-current-
    user; Gitea: /api/swagger#/user/userGetCurrent)."""
    return _request(forge, "GET", f"{forge.api_url}/user")


def _token_user(forge: Forge, subject: str, timeout: float) -> int | None:
    """The token's user id; None when the forge will not say (GitHub answers 403 to the
    Actions job token)."""
    try:
        answer = exchange(identity_request(forge), forge=forge, subject=subject, timeout=timeout)
        me = answer.json()
    except ForgeError as error:
        if error.status in (401, 403, 404):
            return None
        raise
    except ValueError:
        return None
    user_id = me.get("id") if isinstance(me, dict) else None
    return user_id if isinstance(user_id, int) else None


def ours(comments: Sequence[MarkedComment], forge: Forge, me: int | None) -> list[int]:
    """The ids of the marked comments the token wrote: anyone may paste the marker into a
    comment, and updating theirs would put the diff under their name, for them to edit.
    When the forge will not say who the token is, GitHub's bot comments are taken (the
    Actions job token's), on the other forges none (a new comment is created)."""
    if me is not None:
        return [comment.id for comment in comments if comment.author == me]
    if forge.kind is ForgeKind.GITHUB:
        return [comment.id for comment in comments if comment.bot]
    return []


def post_comment(
    forge: Forge, number: int, body: str, *, timeout: float = TIMEOUT_SECONDS
) -> PostedComment:
    """Update the pull request's marked comment written by the token's user with `body`,
    or create it."""
    subject = f"{forge.kind.display} comment on {pull_request_name(forge, number)}"
    marked: list[MarkedComment] = []
    url: str | None = list_request(forge, number).url
    pages = 0
    while url is not None and pages < MAX_PAGES:
        answer = exchange(
            _request(forge, "GET", url), forge=forge, subject=subject, timeout=timeout
        )
        try:
            page = answer.json()
            if not isinstance(page, list):
                raise ValueError("not a list")
            url = next_page_url(forge, answer, url)
        except (ValueError, ForgeError) as error:
            why = error if isinstance(error, ForgeError) else "it did not answer a list of comments"
            raise ForgeError(f"{subject} failed: {why}") from None
        marked += marked_comments(page)
        pages += 1
    mine = ours(marked, forge, _token_user(forge, subject, timeout)) if marked else []
    if mine:
        found = max(mine)  # the newest, should an older job have left several
        exchange(
            update_request(forge, number, found, body),
            forge=forge,
            subject=subject,
            timeout=timeout,
        )
        return PostedComment(found, created=False)
    answer = exchange(
        create_request(forge, number, body), forge=forge, subject=subject, timeout=timeout
    )
    try:
        created = answer.json()
    except ValueError:
        created = None
    comment_id = created.get("id") if isinstance(created, dict) else None
    return PostedComment(comment_id if isinstance(comment_id, int) else 0, created=True)
