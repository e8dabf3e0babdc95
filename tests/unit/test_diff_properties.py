"""Properties of compare over random JSON-like objects: no diff of an object with itself,
and one changed leaf reported as exactly that leaf."""

from __future__ import annotations

import copy
import string
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from reconciler.diff import compare, normalize
from reconciler.diff.fields import same_json
from reconciler.diff.pointer import PathStep, format_pointer
from reconciler.release_requests.model import IgnoreDifference
from reconciler.render.model import KubeObject
from reconciler.types import JsonValue
from reconciler.yamltext import dump_yaml

# Short single-line text: longer text would be folded over several YAML lines.
texts = st.text(alphabet=string.ascii_letters + string.digits + " -:/~#'\"", max_size=8)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**6), max_value=10**6)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | texts
)
# Keys with "/" and "~" exercise the pointer escapes.
keys = st.text(alphabet="ab/~.", min_size=1, max_size=3)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=3),
    max_leaves=12,
)
specs = st.dictionaries(keys, values, min_size=1, max_size=4)


def widget(spec: dict[str, JsonValue]) -> KubeObject:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "ns"},
        "spec": spec,
    }


def leaf_paths(value: JsonValue, path: tuple[PathStep, ...]) -> list[tuple[PathStep, ...]]:
    if isinstance(value, dict):
        return [leaf for key, child in value.items() for leaf in leaf_paths(child, (*path, key))]
    if isinstance(value, list):
        return [leaf for i, child in enumerate(value) for leaf in leaf_paths(child, (*path, i))]
    return [path]


def one_leaf_changed(
    obj: KubeObject, data: st.DataObject
) -> tuple[tuple[PathStep, ...], KubeObject]:
    """A scalar in `obj`'s spec, and a copy of `obj` with another JSON value there."""
    leaves = leaf_paths(obj["spec"], ("spec",))
    assume(leaves)
    path = data.draw(st.sampled_from(leaves))
    changed = copy.deepcopy(obj)
    parent: Any = changed
    for step in path[:-1]:
        parent = parent[step]
    old = parent[path[-1]]
    parent[path[-1]] = data.draw(scalars.filter(lambda value: not same_json(value, old)))
    return path, changed


@given(specs)
def test_an_object_compared_with_itself_is_unchanged(spec: dict[str, JsonValue]) -> None:
    change = compare(widget(spec), widget(copy.deepcopy(spec)))
    assert change.action == "unchanged"
    assert change.diff_text is None


@given(specs)
def test_normalising_twice_is_normalising_once(spec: dict[str, JsonValue]) -> None:
    once = normalize(widget(spec))
    assert normalize(once) == once


@given(specs, st.data())
def test_one_changed_leaf_is_reported_as_exactly_that_leaf(
    spec: dict[str, JsonValue], data: st.DataObject
) -> None:
    live = widget(spec)
    path, desired = one_leaf_changed(live, data)

    change = compare(desired, live)

    assert change.action == "configured"
    assert change.changed_paths == (format_pointer(path),)
    old_lines, new_lines = dump_yaml(live).splitlines(), dump_yaml(desired).splitlines()
    assert len(old_lines) == len(new_lines)
    differing = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert len(differing) == 1
    assert change.diff_text is not None
    body = change.diff_text.splitlines()[2:]
    # Only these two lines change; among equal lines (`- null` twice) the text diff may
    # pick either one, as diff -u would.
    assert [line for line in body if line.startswith("-")] == ["-" + differing[0][0]]
    assert [line for line in body if line.startswith("+")] == ["+" + differing[0][1]]


@given(specs, st.data())
def test_ignoring_the_changed_leaf_leaves_the_object_unchanged(
    spec: dict[str, JsonValue], data: st.DataObject
) -> None:
    live = widget(spec)
    path, desired = one_leaf_changed(live, data)
    rule = IgnoreDifference(
        group="example.com", kind="Widget", json_pointers=(format_pointer(path),)
    )
    assert compare(desired, live, rules=[rule]).action == "unchanged"
