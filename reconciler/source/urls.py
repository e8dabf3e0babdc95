"""Remote URLs made safe to use and to show: credentials split out, redacted, scrubbed.

The Git source parses every URL here before Git sees it, so no secret reaches a
command line, the cached repository's config, a message or a log. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from reconciler.source.errors import SourceConfigError

REDACTED = "***"
TRANSPORTS = frozenset({"https", "http", "ssh", "git", "file"})

# scheme://userinfo@ anywhere in free text; greedy up to the last "@" before the path.
_USERINFO_IN_TEXT = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s?#'\"]*@")
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:\s]+)@)?(?P<host>[^/:\s]+):(?P<path>.*)$")


@dataclass(frozen=True)
class RemoteUrl:
    """A remote as Git will be given it (`address`, without credentials) and as shown."""

    address: str
    transport: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    had_userinfo: bool = False

    @property
    def redacted(self) -> str:
        """The address for messages: `https://***@host/...` if the URL carried credentials."""
        if not self.had_userinfo or "://" not in self.address:
            return self.address
        scheme, rest = self.address.split("://", 1)
        return f"{scheme}://{REDACTED}@{rest}"


def redact_url(url: str) -> str:
    """`url` with any userinfo replaced by `***`; anything else is left as it is."""
    return redact_text(url)


def redact_text(text: str) -> str:
    """Every `scheme://user:secret@` in `text` becomes `scheme://***@`."""
    return _USERINFO_IN_TEXT.sub(lambda match: f"{match['scheme']}{REDACTED}@", text)


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with URLs redacted and every secret value (raw or percent-encoded) masked."""
    cleaned = redact_text(text)
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for form in {secret, quote(secret, safe="")}:
            cleaned = cleaned.replace(form, REDACTED)
    return cleaned


def parse_remote_url(url: str, *, cwd: Path | None = None) -> RemoteUrl:
    """Check a remote URL and split its credentials out.

    Accepted: `https://`, `http://`, `ssh://`, `git://`, `file://`, scp-like
    `user@host:path`, and local paths (made absolute against `cwd`, since Git
    runs inside the cache). Git's `transport::address` forms (`ext::` runs a
    command) and anything starting with `-` are refused.
    """
    text = url.strip()
    shown = redact_url(text)
    if not text:
        raise SourceConfigError("<empty URL>", "the repository URL is empty")
    if text.startswith("-") or any(ch in text for ch in "\0\n\r"):
        raise SourceConfigError(shown, "not a repository URL")
    if "://" in text:
        return _parse_scheme_url(text, shown)
    if "::" in text:
        raise SourceConfigError(shown, "Git's transport::address URLs are not allowed")
    scp = _SCP_LIKE.match(text)
    if scp and not text.startswith(("/", "./", "../")):
        return RemoteUrl(address=text, transport="ssh", username=scp["user"])
    path = Path(text)
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    return RemoteUrl(address=str(PurePosixPath(path)), transport="file")


def _parse_scheme_url(text: str, shown: str) -> RemoteUrl:
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as err:
        raise SourceConfigError(shown, f"not a valid URL ({err})") from None
    scheme = parts.scheme.lower()
    if scheme not in TRANSPORTS:
        allowed = ", ".join(sorted(TRANSPORTS))
        raise SourceConfigError(shown, f"transport {scheme!r} is not allowed (use {allowed})")
    host = (parts.hostname or "").lower()
    if scheme != "file" and not host:
        raise SourceConfigError(shown, "the URL has no host")
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None:
        netloc += f":{port}"
    address = urlunsplit((scheme, netloc, parts.path, parts.query, ""))
    if scheme == "file" and not netloc:
        address = f"file://{parts.path}"
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return RemoteUrl(
        address=address,
        transport=scheme,
        username=username,
        password=password,
        had_userinfo="@" in parts.netloc,
    )


def cache_key(url: str) -> str:
    """A folder name for a remote: readable slug plus a hash of the credential-free URL.

    The same repository reached with other credentials (a rotated token) shares
    one cache; two repositories never do.
    """
    remote = parse_remote_url(url, cwd=Path("/"))
    normalised = remote.address.rstrip("/")
    digest = hashlib.sha256(normalised.encode()).hexdigest()[:16]
    readable = normalised.split("://", 1)[-1].removesuffix(".git")
    slug = re.sub(r"[^A-Za-z0-9._]+", "-", readable).strip("-.")[-48:].strip("-.")
    return f"{slug}-{digest}" if slug else digest
