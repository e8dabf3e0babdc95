"""The Git source's error vocabulary: what Git's stderr means for the reconcile loop."""

from __future__ import annotations

import pytest

from reconciler.source import (
    AuthenticationFailed,
    HostKeyRejected,
    PermanentError,
    RefNotFound,
    RemoteUnreachable,
    SourceError,
    TemporaryError,
)
from reconciler.source.errors import classify_git_stderr


@pytest.mark.parametrize(
    ("stderr", "error_class"),
    [
        ("fatal: couldn't find remote ref refs/heads/nope", RefNotFound),
        ("fatal: remote error: upload-pack: not our ref 0123abcd", RefNotFound),
        ("error: Server does not allow request for unadvertised object 0123", RefNotFound),
        (
            "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict "
            "checking.\nHost key verification failed.",
            HostKeyRejected,
        ),
        ("WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!", HostKeyRejected),
        ("git@127.0.0.1: Permission denied (publickey).", AuthenticationFailed),
        ("fatal: Authentication failed for 'https://h/r.git/'", AuthenticationFailed),
        (
            "fatal: could not read Username for 'https://h': terminal prompts disabled",
            AuthenticationFailed,
        ),
        (
            "fatal: unable to access 'https://h/r/': The requested URL returned error: 403",
            AuthenticationFailed,
        ),
        ("fatal: unable to access 'http://h:1/': Failed to connect to h port 1", RemoteUnreachable),
        ("fatal: unable to access 'https://h/': Could not resolve host: h", RemoteUnreachable),
        ("fatal: '/srv/gone.git' does not appear to be a git repository", RemoteUnreachable),
        ('Timeout: the command "git fetch" did not complete in 300 secs.', RemoteUnreachable),
        ("something nobody has seen before", RemoteUnreachable),
    ],
)
def test_git_stderr_is_classified_for_the_loop(stderr: str, error_class: type[SourceError]) -> None:
    assert classify_git_stderr(stderr) is error_class


@pytest.mark.parametrize(
    ("error_class", "temporary", "unreachable"),
    [
        (RemoteUnreachable, True, True),
        (AuthenticationFailed, True, True),
        (HostKeyRejected, True, True),
        (RefNotFound, False, False),
    ],
)
def test_every_error_says_whether_to_retry_and_whether_the_remote_was_reached(
    error_class: type[SourceError], temporary: bool, unreachable: bool
) -> None:
    error = error_class("https://***@h/r.git (branch main)", "why")

    assert (error.temporary, error.unreachable) == (temporary, unreachable)
    assert isinstance(error, TemporaryError if temporary else PermanentError)


def test_an_error_message_starts_with_its_subject_then_the_reason_then_gits_words() -> None:
    error = RemoteUnreachable("/srv/r.git (ref main)", "remote unreachable", detail=" fatal: x \n")

    assert str(error) == "/srv/r.git (ref main): remote unreachable: fatal: x"
