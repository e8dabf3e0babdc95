"""sha256 as a pass takes it many times over: hashed without letting go of the GIL.

hashlib lets go of the GIL to hash 2048 bytes or more. In a pass whose other threads are
busy (render workers reading manifests, apply workers planning), taking it back waits for
their switch interval, so a digest of one rendered release cost 0.3 ms or more instead of
20 µs, on the thread every release waits for. Fed in slices under that size, the hash
runs through; between slices the other threads may still take their turn.
"""

from __future__ import annotations

import hashlib

_SLICE = 2047
"""Bytes per update: under hashlib's HASHLIB_GIL_MINSIZE (2048)."""


def sha256_hex(data: bytes) -> str:
    """`hashlib.sha256(data).hexdigest()`, with the GIL held throughout."""
    digest = hashlib.sha256()
    view = memoryview(data)
    for start in range(0, len(view), _SLICE):
        digest.update(view[start : start + _SLICE])
    return digest.hexdigest()
