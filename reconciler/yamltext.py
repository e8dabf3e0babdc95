"""YAML as people read it: block style, key order kept, multi-line strings as `|` blocks.

Used for everything Harmonia writes for humans (render output, diffs, status files).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml


class _ReadableDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as literal blocks."""


_OTHER_LINE_BREAKS = frozenset("\r\x85\u2028\u2029")
"""Characters YAML reads as line breaks besides `\n`: PyYAML writes them unescaped in
plain and single-quoted scalars, where a reader folds them into a space or `\n`."""


def _represent_string(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    """Every string is read back exactly as it was: a `|` block where PyYAML can write
    one, else its own choice (double quotes for a line with trailing spaces, which a block
    would lose); double quotes, which escape them, for the other line breaks."""
    if not _OTHER_LINE_BREAKS.isdisjoint(text):
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"')
    if "\n" in text:
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", text)


_ReadableDumper.add_representer(str, _represent_string)


def dump_yaml(document: Any) -> str:
    return yaml.dump(
        document, Dumper=_ReadableDumper, sort_keys=False, allow_unicode=True, width=100
    )


def dump_yaml_documents(documents: Iterable[Any]) -> str:
    return yaml.dump_all(
        documents, Dumper=_ReadableDumper, sort_keys=False, allow_unicode=True, width=100
    )
