"""Polling with a generous deadline: the cluster converges when it converges.

These waits bound how long a test may hang; they assert nothing about speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    probe: Callable[[], T], *, until: Callable[[T], bool], what: str, timeout: float = 180.0
) -> T:
    """Call `probe` until `until(result)` holds; fail naming `what` and the last result."""
    deadline = time.monotonic() + timeout
    last = probe()
    while not until(last):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what}; last seen: {last!r}"
            )
        time.sleep(0.5)
        last = probe()
    return last
