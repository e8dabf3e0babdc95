"""The pass queue: a burst of requests becomes one pass, due once the burst is quiet or
has lasted long enough; a full pass swallows the scoped ones."""

from __future__ import annotations

from reconciler.loop.pass_queue import PassQueue, PassRequest
from reconciler.types import ReleaseKey

WEB, DB = ReleaseKey("shop/web"), ReleaseKey("shop/db")


def test_a_burst_becomes_one_pass_over_every_release_asked_for_once_it_is_quiet() -> None:
    queue = PassQueue(quiet=0.5, longest=2.0)
    queue.add(PassRequest(frozenset({WEB}), reasons=("drift",)), now=10.0)
    queue.add(PassRequest(frozenset({DB}), reasons=("sync requested",)), now=10.3)
    assert queue.due_in(10.3) == 0.5
    assert queue.take(10.5) is None
    taken = queue.take(10.8)
    assert taken == PassRequest(frozenset({WEB, DB}), reasons=("drift", "sync requested"))
    assert queue.take(11.0) is None and queue.due_in(11.0) is None


def test_a_burst_that_never_quiets_is_due_at_its_longest() -> None:
    queue = PassQueue(quiet=0.5, longest=2.0)
    for step in range(10):
        queue.add(PassRequest(frozenset({WEB}), reasons=("drift",)), now=10.0 + step * 0.4)
    assert queue.due_in(13.6) == 0.0
    assert queue.take(13.6) == PassRequest(frozenset({WEB}), reasons=("drift",))


def test_a_full_pass_swallows_scoped_ones_and_keeps_the_fetch() -> None:
    queue = PassQueue(quiet=0.5, longest=2.0)
    queue.add(PassRequest(frozenset({WEB}), reasons=("drift",)), now=0.0)
    queue.add(PassRequest(full=True, fetch=True, reasons=("push",)), now=0.1)
    queue.add(PassRequest(frozenset({DB}), reasons=("drift",)), now=0.2)
    assert queue.take(1.0) == PassRequest(full=True, fetch=True, reasons=("drift", "push"))
