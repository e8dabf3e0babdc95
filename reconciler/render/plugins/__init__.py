"""Plugins: WALM's post-render transforms of a release's objects.

Run after the chart engine (and after the outputs are taken out), before ownership
metadata. One module per plugin, `registry` to choose and order them; see docs/plugins.md.
"""

from reconciler.render.plugins.base import KEEP, UPGRADE_POLICY_ANNOTATION, PluginContext
from reconciler.render.plugins.registry import (
    KNOWN_PLUGINS,
    apply_plugins,
    effective_plugins,
    validate_plugins,
)

__all__ = [
    "KEEP",
    "KNOWN_PLUGINS",
    "UPGRADE_POLICY_ANNOTATION",
    "PluginContext",
    "apply_plugins",
    "effective_plugins",
    "validate_plugins",
]
