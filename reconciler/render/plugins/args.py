"""Reading a plugin's `args` with precise messages, field names matched as WALM's Go did.

Used by every plugin's builder. Go's JSON decoding matched field names ignoring case and
took null as "not given"; both are kept, so WALM release files work unchanged. Unknown
fields, which Go ignored, are errors here: a typo must not silently do nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from reconciler.render.plugins.base import PluginArgsError
from reconciler.types import JsonObject, JsonValue

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
LABEL_NAME = re.compile(rf"^{_NAME}$")
DNS_LABEL = re.compile(rf"^{_DNS_LABEL}$")
DNS_SUBDOMAIN = re.compile(rf"^{_DNS_LABEL}(\.{_DNS_LABEL})*$")

Check = Callable[[str], str | None]


def describe(value: JsonValue) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string '{value}'"
    return "a list" if isinstance(value, list) else "a mapping"


def label_key_problem(key: str) -> str | None:
    """Why `key` is not a valid label or annotation key (`[prefix/]name`), else None."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.match(prefix)):
        return f"key '{key}': the prefix must be a DNS subdomain (e.g. example.com)"
    if not name or len(name) > 63 or not LABEL_NAME.match(name):
        return (
            f"key '{key}': the name must be 1-63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit"
        )
    return None


def label_value_problem(value: str) -> str | None:
    if value and (len(value) > 63 or not LABEL_NAME.match(value)):
        return (
            f"value '{value}' is not a label value: at most 63 letters, digits, '-', '_' "
            "or '.', starting and ending with a letter or digit"
        )
    return None


class ArgsReader:
    """Collects every problem in one pass; `done()` raises them together."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def done(self) -> None:
        if self.problems:
            raise PluginArgsError(self.problems)

    def fields(self, value: JsonValue, where: str, known: Sequence[str]) -> JsonObject:
        """`value` as a mapping keyed by the `known` spellings; null is an empty one."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(where, f"expected a mapping, got {describe(value)}")
            return {}
        spellings = {name.lower(): name for name in known}
        found: JsonObject = {}
        for key, item in value.items():
            name = spellings.get(key.lower())
            if name is None:
                self.problem(f"{where}.{key}", f"unknown field (known: {', '.join(known)})")
            elif name in found:
                self.problem(f"{where}.{key}", f"{name} is given twice")
            elif item is not None:
                found[name] = item
        return found

    def string(self, value: JsonValue, where: str, *, required: bool = False) -> str:
        if value is None or value == "":
            if required:
                self.problem(where, "is required")
            return ""
        if not isinstance(value, str):
            self.problem(where, f"expected a string, got {describe(value)}")
            return ""
        return value

    def boolean(self, value: JsonValue, where: str) -> bool:
        if value is None or isinstance(value, bool):
            return value is True
        self.problem(where, f"expected true or false, got {describe(value)}")
        return False

    def integer(self, value: JsonValue, where: str, *, low: int, high: int) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(
                where, f"expected a whole number from {low} to {high}, got {describe(value)}"
            )
            return None
        return value

    def listed(self, value: JsonValue, where: str) -> list[tuple[JsonValue, str]]:
        """The items of a list, each with its own `where`."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(where, f"expected a list, got {describe(value)}")
            return []
        return [(item, f"{where}[{index}]") for index, item in enumerate(value)]

    def entries(self, value: JsonValue, where: str) -> list[tuple[str, JsonValue, str]]:
        """The entries of a mapping sorted by key (Go's map order was random)."""
        if value is None:
            return []
        if not isinstance(value, dict):
            self.problem(where, f"expected a mapping, got {describe(value)}")
            return []
        return [(key, value[key], f"{where}.{key}") for key in sorted(value)]

    def strings(self, value: JsonValue, where: str) -> list[str]:
        return [self.string(item, item_where) for item, item_where in self.listed(value, where)]

    def string_map(
        self,
        value: JsonValue,
        where: str,
        *,
        key_check: Check | None = None,
        value_check: Check | None = None,
    ) -> dict[str, str]:
        found: dict[str, str] = {}
        for key, item, item_where in self.entries(value, where):
            if not isinstance(item, str):
                self.problem(item_where, f"expected a string, got {describe(item)}")
                continue
            for check, checked in ((key_check, key), (value_check, item)):
                message = check(checked) if check is not None else None
                if message:
                    self.problem(item_where, message)
            found[key] = item
        return found
