"""Git push webhooks, the pure part: is a delivery signed with our secret, what did it
push, and is that what this reconciler follows.

`hook_receiver.py` reads the secret and asks for the pass; the HTTP route in `server.py`
only hands it the request. No I/O here: headers, bodies and settings in, verdicts out.
Header names are given in lower case.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from reconciler.source import RefKind, SourceConfigError, parse_ref
from reconciler.types import JsonObject

PROVIDERS = ("github", "gitlab", "gitea", "generic")
"""The hosts a hook route is named after: `/hooks/<provider>` (gitea serves Forgejo too)."""
GENERIC_SIGNATURE = "x-harmonia-signature"

_SIGNATURE_HEADERS = {
    "github": ("x-hub-signature-256",),
    "gitlab": ("x-gitlab-token",),
    "gitea": ("x-gitea-signature", "x-forgejo-signature"),
    "generic": (GENERIC_SIGNATURE,),
}
_DELIVERY_HEADERS = {
    "github": ("x-github-delivery",),
    "gitlab": ("x-gitlab-event-uuid",),
    "gitea": ("x-gitea-delivery", "x-forgejo-delivery"),
    "generic": ("x-harmonia-delivery",),
}
_EVENT_HEADERS = {
    "github": ("x-github-event",),
    "gitlab": ("x-gitlab-event",),
    "gitea": ("x-gitea-event", "x-forgejo-event"),
    "generic": (),
}
_PUSH_EVENTS = frozenset({"push", "push hook", "tag push hook", "system hook"})
_PING_EVENTS = frozenset({"ping"})
_SCP_LIKE = re.compile(r"^(?:[^@/:\s]+@)?[^/:\s]+:(?P<path>.*)$")
_URL_KEYS = ("clone_url", "ssh_url", "git_url", "html_url", "git_http_url", "git_ssh_url")
_NAME_KEYS = ("full_name", "path_with_namespace")


def _header(headers: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, str] | None:
    """(name, value) of the first of `names` present."""
    for name in names:
        if name in headers:
            return name, headers[name]
    return None


def _same(expected: str, given: str) -> bool:
    """Constant-time equality that reveals neither content nor length (both are hashed)."""
    return hmac.compare_digest(_digest(expected), _digest(given))


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "replace")).digest()


def verify(provider: str, headers: Mapping[str, str], body: bytes, secret: str) -> str | None:
    """Why the delivery is not signed with `secret` (None when it is): GitHub and the
    generic hook send `sha256=<hex HMAC-SHA256 of the body>`, Gitea and Forgejo the bare
    hex, GitLab the secret itself as a token."""
    found = _header(headers, _SIGNATURE_HEADERS[provider])
    if found is None:
        return f"no {' or '.join(_SIGNATURE_HEADERS[provider])} header"
    name, given = found
    if provider == "gitlab":
        return None if _same(secret, given) else f"{name} does not match the secret"
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    expected = mac if provider == "gitea" else f"sha256={mac}"
    return None if _same(expected, given.strip().lower()) else f"{name} does not match the body"


def delivery_id(provider: str, headers: Mapping[str, str]) -> str | None:
    """The host's id of this delivery, by which a replayed one is known."""
    found = _header(headers, _DELIVERY_HEADERS[provider])
    if found is None:
        return None
    # Logged before the signature is checked: printable characters only, and not many.
    shown = "".join(char for char in found[1].strip()[:128] if char.isprintable())
    return shown or None


def event_kind(provider: str, headers: Mapping[str, str]) -> str:
    """`push`, `ping`, or the event's own name (the generic hook only sends pushes)."""
    found = _header(headers, _EVENT_HEADERS[provider])
    if found is None:
        return "push"
    name = found[1].strip().lower()
    if name in _PUSH_EVENTS:
        return "push"
    return "ping" if name in _PING_EVENTS else name[:64]


@dataclass(frozen=True)
class PushTarget:
    """What a push names: the repository (every path it is known by), the ref pushed, and
    the repository's default branch (for a reconciler following `HEAD`)."""

    repositories: frozenset[str]
    """Repository paths (`repository_path`); empty: any (the generic hook may omit it)."""
    ref: str | None
    """`refs/heads/<branch>` or `refs/tags/<tag>`; None: any (the generic hook)."""
    default_branch: str | None = None


def repository_path(url: str) -> str:
    """The part of a repository's URL that names it, the same for its https, ssh,
    scp-like (`git@host:org/repo.git`) and `.git`-less forms and its full name
    (`org/repo`): the path, lower case, without slashes at the ends or `.git`.

    The host is left out on purpose: a reconciler inside the cluster often fetches
    through another host name (a Service, a mirror) than the one the Git host reports."""
    text = url.strip()
    if "://" in text:
        try:
            path = urlsplit(text).path
        except ValueError:
            return ""
    elif (scp := _SCP_LIKE.match(text)) and not text.startswith(("/", "./", "../")):
        path = scp["path"]
    else:
        path = text
    return path.strip("/").removesuffix(".git").strip("/").lower()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def push_target(provider: str, payload: object) -> PushTarget:
    """The push a delivery's JSON names; ValueError, saying what is missing, otherwise.

    GitHub and Gitea put the repository under `repository`, GitLab under `project`
    (and `repository`); the generic hook sends `{"repository": URL, "ref": REF}`, both
    optional."""
    if not isinstance(payload, dict):
        raise ValueError("the payload is not a JSON object")
    if provider == "generic":
        url = payload.get("repository")
        if url is not None and not _text(url):
            raise ValueError("repository must be the repository's URL")
        ref = payload.get("ref")
        if ref is not None and not _text(ref):
            raise ValueError("ref must be a ref such as refs/heads/main")
        return PushTarget(frozenset({repository_path(url)} if url else ()), ref)
    ref = _text(payload.get("ref"))
    if ref is None:
        raise ValueError("the push names no ref")
    names: set[str] = set()
    default_branch = None
    for key in ("repository", "project"):
        described = payload.get(key)
        if not isinstance(described, dict):
            continue
        names |= _repository_names(described)
        default_branch = default_branch or _text(described.get("default_branch"))
    names.discard("")
    if not names:
        raise ValueError("the push names no repository")
    return PushTarget(frozenset(names), ref, default_branch)


def _repository_names(described: JsonObject) -> set[str]:
    values = [_text(described.get(key)) for key in (*_URL_KEYS, *_NAME_KEYS, "url", "homepage")]
    return {repository_path(value) for value in values if value}


def ignored_because(target: PushTarget, *, url: str, ref: str) -> str | None:
    """Why a push is not to what the reconciler follows (`url` at `ref`, as its settings
    say), or None when it is."""
    followed = repository_path(url)
    if target.repositories and followed not in target.repositories:
        return f"a push to another repository ({', '.join(sorted(target.repositories))})"
    if target.ref is None:
        return None
    try:
        wanted = parse_ref(ref)
    except SourceConfigError:
        return f"the reconciler's ref {ref!r} is not a valid ref"
    pushed = target.ref
    if wanted.kind is RefKind.COMMIT:
        return "the reconciler follows a fixed commit"
    if wanted.kind is RefKind.HEAD:
        default = target.default_branch
        expected = {f"refs/heads/{default}"} if default else None
        if expected is None and pushed.startswith("refs/heads/"):
            return None
    elif wanted.kind is RefKind.NAME:
        expected = {f"refs/heads/{wanted.name}", f"refs/tags/{wanted.name}"}
    else:
        expected = {str(wanted)}
    if expected is not None and pushed in expected:
        return None
    return f"a push to {pushed}, not the followed {ref}"
