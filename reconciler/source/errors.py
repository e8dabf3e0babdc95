"""Why a fetch failed, in the two-way vocabulary the reconcile loop acts on.

Temporary errors are retried with backoff; permanent ones are reported until
the inputs change. The tree is drawn in the package docstring. Every message
is built from redacted URLs and scrubbed Git output only.
"""

from __future__ import annotations

import re
from typing import ClassVar


class SourceError(Exception):
    """A Git source could not produce a fresh snapshot.

    The message starts with the subject (the redacted URL and ref), then what
    went wrong, then Git's own words (scrubbed) when there are any.
    """

    temporary: ClassVar[bool] = False
    unreachable: ClassVar[bool] = False

    def __init__(self, subject: str, reason: str, *, detail: str = "") -> None:
        self.subject = subject
        self.reason = reason
        self.detail = detail.strip()
        message = f"{subject}: {reason}"
        if self.detail:
            message += f": {self.detail}"
        super().__init__(message)


class TemporaryError(SourceError):
    """Retrying the same fetch later may work."""

    temporary = True


class RemoteUnreachable(TemporaryError):
    """The remote could not be reached, or did not answer as a Git repository."""

    unreachable = True


class AuthenticationFailed(RemoteUnreachable):
    """The remote refused the credentials, or asked for some and none were given."""


class HostKeyRejected(RemoteUnreachable):
    """The SSH host key is not in the known_hosts file, or does not match it."""


class PermanentError(SourceError):
    """Retrying with the same inputs fails the same way: report and wait for a change."""


class SourceConfigError(PermanentError):
    """The source itself is malformed: URL, ref, subfolder, or a credentials file."""


class RefNotFound(PermanentError):
    """The branch, tag or commit is not on the remote."""


class SubfolderInvalid(PermanentError):
    """The subfolder is missing from the commit, or is not a folder."""


class UnsafeSymlink(PermanentError):
    """A symbolic link in the commit points outside the repository."""


# Order matters: the first pattern that matches decides. Anything unmatched is
# taken as a transport failure, since a fetch that reached a healthy remote with
# valid inputs does not fail.
_STDERR_CLASSES: tuple[tuple[re.Pattern[str], type[SourceError]], ...] = (
    (
        re.compile(
            r"couldn't find remote ref|not our ref|unadvertised object|no such remote ref",
            re.IGNORECASE,
        ),
        RefNotFound,
    ),
    (
        re.compile(
            r"host key verification failed|remote host identification has changed"
            r"|no \S+ host key is known",
            re.IGNORECASE,
        ),
        HostKeyRejected,
    ),
    (
        re.compile(
            r"authentication failed|permission denied \(|could not read (username|password)"
            r"|terminal prompts disabled|returned error: 40[13]|invalid credentials",
            re.IGNORECASE,
        ),
        AuthenticationFailed,
    ),
)


def classify_git_stderr(stderr: str) -> type[SourceError]:
    """The error class for what a failed `git fetch` printed on stderr."""
    for pattern, error_class in _STDERR_CLASSES:
        if pattern.search(stderr):
            return error_class
    return RemoteUnreachable
