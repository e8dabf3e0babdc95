"""Which forge, where its API is, which repository and with which token: the values every
forge request is built from, and the two errors a forge can cause.

Pure but for `load_forge`, which reads the token file once (a mounted Secret). The token
is kept out of `repr` and never enters a message (errors.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from reconciler.notify.forge.errors import ForgeConfigError
from reconciler.notify.forge.repository import remote_host, repository_from_remote

USER_AGENT = "harmonia"
"""GitHub refuses API requests without a User-Agent; the others are told the same."""
GITHUB_API_VERSION = "2022-11-28"
"""The REST API version the GitHub requests are written against (X-GitHub-Api-Version)."""


class ForgeKind(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"
    GITEA = "gitea"
    """Gitea and Forgejo: Forgejo keeps Gitea's API for statuses and comments."""

    @property
    def display(self) -> str:
        """The forge's name as messages give it."""
        return {"github": "GitHub", "gitlab": "GitLab", "gitea": "Gitea"}[self.value]


@dataclass(frozen=True)
class ForgeSettings:
    """The `forge:` section of the reconciler's configuration, as given."""

    kind: ForgeKind
    token_file: Path
    api_url: str | None = None
    """None: from the remote URL's host (api.github.com for github.com)."""
    repository: str | None = None
    """`owner/repo` (GitLab: `group/sub/repo`); None: from the remote URL."""
    link_url: str | None = None
    """Where a commit status links to; `{namespace}`, `{name}` and `{revision}` are filled."""


@dataclass(frozen=True)
class Forge:
    """A forge's API for one repository, with the token to speak to it."""

    kind: ForgeKind
    api_url: str
    """The API base without a trailing slash (`https://api.github.com`, `.../api/v4`)."""
    repository: str
    token: str = field(repr=False)

    def headers(self) -> tuple[tuple[str, str], ...]:
        """The authentication and content headers each forge documents for its REST API."""
        common = (("Content-Type", "application/json"), ("User-Agent", USER_AGENT))
        if self.kind is ForgeKind.GITHUB:
            return (
                ("Accept", "application/vnd.github+json"),
                ("Authorization", f"Bearer {self.token}"),
                ("X-GitHub-Api-Version", GITHUB_API_VERSION),
                *common,
            )
        if self.kind is ForgeKind.GITLAB:
            return (("Accept", "application/json"), ("PRIVATE-TOKEN", self.token), *common)
        return (("Accept", "application/json"), ("Authorization", f"token {self.token}"), *common)


def default_api_url(kind: ForgeKind, host: str | None) -> str:
    """The API base of `kind` on `host` (the remote URL's host): the public service's for
    GitHub and GitLab without one; Gitea has no public service to fall back on."""
    if kind is ForgeKind.GITHUB:
        if host in (None, "github.com"):
            return "https://api.github.com"
        return f"https://{host}/api/v3"  # GitHub Enterprise Server
    if kind is ForgeKind.GITLAB:
        return f"https://{host or 'gitlab.com'}/api/v4"
    if host is None:
        raise ForgeConfigError("forge.apiUrl: Gitea has no default API URL; give it")
    return f"https://{host}/api/v1"


def checked_token(token: str, *, source: str) -> str:
    """`token` without surrounding whitespace; a `ForgeConfigError` naming `source` (never
    the content) when it is empty or holds a space, a line break or a control character:
    http.client refuses such a header with an error that quotes it whole."""
    token = token.strip()
    if not token:
        raise ForgeConfigError(f"{source}: it is empty")
    if not token.isprintable() or any(character.isspace() for character in token):
        raise ForgeConfigError(
            f"{source}: it holds a space, a line break or a control character; give the token alone"
        )
    return token


def read_token(path: Path) -> str:
    """The token in `path` (surrounding whitespace dropped: files often end in a newline)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not text"
        raise ForgeConfigError(f"forge token file {path}: cannot read it ({reason})") from None
    return checked_token(text, source=f"forge token file {path}")


def load_forge(settings: ForgeSettings, *, remote_url: str) -> Forge:
    """The forge as configured, its repository and API URL defaulted from `remote_url` (the
    reconciler's repository), its token read from the file."""
    repository = settings.repository or repository_from_remote(remote_url, settings.kind)
    api_url = settings.api_url or default_api_url(settings.kind, remote_host(remote_url))
    return Forge(settings.kind, api_url.rstrip("/"), repository, read_token(settings.token_file))
