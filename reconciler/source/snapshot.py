"""The snapshot: one commit of the release repository, checked out on disk.

It is what the Git source hands to the rest of the reconcile cycle (loading,
graph, render). Plain data only: no I/O here, and nothing that imports Git.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NewType

STATUS_FOLDER = "status"
"""Where Harmonia commits status files, inside the repository folder; never content."""

Revision = NewType("Revision", str)
"""A full commit SHA (40 hex digits, or 64 in a SHA-256 repository)."""


@dataclass(frozen=True)
class Snapshot:
    """Exactly one commit of a repository, with its files under `root`.

    `root` is the checked-out tree joined with the optional subfolder; it never
    changes once made, so a snapshot stays readable while a newer one is fetched.
    `stale` means the latest fetch failed and this is the last good snapshot;
    `error` then says why (credentials redacted) and `unreachable` whether the
    remote could not be reached at all (the CLI's exit code 3).
    """

    url: str
    ref: str
    commit: Revision
    author: str
    committed_at: datetime
    message: str
    root: Path
    subfolder: str
    fetched_at: datetime
    content_commit: Revision | None = None
    """The newest commit that changed the folder outside `status/`: what a pass records
    as its revision (None when unknown: then `commit`)."""
    stale: bool = False
    error: str | None = None
    unreachable: bool = False

    @property
    def revision(self) -> Revision:
        """The revision a pass records: a commit of status files alone keeps the previous."""
        return self.content_commit or self.commit

    @property
    def short_commit(self) -> str:
        return self.commit[:12]
