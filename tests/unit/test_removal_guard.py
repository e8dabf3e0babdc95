"""The guard on removing releases whose files left Git: a large loss is withheld and
marked, a marked release stays withheld whatever the share, and `confirmRemoval` lets
a person remove any of them, the last release of a repository too."""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.apply.inventory import InventoryRecord
from reconciler.apply.removal_guard import decide_removals, withheld_message
from reconciler.types import ReleaseKey

REVISION = "0123456789abcdef0123456789abcdef01234567"


def record(name: str, *, withheld: str = "") -> InventoryRecord:
    return InventoryRecord(
        release=ReleaseKey(f"shop/{name}"),
        source="https://git.example/shop.git",
        revision="earlier",
        input_hash="sha256:x",
        entries=(),
        removal_withheld=withheld,
    )


def keys(records: tuple[InventoryRecord, ...]) -> list[str]:
    return sorted(r.release for r in records)


def test_a_loss_over_half_withholds_every_removal_and_marks_each_record() -> None:
    gone = [record(name) for name in ("web", "cache", "kafka", "zookeeper")]
    decision = decide_removals(
        gone, owned=4, confirmed=frozenset(), max_share=0.5, revision=REVISION
    )
    assert decision.remove == ()
    assert keys(decision.withheld) == keys(decision.new_marks) == keys(tuple(gone))
    reason = "the snapshot lost 4 of 4 releases (over 50%) at revision 0123456789ab"
    assert {r.removal_withheld for r in decision.withheld} == {reason}
    assert decision.summary is not None
    assert decision.summary.startswith("the snapshot lost 4 of 4 releases (over 50%)")
    assert "confirmRemoval" in decision.summary


def test_a_marked_release_stays_withheld_when_the_loss_is_small_now() -> None:
    # The next pass of the same commit: five new releases are recorded meanwhile.
    gone = [record(name, withheld="lost 4 of 4") for name in ("web", "cache", "kafka", "zk")]
    decision = decide_removals(
        gone, owned=9, confirmed=frozenset(), max_share=0.5, revision=REVISION
    )
    assert (decision.remove, decision.new_marks) == ((), ())
    assert decision.withheld == tuple(gone)
    assert decision.summary is not None and "shop/cache, shop/kafka, shop/web" in decision.summary


def test_a_small_loss_never_withheld_is_removed() -> None:
    gone = [record("web")]
    decision = decide_removals(
        gone, owned=4, confirmed=frozenset(), max_share=0.5, revision=REVISION
    )
    assert (decision.remove, decision.withheld, decision.summary) == (tuple(gone), (), None)


@pytest.mark.parametrize(
    ("owned", "confirmed", "removed", "withheld"),
    [
        (1, ["shop/only"], ["shop/only"], []),
        (4, ["shop/web", "shop/cache"], ["shop/cache", "shop/web"], ["shop/kafka"]),
        (10, ["shop/web"], ["shop/web"], ["shop/cache", "shop/kafka"]),
    ],
)
def test_confirmed_releases_go_and_leave_the_count_of_the_rest(
    owned: int, confirmed: list[str], removed: list[str], withheld: list[str]
) -> None:
    names = {name.split("/")[1] for name in (*removed, *withheld)}
    gone = [record(name, withheld="" if name == "only" else "earlier loss") for name in names]
    decision = decide_removals(
        gone,
        owned=owned,
        confirmed=frozenset(map(ReleaseKey, confirmed)),
        max_share=0.5,
        revision=REVISION,
    )
    assert (keys(decision.remove), keys(decision.withheld)) == (removed, withheld)


def test_a_confirmation_does_not_make_the_other_losses_look_small() -> None:
    # Ten releases gone, five confirmed: the other five are all that is left in question.
    gone = [record(f"r{index}") for index in range(10)]
    confirmed = frozenset(ReleaseKey(f"shop/r{index}") for index in range(5))
    decision = decide_removals(
        gone, owned=10, confirmed=confirmed, max_share=0.5, revision=REVISION
    )
    assert keys(decision.remove) == sorted(confirmed)
    assert len(decision.withheld) == 5
    assert decision.summary is not None and "lost 5 of 5 releases" in decision.summary


def test_the_withheld_message_is_the_same_on_every_pass() -> None:
    marked = record("web", withheld="the snapshot lost 4 of 4 releases (over 50%) at revision x")
    assert withheld_message(marked) == withheld_message(dataclasses.replace(marked))
    assert withheld_message(marked) == (
        "its file left Git; its removal is withheld (the snapshot lost 4 of 4 releases "
        "(over 50%) at revision x) until confirmRemoval in harmonia.yaml names shop/web"
    )
