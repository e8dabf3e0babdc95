"""Which replica of a shard set owns a release: rendezvous (highest-random-weight) hashing
of `namespace/name` over the live holders' identities.

Pure: the shard set (shard_set.py) says who is live, the pass asks `owner_of`. Every
replica computes the same answer from the same holders; a holder joining takes about
1/(n+1) of the releases, one leaving hands over only its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping

from reconciler.types import ReleaseKey


def weight(key: ReleaseKey, holder: str) -> int:
    """The pair's random-looking weight: the first 8 bytes of SHA-256 of both, stable
    across processes and versions (Python's `hash` is salted per process)."""
    digest = hashlib.sha256(f"{holder}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def owner_of(key: ReleaseKey, holders: Collection[str]) -> str | None:
    """The holder with the highest weight for `key` (ties by name); None without holders."""
    if not holders:
        return None
    return max(sorted(holders), key=lambda holder: weight(key, holder))


def assignment(keys: Iterable[ReleaseKey], holders: Collection[str]) -> dict[ReleaseKey, str]:
    """Each key's owner among `holders` (which must not be empty)."""
    if not holders:
        raise ValueError("assignment: no live shard holder")
    return {key: str(owner_of(key, holders)) for key in keys}


def moved(before: Mapping[ReleaseKey, str], after: Mapping[ReleaseKey, str]) -> set[ReleaseKey]:
    """The keys of both whose owner changed."""
    return {key for key in before.keys() & after.keys() if before[key] != after[key]}
