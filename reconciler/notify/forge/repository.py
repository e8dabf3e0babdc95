"""The forge repository a Git remote URL names: `owner/repo`, or a GitLab project path
with its subgroups (`group/sub/repo`).

Pure. https, ssh:// and scp-like (`git@host:owner/repo.git`) remotes, with or without
`.git`; credentials in the URL are never carried into a message.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from reconciler.notify.forge.errors import ForgeConfigError
from reconciler.source.errors import SourceConfigError
from reconciler.source.urls import parse_remote_url, redact_url

_LOCAL = "file"


def _host_and_path(url: str) -> tuple[str | None, str]:
    try:
        remote = parse_remote_url(url, cwd=Path("/"))
    except SourceConfigError as error:
        raise ForgeConfigError(f"forge: {error}") from None
    if remote.transport == _LOCAL:
        return None, remote.address.removeprefix("file://")
    if "://" in remote.address:
        parts = urlsplit(remote.address)
        return parts.hostname, parts.path
    host, _, path = remote.address.rpartition("@")[2].partition(":")
    return host.lower(), path


def remote_host(url: str) -> str | None:
    """The host of a remote URL (None for a local path or a URL that does not parse)."""
    try:
        return _host_and_path(url)[0]
    except ForgeConfigError:
        return None


def repository_from_remote(url: str, kind: str) -> str:
    """`owner/repo` of a GitHub or Gitea remote (its last two path segments, so a Gitea
    served under a sub-path works too); the whole project path of a GitLab remote."""
    host, path = _host_and_path(url)
    segments = [segment for segment in path.split("/") if segment]
    if segments:
        segments[-1] = segments[-1].removesuffix(".git")
    if host is None or len(segments) < 2 or not segments[-1]:
        raise ForgeConfigError(
            f"forge: cannot tell the repository from the remote URL {redact_url(url)}; "
            "set forge.repository (owner/repo)"
        )
    return "/".join(segments if kind == "gitlab" else segments[-2:])
