"""The rendered-manifest reader's fast node walk reads every document as PyYAML's
constructor and the JSON conversion do, and leaves to them what it does not read."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from reconciler.render.manifests.parse import (
    MAX_DEPTH,
    _documents,
    _json_object,
    _plain_documents,
)

HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"

READ_BY_THE_WALK = [
    HEAD + "data: {a: '1', b: \"two\", c: three}\n",
    HEAD + "data:\n  2: two\n  true: yes\n  ~: nothing\n  1.5: half\n  0x1F: hex\n",
    HEAD + "spec:\n  n: [0755, 0o17, 1_000, -3, +4, 1.0, .inf, -.Inf, 1e3, 190:20:30]\n",
    HEAD + "spec:\n  flags: [yes, No, on, OFF, true, False, null, ~, '']\n",
    HEAD + "spec:\n  when: 2024-05-01T10:00:00Z\n  eq: =\n  text: |\n    two\n    lines\n",
    HEAD + "spec:\n  name: &n web\n  again: *n\n  list: [*n, *n]\n",
    HEAD + "spec:\n  explicit: !!str 12\n  number: !!int '12'\n  nothing: !!null ''\n",
    HEAD + "spec: {}\n---\n---\n# only a comment\n",
    "- a\n- b\n",
    "",
]

LEFT_TO_THE_CONSTRUCTOR = [
    HEAD + "spec:\n  base: &b {x: 1, y: [a, b]}\n  again: *b\n",
    HEAD + "spec:\n  base: &b [x, y]\n  list: [*b, *b]\n",
    HEAD + "spec:\n  base: &b {x: 1}\n  merged:\n    <<: *b\n    y: 2\n",
    HEAD + "spec:\n  set: !!set {a, b}\n",
    HEAD + "spec:\n  raw: !!binary aGVsbG8=\n",
    HEAD + "spec:\n  when: !!timestamp 2024-05-01\n",
    HEAD + "spec:\n  ? [a, b]\n  : complex key\n",
    HEAD + "spec:\n  tagged: !custom value\n",
    HEAD + "spec:\n  big: " + "9" * 5000 + "\n",
    HEAD + "spec: [unclosed\n",
    HEAD + "spec: *nowhere\n",
    HEAD + "spec: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n",
]


def _constructed(chunk: str) -> str:
    documents = _documents(chunk, where="chart c", first_line=0)
    return json.dumps(
        [_json_object(d, where="chart c") if isinstance(d, dict) else d for d in documents]
    )


@pytest.mark.parametrize("chunk", READ_BY_THE_WALK)
def test_the_node_walk_reads_a_manifest_exactly_as_the_constructor_does(chunk: str) -> None:
    walked = _plain_documents(chunk)

    assert walked is not None
    # As JSON text, so True and 1, or 1.0 and 1, are told apart.
    assert json.dumps(walked) == _constructed(chunk)


@pytest.mark.parametrize("chunk", LEFT_TO_THE_CONSTRUCTOR)
def test_the_node_walk_leaves_aliased_collections_unusual_tags_and_errors_to_the_constructor(
    chunk: str,
) -> None:
    assert _plain_documents(chunk) is None


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=12),
)
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(_values, st.sampled_from(["block", "flow"]))
def test_the_node_walk_agrees_with_the_constructor_on_any_json_like_document(
    value: object, style: str
) -> None:
    chunk = yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "data": value},
        default_flow_style=style == "flow",
        allow_unicode=True,
    )

    walked = _plain_documents(chunk)

    assert walked is not None
    assert json.dumps(walked) == _constructed(chunk)
