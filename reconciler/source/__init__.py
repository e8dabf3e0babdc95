"""The Git source: where every reconcile cycle starts (remote -> snapshot -> load -> ...).

`GitSource(url, ref=..., subfolder=...).fetch()` returns a `Snapshot`: exactly
one commit checked out in its own folder of the cache. Credentials come from
`Credentials` (flags, or `Credentials.from_env()`: HARMONIA_GIT_USERNAME,
HARMONIA_GIT_TOKEN, HARMONIA_GIT_TOKEN_FILE, HARMONIA_GIT_SSH_KEY_FILE,
HARMONIA_GIT_KNOWN_HOSTS_FILE) and never appear in a command line, the cached
repository's config, a message or a log.

Errors (all carry a message that starts with the redacted URL and ref)::

    SourceError
    ├── TemporaryError            retry with backoff
    │   └── RemoteUnreachable     the remote cannot be reached; `unreachable` is
    │       │                     True (the CLI's exit code 3)
    │       ├── AuthenticationFailed  credentials missing or refused
    │       └── HostKeyRejected       SSH host key not in the known_hosts file
    └── PermanentError            same inputs, same failure: report, wait for a change
        ├── SourceConfigError     bad URL, ref, subfolder or credentials file
        ├── RefNotFound           no such branch, tag or commit on the remote
        ├── SubfolderInvalid      the subfolder is missing or not a folder
        └── UnsafeSymlink         a link in the commit points outside it

`GitSource.fetch()` raises them only when it has never had a good snapshot;
otherwise it returns the last good one with `stale=True`, `error` (the message)
and `unreachable` set. Every `SourceError` has the class flags `temporary` and
`unreachable`.
"""

from reconciler.source.credentials import Credentials
from reconciler.source.errors import (
    AuthenticationFailed,
    HostKeyRejected,
    PermanentError,
    RefNotFound,
    RemoteUnreachable,
    SourceConfigError,
    SourceError,
    SubfolderInvalid,
    TemporaryError,
    UnsafeSymlink,
)
from reconciler.source.git_source import GitSource
from reconciler.source.refs import Ref, RefKind, parse_ref
from reconciler.source.snapshot import Revision, Snapshot
from reconciler.source.urls import cache_key, redact_url

__all__ = [
    "AuthenticationFailed",
    "Credentials",
    "GitSource",
    "HostKeyRejected",
    "PermanentError",
    "Ref",
    "RefKind",
    "RefNotFound",
    "RemoteUnreachable",
    "Revision",
    "Snapshot",
    "SourceConfigError",
    "SourceError",
    "SubfolderInvalid",
    "TemporaryError",
    "UnsafeSymlink",
    "cache_key",
    "parse_ref",
    "redact_url",
]
