"""A release's `ignoreDifferences`: fields taken out of both sides before they are compared.

Follows Argo CD's `ignoreDifferences` (group and kind, optionally name and namespace,
JSON pointers); matching is exact, without Argo's globs. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.diff.pointer import InvalidPointer, remove_pointers
from reconciler.objects import ObjectRef, ref_of
from reconciler.release_requests.model import IgnoreDifference
from reconciler.render.model import KubeObject


def rule_applies(rule: IgnoreDifference, ref: ObjectRef) -> bool:
    return (
        rule.group == ref.group
        and rule.kind == ref.kind
        and rule.name in (None, ref.name)
        and rule.namespace in (None, ref.namespace)
    )


def ignore_differences(obj: KubeObject, rules: Sequence[IgnoreDifference]) -> KubeObject:
    """`obj` without the fields the rules that apply to it name (`obj` itself if none do).

    A pointer to a field the object lacks does nothing; text that is not a JSON pointer
    raises `InvalidPointer`, naming the object.
    """
    ref = ref_of(obj)
    pointers = [
        pointer for rule in rules if rule_applies(rule, ref) for pointer in rule.json_pointers
    ]
    if not pointers:
        return obj
    try:
        return remove_pointers(obj, pointers)
    except InvalidPointer as error:
        raise InvalidPointer(f"{ref}: ignoreDifferences: {error}") from None
