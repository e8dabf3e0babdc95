"""The virtual file layout Jsonnet charts are evaluated in: the chart's files and the
declared library folders, nothing else. An import that leaves it is refused.

Part of the Jsonnet engines (plain and WALM layouts) of the rendering stage.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath


class LayoutError(Exception):
    """A path does not name a file of the layout; the message says why."""


@dataclass(frozen=True)
class LayoutFile:
    """One file of a virtual layout: a real file, or content made for the layout."""

    display: str
    """How messages name it: its path in the chart or in its library folder."""
    source: Path | None = None
    content: bytes = b""

    def read(self) -> bytes:
        return self.source.read_bytes() if self.source is not None else self.content


@dataclass(frozen=True)
class Mount:
    """Files placed at virtual paths, and the links refused there."""

    files: Mapping[str, LayoutFile]
    refused: Mapping[str, str] = field(default_factory=dict)
    """Virtual path of a link leading out of its folder -> why it is refused."""


def mount_folder(
    source: Path,
    *,
    at: str,
    display: str,
    owner: str,
    within: Path | None = None,
    skip_prefixes: tuple[str, ...] = (),
) -> Mount:
    """Every file under `source` at `at` + its relative path (nothing if it is absent).

    A link is followed only while it stays in `within` (default `source`); `display`
    prefixes relative paths in messages, `owner` names the folder ("the chart").
    """
    files: dict[str, LayoutFile] = {}
    refused: dict[str, str] = {}
    boundary = (within or source).resolve()

    def visit(folder: Path, relative: str, walked: frozenset[Path]) -> None:
        for entry in sorted(folder.iterdir(), key=lambda path: path.name):
            path = relative + entry.name
            if path.startswith(skip_prefixes):
                continue
            try:
                real = entry.resolve()
            except RuntimeError:  # a link loop: nothing to read there
                continue
            if not real.is_relative_to(boundary):
                refused[at + path] = f"{display}{path} is a symbolic link leading outside {owner}"
            elif real.is_dir() and real not in walked:
                visit(entry, path + "/", walked | {real})
            elif real.is_file():
                files[at + path] = LayoutFile(display=display + path, source=real)

    if not source.is_dir():
        return Mount(files, refused)
    if not source.resolve().is_relative_to(boundary):
        # Refused before it is listed: not even the names behind the link are read.
        refused[at.rstrip("/")] = (
            f"{display.rstrip('/')} is a symbolic link leading outside {owner}"
        )
    else:
        visit(source, "", frozenset({source.resolve()}))
    return Mount(files, refused)


@dataclass(frozen=True)
class VirtualLayout:
    """The files a chart's Jsonnet may read, by virtual POSIX path."""

    files: Mapping[str, LayoutFile]
    refused: Mapping[str, str]
    search_dirs: tuple[str, ...] = ()
    """Virtual folders tried, in order, when a path is not found beside the importing file."""

    @classmethod
    def of(cls, *mounts: Mount, search_dirs: tuple[str, ...] = ()) -> VirtualLayout:
        """The mounts together; where two place something at one path, the first wins."""
        files: dict[str, LayoutFile] = {}
        refused: dict[str, str] = {}
        for mount in mounts:
            for path, file in mount.files.items():
                files.setdefault(path, file)
            for path, reason in mount.refused.items():
                refused.setdefault(path, reason)
        return cls(files, refused, search_dirs)

    def locate(self, wanted: str, *, base: str = "") -> str:
        """The virtual path of the file `wanted` names from folder `base`."""
        if PurePosixPath(wanted).is_absolute():
            raise LayoutError("an absolute path; paths stay inside the chart and its libraries")
        direct = posixpath.normpath(posixpath.join(base, wanted))
        if direct == ".." or direct.startswith("../"):
            raise LayoutError("it leads outside the chart and its library folders")
        searched = ((folder, posixpath.normpath(folder + wanted)) for folder in self.search_dirs)
        candidates = [direct, *(path for folder, path in searched if path.startswith(folder))]
        for candidate in candidates:
            if candidate in self.files:
                return candidate
        for candidate in candidates:
            parts = candidate.split("/")
            for end in range(len(parts), 0, -1):
                reason = self.refused.get("/".join(parts[:end]))
                if reason is not None:
                    raise LayoutError(reason)
        raise LayoutError("no such file in the chart or its library folders")
