"""JSON entries under one folder, one file per key: the store behind the render cache and
the release-document cache. A bottom-layer helper: keys are hashes the caller computes.

An entry is written aside and renamed over its name, so concurrent writers (threads,
processes, CronJob runs sharing a volume) never leave a torn file; an entry that cannot
be read (or decoded) is a miss, and one that cannot be written is skipped: never an
error.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class JsonStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str, decode: Callable[[Any], T]) -> T | None:
        """`decode` of the value stored under `key`, or None when there is none, or it is
        not JSON, or not of the shape `decode` expects (it raised KeyError, IndexError,
        TypeError or ValueError reading it)."""
        try:
            return decode(json.loads(self._path(key).read_bytes()))
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            return None

    def put(self, key: str, value: object) -> None:
        """Written under a name no other writer (process or thread) uses, then renamed
        over the entry: readers see the old file, the new one, or none. A folder that
        cannot be written (read-only, or a file in its place) stores nothing: a cache
        costs time when it fails, never the pass."""
        path = self._path(key)
        text = json.dumps(value)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(
                dir=path.parent, prefix=f".{key}.", suffix=".tmp"
            )
        except OSError:
            return
        try:
            with os.fdopen(descriptor, "w") as written:
                written.write(text)
            os.replace(temporary, path)
        except BaseException as error:
            Path(temporary).unlink(missing_ok=True)
            if not isinstance(error, OSError):
                raise
