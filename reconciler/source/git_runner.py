"""Every Git command of the source rooms, run one way: in a repository opened by GitPython,
never raising for the command's own failure, its stderr scrubbed of secrets when it becomes
a message.

Used by the Git source (fetch, check out) and the status branch (commit, push). Commands
that talk to the remote run with the credentials' environment and a timeout; the others
need neither, and their failure is a temporary error (a full disk, a lock left behind).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import git

from reconciler.source.credentials import GitAuth
from reconciler.source.errors import SourceError, TemporaryError, classify_git_stderr
from reconciler.source.urls import scrub

DETAIL_LIMIT = 600
NO_SECRETS = GitAuth(env={}, secrets=())
"""For commands that hold no secret: their output is only redacted and shortened."""


@dataclass(frozen=True)
class GitRun:
    """What one Git command did: its exit status and output."""

    status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.status == 0


def run_git(
    repo: git.Repo,
    command: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> GitRun:
    """`git <command> <args>` in `repo` (`command` as Git spells it: `rev-parse`); `env`
    adds to the process's environment, `timeout` kills the command after so many seconds."""
    status, stdout, stderr = getattr(repo.git, command.replace("-", "_"))(
        *args,
        env=env,
        kill_after_timeout=timeout,
        with_extended_output=True,
        with_exceptions=False,
    )
    return GitRun(status=int(status), stdout=str(stdout), stderr=str(stderr))


def run_remote(repo: git.Repo, command: str, *args: str, auth: GitAuth, timeout: float) -> GitRun:
    """A command that talks to the remote (fetch, push), authenticated by `auth`."""
    return run_git(repo, command, *args, env=auth.env, timeout=timeout)


def local_output(
    repo: git.Repo,
    command: str,
    *args: str,
    subject: str,
    where: str,
    env: Mapping[str, str] | None = None,
) -> str:
    """The stdout of a command that needs no network; its failure is a `TemporaryError`
    naming the command and `where` it ran (`in the clone`)."""
    run = run_git(repo, command, *args, env=env)
    if not run.ok:
        detail = scrubbed_detail(run.stderr, NO_SECRETS)
        raise TemporaryError(subject, f"git {command} failed {where}", detail=detail)
    return run.stdout


def remote_error(
    run: GitRun,
    subject: str,
    reason: str,
    *,
    auth: GitAuth,
    reasons: Mapping[type[SourceError], str] | None = None,
) -> SourceError:
    """The error for a failed remote command, its class read from what Git printed;
    `reasons` words the reason per class, `reason` for the others."""
    error_class = classify_git_stderr(run.stderr)
    worded = (reasons or {}).get(error_class, reason)
    return error_class(subject, worded, detail=scrubbed_detail(run.stderr, auth))


def scrubbed_detail(stderr: str, auth: GitAuth) -> str:
    """What Git printed, for an error message: secrets scrubbed, on one line, bounded."""
    lines = [line.strip() for line in scrub(stderr, auth.secrets).splitlines() if line.strip()]
    text = "; ".join(lines)
    return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 3] + "..."
