"""The unified YAML diff people read: live object above, desired object below.

The last step of a comparison, on normalised and masked objects. Like `kubectl diff`
(which runs `diff -u -N` on YAML files of the live and the dry-run merged object),
with headers naming the object and three lines of context. Pure and deterministic.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from reconciler.objects import ObjectRef
from reconciler.render.model import KubeObject
from reconciler.types import JsonObject, JsonValue
from reconciler.yamltext import dump_yaml


def unified_yaml_diff(
    before: KubeObject | None,
    after: KubeObject | None,
    *,
    ref: ObjectRef,
    context_lines: int = 3,
) -> str:
    """`--- live` / `+++ desired` headers, then hunks; an absent side diffs as empty."""
    if before is not None and after is not None:
        before = _in_order_of(before, after)
    old_lines = _yaml_lines(before)
    new_lines = _yaml_lines(after)
    lines = [f"--- live {ref.api_version} {ref}", f"+++ desired {ref.api_version} {ref}"]
    # autojunk off: in long objects, lines such as `protocol: TCP` are frequent enough
    # to be treated as junk, which makes the matcher report unchanged lines as changed.
    matcher = SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for group in matcher.get_grouped_opcodes(context_lines):
        first, last = group[0], group[-1]
        lines.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@")
        for tag, old_start, old_stop, new_start, new_stop in group:
            if tag == "equal":
                lines.extend(" " + line for line in old_lines[old_start:old_stop])
                continue
            lines.extend("-" + line for line in old_lines[old_start:old_stop])
            lines.extend("+" + line for line in new_lines[new_start:new_stop])
    return "\n".join(lines) + "\n"


def _yaml_lines(obj: KubeObject | None) -> list[str]:
    return [] if obj is None else dump_yaml(obj).splitlines()


def _range(start: int, stop: int) -> str:
    """A hunk range as `diff -u` writes it (1-based; an empty range names the line before)."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def _in_order_of(before: JsonObject, after: JsonObject) -> JsonObject:
    """`before` with its map keys in `after`'s order (its own keys last), recursively.

    The two sides may list keys in different orders (a rendered object against the
    server's); the text diff must not show that as a change.
    """
    keys = [key for key in after if key in before] + [key for key in before if key not in after]
    return {key: _value_in_order_of(before[key], after.get(key)) for key in keys}


def _value_in_order_of(before: JsonValue, after: JsonValue) -> JsonValue:
    if isinstance(before, dict) and isinstance(after, dict):
        return _in_order_of(before, after)
    if isinstance(before, list) and isinstance(after, list):
        return [
            _value_in_order_of(item, after[index]) if index < len(after) else item
            for index, item in enumerate(before)
        ]
    return before
