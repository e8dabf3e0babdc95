"""Unpacked charts kept in the cache directory, one folder per source identity.

Fetching sources (archives in the repository, chart repositories, OCI registries)
fill an entry once; later passes find it and touch no network. An entry appears
whole or not at all (filled aside, then renamed), so concurrent resolves are safe.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

ENTRY_CONTENT = "chart"
"""The folder inside an entry that holds what was unpacked."""


def store_entry(cache_dir: Path, *, kind: str, identity: str) -> Path:
    """The entry for one source: `<cache>/charts/<kind>/<sha256 of identity>`."""
    key = hashlib.sha256(identity.encode()).hexdigest()
    return cache_dir / "charts" / kind / key


def filled_entry(entry: Path, fill: Callable[[Path], None]) -> Path:
    """`entry`, calling `fill(folder)` to create it first if it is not there yet."""
    if entry.is_dir():
        return entry
    entry.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=entry.parent))
    try:
        fill(partial)
        try:
            os.rename(partial, entry)
        except OSError:
            # Another resolve filled the same entry meanwhile; theirs is as good.
            if not entry.is_dir():
                raise
            shutil.rmtree(partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return entry


def unpacked_root(entry: Path) -> Path:
    """The chart folder in an entry: the archive's single top folder, else the content."""
    content = entry / ENTRY_CONTENT
    children = list(content.iterdir())
    if len(children) == 1 and children[0].is_dir():
        return children[0]
    return content
