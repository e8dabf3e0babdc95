"""The one value every check of a repository reports: where a problem is and what to do.

Loading, the graph and the policy return `Diagnostic`s (never raise) so one run shows all.
Pure data, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from reconciler.types import JsonValue, ReleaseKey

JsonPath = tuple[str | int, ...]
"""Keys and indexes from a document's root to one of its values."""

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Position:
    """1-based line and column in a file."""

    line: int
    column: int


START = Position(1, 1)


@dataclass(frozen=True)
class Diagnostic:
    """A problem in one file. `file` is relative to the repository root (or as given)."""

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str
    severity: Severity = Severity.ERROR
    release: ReleaseKey | None = None
    """The release the file claims, when its name and namespace could be read."""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.message)

    def render(self, *, file: str | None = None) -> str:
        """One line, `file:line:col: message (json path) hint`; `file` overrides the name."""
        level = "" if self.is_error else f"{self.severity}: "
        where = f"{file or self.file}:{self.line}:{self.column}"
        return f"{where}: {level}{self.message} ({self.path}) {self.hint}"

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
            "severity": str(self.severity),
            "release": self.release,
        }


def format_json_path(path: JsonPath) -> str:
    """`$.metaInfoParams.roles[0].name`; keys that are not identifiers go in brackets."""
    parts = ["$"]
    for element in path:
        if isinstance(element, int):
            parts.append(f"[{element}]")
        elif _PLAIN_KEY.match(element):
            parts.append(f".{element}")
        else:
            parts.append("[" + repr(element) + "]")
    return "".join(parts)


@dataclass(frozen=True)
class NodeInfo:
    """Where one value of a document was written."""

    value: Position
    key: Position | None = None
    scalar: str | None = None
    """The scalar's text as written (for hints such as 'quote it')."""


@dataclass(frozen=True)
class SourceMap:
    """Positions of every value of one YAML document, by JSON path."""

    file: str
    nodes: Mapping[JsonPath, NodeInfo]

    def node(self, path: JsonPath) -> NodeInfo:
        """The node at `path`, else at its deepest known ancestor, else the file start."""
        for length in range(len(path), -1, -1):
            found = self.nodes.get(path[:length])
            if found is not None:
                return found
        return NodeInfo(START)

    def position(self, path: JsonPath, *, at_key: bool = False) -> Position:
        found = self.node(path)
        return (found.key or found.value) if at_key else found.value

    def diagnostic(
        self,
        path: JsonPath,
        message: str,
        hint: str,
        *,
        at_key: bool = False,
        at: Position | None = None,
        severity: Severity = Severity.ERROR,
    ) -> Diagnostic:
        """A problem at `path` (its key with `at_key`); `at` overrides the position."""
        where = at or self.position(path, at_key=at_key)
        return Diagnostic(
            file=self.file,
            line=where.line,
            column=where.column,
            path=format_json_path(path),
            message=message,
            hint=hint,
            severity=severity,
        )


def file_diagnostic(
    file: str,
    message: str,
    hint: str,
    *,
    at: Position = START,
    severity: Severity = Severity.ERROR,
) -> Diagnostic:
    """A problem with a file as a whole (unreadable, too large, not YAML)."""
    return Diagnostic(file, at.line, at.column, "$", message, hint, severity)
