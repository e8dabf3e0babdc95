"""The on-disk cache of one remote: its bare repository, one folder per commit, state.

The Git source keeps everything for a URL under `<cache root>/<cache key>/` and
uses this module for the plain file work (locking, publishing a commit's tree
atomically, remembering the last good snapshot, pruning). No Git here.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from reconciler.locations import cache_home
from reconciler.source.snapshot import Revision, Snapshot


def default_cache_root() -> Path:
    """The `git` folder of Harmonia's cache home."""
    return cache_home() / "git"


class RemoteCache:
    """The folder of one remote. Trees are written once and never modified."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.git_dir = folder / "repo.git"
        self.trees = folder / "trees"
        self.state = folder / "state"

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the remote's lock, so two processes sharing a cache never interleave."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / "lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def tree(self, commit: Revision) -> Path:
        return self.trees / commit

    def partial_tree(self, commit: Revision) -> Path:
        """An empty folder to write a commit's files into before `publish_tree`."""
        self.trees.mkdir(parents=True, exist_ok=True)
        partial = self.trees / f".partial-{commit}-{uuid.uuid4().hex[:8]}"
        partial.mkdir()
        return partial

    def publish_tree(self, partial: Path, commit: Revision) -> Path:
        """Move a complete tree into place in one rename: it exists whole or not at all."""
        final = self.tree(commit)
        try:
            partial.rename(final)
        except OSError:
            if not final.is_dir():
                raise
            remove_tree(partial)
        return final

    def touch_tree(self, commit: Revision) -> None:
        os.utime(self.tree(commit))

    def save_state(self, snapshot: Snapshot) -> None:
        """Remember the last good snapshot of a (ref, subfolder), for after a restart."""
        self.state.mkdir(parents=True, exist_ok=True)
        record = asdict(snapshot)
        record["root"] = str(snapshot.root)
        record["committed_at"] = snapshot.committed_at.isoformat()
        record["fetched_at"] = snapshot.fetched_at.isoformat()
        path = self._state_file(snapshot.ref, snapshot.subfolder)
        partial = path.with_suffix(f".{uuid.uuid4().hex[:8]}.tmp")
        partial.write_text(json.dumps(record, indent=2, sort_keys=True))
        partial.replace(path)

    def load_state(self, ref: str, subfolder: str) -> Snapshot | None:
        """The remembered snapshot, if its record is readable and its tree still there."""
        try:
            record = json.loads(self._state_file(ref, subfolder).read_text())
            snapshot = Snapshot(
                url=record["url"],
                ref=record["ref"],
                commit=Revision(record["commit"]),
                author=record["author"],
                committed_at=datetime.fromisoformat(record["committed_at"]),
                message=record["message"],
                root=Path(record["root"]),
                subfolder=record["subfolder"],
                fetched_at=datetime.fromisoformat(record["fetched_at"]),
                content_commit=record.get("content_commit"),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return snapshot if snapshot.root.is_dir() else None

    def prune_trees(self, *, keep_recent: int) -> list[Path]:
        """Remove trees no state record names, beyond the `keep_recent` newest.

        A caller may still be reading a snapshot it got earlier (a diff of two
        revisions), hence the few recent trees kept besides the remembered ones.
        """
        if not self.trees.is_dir():
            return []
        remembered = set()
        for record_file in self.state.glob("*.json"):
            try:
                remembered.add(Path(json.loads(record_file.read_text())["root"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        removed = []
        trees = []
        for path in self.trees.iterdir():
            if path.name.startswith(".partial-"):  # left by a crash; we hold the lock
                remove_tree(path)
                removed.append(path)
            elif path.is_dir():
                trees.append(path)
        trees.sort(key=lambda path: path.stat().st_mtime, reverse=True)
        for path in trees[keep_recent:]:
            if not any(root == path or path in root.parents for root in remembered):
                remove_tree(path)
                removed.append(path)
        return removed

    def _state_file(self, ref: str, subfolder: str) -> Path:
        digest = hashlib.sha256(f"{ref}\0{subfolder}".encode()).hexdigest()[:16]
        return self.state / f"{digest}.json"


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
