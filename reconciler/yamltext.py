"""YAML as people read it: block style, key order kept, multi-line strings as `|` blocks.

Used for everything Harmonia writes for humans (render output, diffs, status files).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml


class _ReadableDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as literal blocks."""


def _represent_string(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    if "\n" in text:
        # Trailing spaces on a line make PyYAML fall back to quoting; strip them to keep blocks.
        text = "\n".join(line.rstrip() for line in text.split("\n"))
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
