"""YAML for people (reconciler/yamltext.py) reads back exactly: every string, including
multi-line ones with trailing spaces and YAML's other line breaks."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from reconciler.yamltext import dump_yaml, dump_yaml_documents

STRINGS = (
    "plain",
    "two\nlines\n",
    "trailing spaces   \nnext\n",
    "\nstarts with a break",
    "  leading spaces\nline\n",
    "tab at the end\t\nline",
    "no final break\nline",
    "lines\n\n\n",
    "carriage\r\nreturn",
    "next line\x85here",
    "line\u2028separator\u2029paragraph",
    " ",
    "\n",
    "- not a list",
    "key: not a map",
    "# not a comment",
    "123",
    "true",
    "null",
    "~",
    "\ufeffbyte order mark",
)


@pytest.mark.parametrize("text", STRINGS)
def test_a_string_reads_back_exactly(text: str) -> None:
    document = {"value": text, "list": [text], text: "as a key"}
    assert yaml.safe_load(dump_yaml(document)) == document


@given(st.text())
def test_any_string_reads_back_exactly(text: str) -> None:
    document = {"data": {"value": text}, "items": [text, {"nested": text}]}
    assert yaml.safe_load(dump_yaml(document)) == document
    assert list(yaml.safe_load_all(dump_yaml_documents([document, document]))) == [document] * 2


def test_a_multi_line_string_without_trailing_spaces_is_still_a_literal_block() -> None:
    assert dump_yaml({"script": "one\ntwo\n"}) == "script: |\n  one\n  two\n"
