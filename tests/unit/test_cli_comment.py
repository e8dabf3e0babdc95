"""Where `harmonia diff --comment` posts: flags, else what each forge's CI documents in the
environment, else the origin remote."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import click
import pytest

from reconciler.cli.comment import (
    CommentFlags,
    comment_forge,
    comment_target,
    pull_request_from_environment,
)
from reconciler.notify.forge import ForgeKind

NO_FLAGS = CommentFlags(None, None, None, None, None)


@pytest.mark.parametrize(
    ("kind", "env", "number"),
    [
        (ForgeKind.GITHUB, {"GITHUB_REF": "refs/pull/42/merge"}, 42),
        (ForgeKind.GITEA, {"GITHUB_REF": "refs/pull/7/head"}, 7),
        (ForgeKind.GITHUB, {"GITHUB_REF": "refs/heads/main"}, None),
        (ForgeKind.GITLAB, {"CI_MERGE_REQUEST_IID": "12"}, 12),
        (ForgeKind.GITLAB, {"GITHUB_REF": "refs/pull/42/merge"}, None),
        (ForgeKind.GITHUB, {}, None),
    ],
)
def test_the_pull_request_comes_from_the_ci_environment(
    kind: ForgeKind, env: dict[str, str], number: int | None
) -> None:
    assert pull_request_from_environment(kind, env) == number


def test_the_pull_request_comes_from_the_event_payload_when_the_ref_does_not_say(
    tmp_path: Path,
) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "pull_request": {"number": 31}}))

    env = {"GITHUB_REF": "refs/heads/feature", "GITHUB_EVENT_PATH": str(event)}
    assert pull_request_from_environment(ForgeKind.GITHUB, env) == 31


def test_github_actions_gives_repository_api_and_token() -> None:
    env = {
        "GITHUB_REF": "refs/pull/5/merge",
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_API_URL": "https://ghe.example/api/v3/",
        "GITHUB_TOKEN": "ghs_example",
    }
    forge, number = comment_forge(NO_FLAGS, ForgeKind.GITHUB, env=env, origin=None)

    assert (forge.repository, forge.api_url, forge.token, number) == (
        "acme/shop",
        "https://ghe.example/api/v3",
        "ghs_example",
        5,
    )


def test_gitlab_ci_gives_project_and_api_and_the_token_comes_from_a_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("glpat-example\n")
    env = {
        "CI_MERGE_REQUEST_IID": "3",
        "CI_PROJECT_PATH": "group/sub/shop",
        "CI_API_V4_URL": "https://gitlab.example/api/v4",
    }
    flags = CommentFlags(ForgeKind.GITLAB, None, None, token_file, None)

    forge, number = comment_forge(flags, ForgeKind.GITLAB, env=env, origin=None)

    assert (forge.repository, forge.api_url, forge.token, number) == (
        "group/sub/shop",
        "https://gitlab.example/api/v4",
        "glpat-example",
        3,
    )


def test_gitlab_takes_no_token_from_a_plain_variable() -> None:
    env = {"CI_MERGE_REQUEST_IID": "3", "CI_PROJECT_PATH": "g/shop", "GITHUB_TOKEN": "x"}
    with pytest.raises(click.UsageError, match=r"give --forge-token-file \(or \$HARMONIA_FORGE_"):
        comment_forge(NO_FLAGS, ForgeKind.GITLAB, env=env, origin=None)


def test_outside_ci_the_origin_remote_names_repository_and_api(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("t")
    flags = CommentFlags(ForgeKind.GITEA, 9, None, token_file, None)

    forge, number = comment_forge(
        flags, ForgeKind.GITEA, env={}, origin="git@codeberg.org:acme/shop.git"
    )

    assert (forge.repository, forge.api_url, number) == (
        "acme/shop",
        "https://codeberg.org/api/v1",
        9,
    )


def test_flags_win_over_the_environment(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-file")
    env = {"GITHUB_REF": "refs/pull/5/merge", "GITHUB_REPOSITORY": "a/b", "GITHUB_TOKEN": "env"}
    flags = CommentFlags(ForgeKind.GITHUB, 8, "http://127.0.0.1:1", token_file, "c/d")

    forge, number = comment_forge(flags, ForgeKind.GITHUB, env=env, origin=None)

    assert (forge.repository, forge.api_url, forge.token, number) == (
        "c/d",
        "http://127.0.0.1:1",
        "from-file",
        8,
    )


def test_without_repository_or_origin_the_flag_to_give_is_named() -> None:
    env = {"GITHUB_REF": "refs/pull/5/merge", "GITHUB_TOKEN": "t"}
    with pytest.raises(click.UsageError, match="give --forge-repository"):
        comment_forge(NO_FLAGS, ForgeKind.GITHUB, env=env, origin=None)


def test_gitea_without_an_api_url_or_origin_asks_for_the_forge_url() -> None:
    env = {"GITHUB_REF": "refs/pull/5/head", "GITHUB_REPOSITORY": "a/b", "GITHUB_TOKEN": "t"}
    with pytest.raises(click.UsageError, match=r"^--comment gitea: give --forge-url"):
        comment_forge(NO_FLAGS, ForgeKind.GITEA, env=env, origin=None)


def test_the_checkouts_origin_remote_names_the_repository_and_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("GITHUB_REPOSITORY", "GITHUB_API_URL", "HARMONIA_FORGE_TOKEN_FILE"):
        monkeypatch.delenv(variable, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    for command in (
        ["init", "--quiet"],
        ["remote", "add", "origin", "git@codeberg.org:acme/shop.git"],
    ):
        subprocess.run(["git", *command], cwd=work, check=True)
    token_file = tmp_path / "token"
    token_file.write_text("t")
    flags = CommentFlags(ForgeKind.GITEA, 9, None, token_file, None)

    target = comment_target(flags, output="markdown", path=work)

    assert target is not None
    forge, number = target
    assert (forge.repository, forge.api_url, number) == (
        "acme/shop",
        "https://codeberg.org/api/v1",
        9,
    )


def test_a_job_token_variable_holding_a_line_break_is_refused_without_showing_it() -> None:
    env = {"GITHUB_REF": "refs/pull/5/merge", "GITHUB_REPOSITORY": "a/b"}
    env["GITHUB_TOKEN"] = "ghs_first\nghs_second"
    with pytest.raises(click.UsageError) as refused:
        comment_forge(NO_FLAGS, ForgeKind.GITHUB, env=env, origin=None)
    assert str(refused.value).startswith("$GITHUB_TOKEN: ")
    assert "ghs_" not in str(refused.value)
