"""What every plugin is: a builder that checks its `args` and returns a transform.

Shared by the plugin modules and the registry. A transform works on the copies the
registry hands it and may change them in place; it returns the objects to keep.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from reconciler.render.model import KubeObject
from reconciler.types import JsonObject, JsonValue

UPGRADE_POLICY_ANNOTATION = "harmonia.dev/upgrade-policy"
KEEP = "keep"
"""On an object a plugin "skips": apply creates it when missing and never updates it
(WALM's `helm.sh/upgrade-policy: keep`)."""

ADDED_LABELS = {"heritage": "walmplugin"}
"""Labels WALM put on the objects its plugins added (with `release: <name>`)."""


@dataclass(frozen=True)
class PluginContext:
    release_name: str
    release_namespace: str

    def added_labels(self) -> JsonObject:
        return {"release": self.release_name, **ADDED_LABELS}


Transform: TypeAlias = Callable[[list[KubeObject], PluginContext], list[KubeObject]]
Builder: TypeAlias = Callable[[JsonValue], Transform]


class PluginArgsError(Exception):
    """A plugin's args are wrong; each problem starts with the path in args."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)
