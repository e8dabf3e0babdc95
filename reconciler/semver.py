"""Semantic versions as charts and clusters write them, and ranges of them.

Used by the rendering stage to check a dependency's chart version against the range its
dependent's metainfo declares, and a cluster's Kubernetes version against the release
that removed an API version. Pure; no dependency beyond the standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_VERSION = re.compile(
    r"^v?(?P<numbers>\d+(?:\.\d+){0,2})"
    r"(?:-(?P<prerelease>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)


@total_ordering
@dataclass(frozen=True)
class SemVer:
    """`MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD]`, an optional leading `v`.

    Missing parts count as 0 when comparing (`6.1` == `6.1.0`); `written` remembers how
    many were given, so a range's upper bound `6.2` can cover every `6.2.x`. Build
    metadata is ignored, as SemVer says.
    """

    numbers: tuple[int, int, int]
    prerelease: tuple[int | str, ...] = ()
    written: int = 3

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return _sort_key(self) < _sort_key(other)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return _sort_key(self) == _sort_key(other)

    def __hash__(self) -> int:
        return hash(_sort_key(self))

    def covers(self, other: SemVer) -> bool:
        """Whether `other` starts with this version's written parts (`6.2` covers `6.2.7`)."""
        return not self.prerelease and other.numbers[: self.written] == self.numbers[: self.written]


_SortKey = tuple[tuple[int, int, int], int, tuple[tuple[int, int, str], ...]]


def _sort_key(version: SemVer) -> _SortKey:
    # A version without a prerelease sorts after all its prereleases; numeric identifiers
    # sort before alphanumeric ones (SemVer 2.0.0, item 11).
    identifiers = tuple(
        (0, part, "") if isinstance(part, int) else (1, 0, part) for part in version.prerelease
    )
    return version.numbers, 0 if version.prerelease else 1, identifiers


def parse_semver(text: str) -> SemVer | None:
    """The version `text` holds, or None when it is not one."""
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    numbers = [int(part) for part in match["numbers"].split(".")]
    written = len(numbers)
    numbers += [0] * (3 - written)
    prerelease = tuple(
        int(part) if part.isdigit() else part
        for part in (match["prerelease"] or "").split(".")
        if part
    )
    return SemVer((numbers[0], numbers[1], numbers[2]), prerelease, written)


def within_range(version: SemVer, *, minimum: SemVer | None, maximum: SemVer | None) -> bool:
    """Whether `minimum <= version <= maximum`; a bound of None is open.

    An upper bound written with fewer than three parts covers every version that starts
    with it (`maxVersion: "6.2"` admits 6.2.9), as people mean when they write it.
    """
    if minimum is not None and version < minimum:
        return False
    if maximum is None:
        return True
    return version <= maximum or maximum.covers(version)
