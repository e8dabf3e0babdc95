"""`harmonia diff -o markdown --comment github|gitlab|gitea`: where the review is posted
(forge, API, repository, pull request, token), taken from the flags, else from what each
forge's CI puts in the environment, else from the checkout's origin remote.

The posting itself is `reconciler.notify.forge.comments`. A forge error is one line on
stderr naming the forge and the HTTP status (never the token), and exit code 4: the diff
was printed, the comment was not posted.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from reconciler.cli.options import grouped
from reconciler.notify.forge import ForgeConfigError, ForgeError, ForgeKind, repository_from_remote
from reconciler.notify.forge.comments import post_comment, pull_request_name
from reconciler.notify.forge.model import Forge, checked_token, default_api_url, read_token
from reconciler.notify.forge.repository import remote_host
from reconciler.source.git_source import describe_checkout

EXIT_COMMENT_FAILED = 4
"""The diff was made and printed; the forge did not take the comment."""
TOKEN_FILE_VARIABLE = "HARMONIA_FORGE_TOKEN_FILE"
_PULL_REF = re.compile(r"^refs/pull/([0-9]+)/(?:merge|head)$")
_TOKEN_VARIABLES = {ForgeKind.GITHUB: "GITHUB_TOKEN", ForgeKind.GITEA: "GITHUB_TOKEN"}
"""Tokens a forge's CI documents as an environment variable (GitHub Actions and Gitea
Actions hand the job's token to a step as `GITHUB_TOKEN`); GitLab has none that may
comment, so there it is a file (a CI/CD variable of type File)."""


@dataclass(frozen=True)
class CommentFlags:
    """The `--comment` flags as given (None: not given)."""

    kind: ForgeKind | None
    pull_request: int | None
    forge_url: str | None
    token_file: Path | None
    repository: str | None


comment_options = grouped(
    [
        click.option(
            "--comment",
            "kind",
            type=click.Choice([kind.value for kind in ForgeKind]),
            help="Post the Markdown review as the pull request's comment on this forge "
            "(with -o markdown), updating the one posted before. Exit 4 if the forge "
            "does not take it.",
        ),
        click.option(
            "--pull-request",
            type=click.IntRange(min=1),
            metavar="N",
            help="The pull (merge) request to comment on (default: from the CI "
            "environment: GITHUB_REF or GITHUB_EVENT_PATH, CI_MERGE_REQUEST_IID).",
        ),
        click.option(
            "--forge-url",
            metavar="URL",
            help="The forge's API base (default: GITHUB_API_URL, CI_API_V4_URL, else from "
            "the origin remote's host; https://api.github.com for github.com).",
        ),
        click.option(
            "--forge-token-file",
            "token_file",
            type=click.Path(dir_okay=False, path_type=Path),
            envvar=TOKEN_FILE_VARIABLE,
            help="File holding the forge token (default $HARMONIA_FORGE_TOKEN_FILE; on "
            "GitHub and Gitea the job's $GITHUB_TOKEN when no file is given).",
        ),
        click.option(
            "--forge-repository",
            "repository",
            metavar="OWNER/REPO",
            help="The repository on the forge (default: GITHUB_REPOSITORY, CI_PROJECT_PATH, "
            "else the origin remote's path).",
        ),
    ],
    lambda taken: (
        "comment",
        CommentFlags(
            ForgeKind(taken["kind"]) if taken["kind"] else None,
            taken["pull_request"],
            taken["forge_url"],
            taken["token_file"],
            taken["repository"],
        ),
    ),
)
"""Passes `comment: CommentFlags`."""


def pull_request_from_environment(kind: ForgeKind, env: Mapping[str, str]) -> int | None:
    """The pull request a CI job runs for: GitLab's CI_MERGE_REQUEST_IID; GitHub's and
    Gitea's GITHUB_REF (`refs/pull/N/merge`), else the event payload's number."""
    if kind is ForgeKind.GITLAB:
        iid = env.get("CI_MERGE_REQUEST_IID", "")
        return int(iid) if iid.isdigit() else None
    if found := _PULL_REF.match(env.get("GITHUB_REF", "")):
        return int(found[1])
    event_path = env.get("GITHUB_EVENT_PATH")
    if not event_path:
        return None
    try:
        event: Any = json.loads(Path(event_path).read_text())
    except (OSError, ValueError):
        return None
    number = (event.get("pull_request") or {}).get("number") if isinstance(event, dict) else None
    return number if isinstance(number, int) else None


def comment_target(flags: CommentFlags, *, output: str, path: Path) -> tuple[Forge, int] | None:
    """Where `harmonia diff` posts its review, or None without `--comment`; a usage error
    for a flag that cannot be used (checked before anything is rendered)."""
    if flags.kind is None:
        named = {
            "--pull-request": flags.pull_request,
            "--forge-url": flags.forge_url,
            "--forge-repository": flags.repository,
        }
        if given := [flag for flag, value in named.items() if value is not None]:
            raise click.UsageError(f"{', '.join(given)}: only with --comment")
        return None
    if output != "markdown":
        raise click.UsageError("--comment posts the Markdown review: give -o markdown")
    origin = describe_checkout(path).origin
    return comment_forge(flags, flags.kind, env=os.environ, origin=origin)


def comment_forge(
    flags: CommentFlags, kind: ForgeKind, *, env: Mapping[str, str], origin: str | None
) -> tuple[Forge, int]:
    """The forge to post to and the pull request, or a `click.UsageError` saying which
    flag is missing (checked before the diff is rendered)."""
    number = flags.pull_request or pull_request_from_environment(kind, env)
    if number is None:
        raise click.UsageError(
            f"--comment {kind}: give --pull-request N (not found in the CI environment)"
        )
    repository = flags.repository or env.get(
        "CI_PROJECT_PATH" if kind is ForgeKind.GITLAB else "GITHUB_REPOSITORY"
    )
    ci_api = env.get("CI_API_V4_URL" if kind is ForgeKind.GITLAB else "GITHUB_API_URL")
    try:
        if not repository:
            if origin is None:
                raise ForgeConfigError(
                    f"--comment {kind}: give --forge-repository (no origin remote)"
                )
            repository = repository_from_remote(origin, kind)
        host = remote_host(origin) if origin else None
        if kind is ForgeKind.GITEA and not (flags.forge_url or ci_api or host):
            raise ForgeConfigError(f"--comment {kind}: give --forge-url (the API base, .../api/v1)")
        api_url = flags.forge_url or ci_api or default_api_url(kind, host)
        token = _token(flags.token_file, kind, env)
    except ForgeConfigError as error:
        raise click.UsageError(str(error)) from None
    return Forge(kind, api_url.rstrip("/"), repository, token), number


def _token(token_file: Path | None, kind: ForgeKind, env: Mapping[str, str]) -> str:
    if token_file is not None:
        return read_token(token_file)
    variable = _TOKEN_VARIABLES.get(kind)
    if variable and env.get(variable, "").strip():
        return checked_token(env[variable], source=f"${variable}")
    also = f" or ${variable}" if variable else ""
    raise ForgeConfigError(
        f"--comment {kind}: give --forge-token-file (or ${TOKEN_FILE_VARIABLE}{also})"
    )


def post_or_exit(forge: Forge, number: int, markdown: str) -> None:
    """Post `markdown`; on a forge error say it in one line and exit 4."""
    try:
        posted = post_comment(forge, number, markdown)
    except ForgeError as error:
        click.echo(f"error: {error}", err=True)
        raise click.exceptions.Exit(EXIT_COMMENT_FAILED) from None
    verb = "created" if posted.created else "updated"
    click.echo(
        f"{forge.kind.display} comment {posted.id} {verb} on {pull_request_name(forge, number)}",
        err=True,
    )
