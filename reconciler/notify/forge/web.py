"""The forge's web page of a commit, which the UI's Revision column links to.

Pure. Built once from the reconciler's remote URL and its `forge:` settings (kind and
repository override), parsed as the commit statuses parse them (`repository.py`). A
forge is known by its public host (github.com, gitlab.com, codeberg.org, gitea.com) or by
`forge:`; any other remote gets no link. A link is made of the remote's host, port and
path only, never of its credentials (`https://user:token@host/...`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from reconciler.notify.forge.errors import ForgeConfigError
from reconciler.notify.forge.model import ForgeKind, ForgeSettings
from reconciler.notify.forge.repository import remote_host, repository_from_remote
from reconciler.source.errors import SourceConfigError
from reconciler.source.urls import parse_remote_url

KNOWN_FORGES = {
    "github.com": ForgeKind.GITHUB,
    "gitlab.com": ForgeKind.GITLAB,
    "codeberg.org": ForgeKind.GITEA,
    "gitea.com": ForgeKind.GITEA,
}
"""The forges told by their host alone; a self-hosted one is named by `forge.type`."""
_COMMIT = re.compile(r"[0-9a-f]{7,64}")
_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")
"""A path segment used as it is: any other character (a quote, a space, `%`) means no link
rather than one that a forge might read otherwise."""


@dataclass(frozen=True)
class CommitLinks:
    """The web address of a repository on its forge, and so of each of its commits."""

    repository_url: str
    """`https://host[:port][/prefix]/owner/repo`, no trailing slash, no credentials."""
    kind: ForgeKind

    def commit_url(self, revision: str) -> str | None:
        """The page of `revision` (a hex commit id; anything else, e.g. a hand-edited
        record's text, gets None)."""
        if not _COMMIT.fullmatch(revision):
            return None
        marker = "/-/commit/" if self.kind is ForgeKind.GITLAB else "/commit/"
        return f"{self.repository_url}{marker}{revision}"


def commit_links(remote_url: str, forge: ForgeSettings | None = None) -> CommitLinks | None:
    """The commit links of the repository at `remote_url`; None for a local path, an
    unknown forge, or a remote whose repository cannot be told."""
    host = remote_host(remote_url)
    kind = forge.kind if forge is not None else KNOWN_FORGES.get(host or "")
    if host is None or kind is None:
        return None
    try:
        from_remote: str | None = repository_from_remote(remote_url, kind)
    except ForgeConfigError:
        from_remote = None
    repository = (forge.repository if forge is not None else None) or from_remote
    if repository is None:
        return None
    origin, path = _web_origin(remote_url, host)
    # A Gitea served under a sub-path (`https://host/gitea/owner/repo.git`) keeps it.
    segments = [segment for segment in path.split("/") if segment]
    taken = len(from_remote.split("/")) if from_remote is not None else len(segments)
    prefix = segments[: len(segments) - taken]
    parts = [*prefix, *repository.strip("/").split("/")]
    if not all(_SEGMENT.fullmatch(part) for part in parts):
        return None
    return CommitLinks(f"{origin}/{'/'.join(parts)}", kind)


def _web_origin(remote_url: str, host: str) -> tuple[str, str]:
    """The web origin (`https://host`, or an http(s) remote's own scheme and port) and the
    remote's path when it is a web address too (ssh paths hold no web prefix)."""
    try:
        remote = parse_remote_url(remote_url, cwd=Path("/"))
    except SourceConfigError:
        return f"https://{host}", ""
    if remote.transport not in ("http", "https"):
        return f"https://{host}", ""
    parts = urlsplit(remote.address)  # the address holds no credentials
    return f"{remote.transport}://{parts.netloc}", parts.path
