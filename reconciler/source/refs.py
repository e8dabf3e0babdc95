"""What to follow in a remote (branch, tag, fixed commit) and which subfolder to read.

Pure parsing and checking of user input, done before any Git command runs, so a
malformed ref or subfolder is a permanent error with no network involved.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from reconciler.source.errors import SourceConfigError

_FULL_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
# git check-ref-format's rules, plus no leading "-" (it would read as an option).
_FORBIDDEN_IN_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


class RefKind(enum.Enum):
    HEAD = "head"  # the remote's default branch
    BRANCH = "branch"
    TAG = "tag"
    COMMIT = "commit"
    NAME = "name"  # a branch of that name, else a tag (as `git clone --branch`)


@dataclass(frozen=True)
class Ref:
    kind: RefKind
    name: str

    def __str__(self) -> str:
        prefix = {RefKind.BRANCH: "refs/heads/", RefKind.TAG: "refs/tags/"}.get(self.kind, "")
        return f"{prefix}{self.name}"


def parse_ref(text: str) -> Ref:
    """Classify a ref as the user wrote it.

    `HEAD` (or empty) is the remote's default branch; `refs/heads/X` a branch;
    `refs/tags/X` a tag; a full commit SHA a fixed commit; any other valid name a
    branch, else a tag, decided at fetch time.
    """
    ref = text.strip()
    if ref in ("", "HEAD"):
        return Ref(RefKind.HEAD, "HEAD")
    if _FULL_SHA.match(ref.lower()):
        return Ref(RefKind.COMMIT, ref.lower())
    for prefix, kind in (("refs/heads/", RefKind.BRANCH), ("refs/tags/", RefKind.TAG)):
        if ref.startswith(prefix):
            return Ref(kind, _checked_ref_name(ref.removeprefix(prefix), shown=ref))
    if ref.startswith("refs/"):
        reason = "only refs/heads/... and refs/tags/... can be followed"
        raise SourceConfigError(f"ref {ref!r}", reason)
    return Ref(RefKind.NAME, _checked_ref_name(ref, shown=ref))


def _checked_ref_name(name: str, *, shown: str) -> str:
    problem = ""
    if not name:
        problem = "the name is empty"
    elif name.startswith("-"):
        problem = "a ref may not start with '-'"
    elif _FORBIDDEN_IN_REF.search(name):
        problem = "a ref may not contain spaces, control characters, ~ ^ : ? * [ \\ .. @{ or //"
    elif name == "@" or name.endswith(("/", ".", ".lock")):
        problem = "a ref may not be '@' or end with '/', '.' or '.lock'"
    elif any(part.startswith(".") for part in name.split("/")):
        problem = "no part of a ref may start with '.'"
    if problem:
        raise SourceConfigError(f"ref {shown!r}", f"not a valid Git ref: {problem}")
    return name


def normalise_subfolder(text: str) -> str:
    """A subfolder as a clean relative POSIX path ("" for the repository root).

    Refuses absolute paths and `..`, so it cannot name anything outside the
    repository; whether it exists is checked against each commit.
    """
    raw = text.strip()
    shown = f"subfolder {raw!r}"
    if "\0" in raw or "\\" in raw:
        raise SourceConfigError(shown, "a subfolder may not contain NUL or backslashes")
    path = PurePosixPath(raw)
    if path.is_absolute():
        raise SourceConfigError(shown, "a subfolder must be relative to the repository root")
    if ".." in path.parts:
        raise SourceConfigError(shown, "a subfolder may not leave the repository ('..')")
    if ".git" in path.parts:
        raise SourceConfigError(shown, "a subfolder may not be inside '.git'")
    normal = path.as_posix()
    return "" if normal == "." else normal
