"""The start order of a pass: dependencies first, and releases whose inputs changed
(with what they wait on) ahead of those that only need checking."""

from __future__ import annotations

from reconciler.reconcile.schedule import StartOrder
from reconciler.types import ReleaseKey


def key(name: str) -> ReleaseKey:
    return ReleaseKey(f"ns/{name}")


def drain(order: StartOrder, room: int) -> list[list[str]]:
    """Start everything, `room` at a time, reporting each batch before the next."""
    batches = []
    while order:
        taken = order.startable(room)
        assert taken, "a release is left that can never start"
        batches.append([str(k).removeprefix("ns/") for k in taken])
        for started in taken:
            order.reported(started)
    return batches


def test_releases_start_by_name_once_their_dependencies_have_reported() -> None:
    order = StartOrder({key("a"): [], key("b"): [key("a")], key("c"): []})

    assert drain(order, 16) == [["a", "c"], ["b"]]


def test_a_changed_release_starts_before_the_unchanged_ones_freed_with_it() -> None:
    order = StartOrder({key(n): [] for n in ("a", "b", "c", "z")}, changed=[key("z")])

    assert drain(order, 2) == [["z", "a"], ["b", "c"]]


def test_what_a_changed_release_waits_on_goes_first_however_far_down() -> None:
    order = StartOrder(
        {
            key("a"): [],
            key("b"): [],
            key("m"): [key("y")],
            key("y"): [key("x")],
            key("x"): [],
            key("z"): [key("y")],
        },
        changed=[key("z")],
    )

    assert drain(order, 1) == [["x"], ["y"], ["z"], ["a"], ["b"], ["m"]]


def test_no_more_are_taken_than_there_is_room_for() -> None:
    order = StartOrder({key(n): [] for n in "abcde"})

    assert order.startable(0) == []
    assert order.startable(2) == [key("a"), key("b")]
    assert order.startable(-1) == []
    assert order.startable(9) == [key("c"), key("d"), key("e")]
    assert not order


def test_dependencies_outside_the_pass_are_not_waited_for() -> None:
    order = StartOrder({key("b"): [key("outside")]}, changed=[key("b")])

    assert drain(order, 4) == [["b"]]


def test_a_release_with_a_longer_chain_of_dependents_starts_before_the_others_freed_with_it() -> (
    None
):
    order = StartOrder(
        {
            key("a"): [],
            key("b"): [],
            key("hub"): [],
            key("head"): [],
            key("one"): [key("hub")],
            key("two"): [key("head")],
            key("three"): [key("two")],
        }
    )

    assert drain(order, 1) == [["head"], ["hub"], ["two"], ["a"], ["b"], ["one"], ["three"]]


def test_a_cycle_the_graph_let_through_leaves_its_releases_unstarted_not_the_order_stuck() -> None:
    order = StartOrder({key("a"): [key("b")], key("b"): [key("a")], key("c"): []})

    assert order.startable(4) == [key("c")]
