"""Which plugins exist, which of them a release runs, and in what order.

The render stage calls `apply_plugins` after the chart engine and before ownership
metadata; `harmonia validate` calls `validate_plugins`. As WALM: a release's plugin
replaces the chart's default of the same name, `disable: true` removes one, the highest
`priority` runs first (ties keep the release's order, then the chart's).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

from reconciler.release_requests.model import Plugin
from reconciler.render.model import KubeObject, RenderError
from reconciler.render.plugins import (
    custom_configmap,
    custom_health_probe,
    custom_ingress,
    label_pod,
    node_selector,
)
from reconciler.render.plugins.base import Builder, PluginArgsError, PluginContext, Transform
from reconciler.types import ReleaseKey, split_release_key

BUILDERS: Mapping[str, Builder] = {
    module.NAME: module.build
    for module in (label_pod, node_selector, custom_ingress, custom_configmap, custom_health_probe)
}
KNOWN_PLUGINS = tuple(sorted(BUILDERS))


def validate_plugins(plugins: Sequence[Plugin]) -> list[str]:
    """Every problem with a release's plugins: unknown or repeated names, bad args."""
    return _built(plugins, "plugins")[1]


def effective_plugins(
    plugins: Sequence[Plugin], *, chart_default_plugins: Sequence[Plugin]
) -> tuple[Plugin, ...]:
    """The plugins that run, in the order they run."""
    merged = [*plugins, *_defaults_used(plugins, chart_default_plugins)]
    return tuple(sorted((plugin for plugin in merged if not plugin.disable), key=_by_priority))


def apply_plugins(
    objects: Sequence[KubeObject],
    plugins: Sequence[Plugin],
    *,
    chart_default_plugins: Sequence[Plugin],
    release: ReleaseKey,
) -> tuple[KubeObject, ...]:
    """The rendered objects after every plugin that runs (the same objects when none runs);
    `objects` are not changed."""
    transforms, problems = _built(plugins, "plugins")
    default_transforms, default_problems = _built(
        _defaults_used(plugins, chart_default_plugins), "chart metainfo plugins"
    )
    if problems or default_problems:
        raise RenderError("; ".join([*problems, *default_problems]))
    by_name = {**default_transforms, **transforms}
    namespace, name = split_release_key(release)
    context = PluginContext(release_name=name, release_namespace=namespace)
    running = effective_plugins(plugins, chart_default_plugins=chart_default_plugins)
    if not running:
        return tuple(objects)
    working = copy.deepcopy(list(objects))
    for plugin in running:
        try:
            working = by_name[plugin.name](working, context)
        except RenderError as error:
            raise RenderError(f"plugin {plugin.name}: {error}") from error
    return tuple(working)


def _by_priority(plugin: Plugin) -> int:
    return -plugin.priority


def _defaults_used(plugins: Sequence[Plugin], defaults: Sequence[Plugin]) -> list[Plugin]:
    named = {plugin.name for plugin in plugins}
    return [plugin for plugin in defaults if plugin.name not in named]


def _built(plugins: Sequence[Plugin], label: str) -> tuple[dict[str, Transform], list[str]]:
    """The transforms of the enabled plugins by name, and every problem found."""
    transforms: dict[str, Transform] = {}
    problems: list[str] = []
    seen: set[str] = set()
    for index, plugin in enumerate(plugins):
        where = f"{label}[{index}] {plugin.name}"
        if plugin.name in seen:
            problems.append(f"{where}: named more than once; give each plugin once")
        seen.add(plugin.name)
        builder = BUILDERS.get(plugin.name)
        if builder is None:
            problems.append(f"{where}: unknown plugin (known: {', '.join(KNOWN_PLUGINS)})")
        elif not plugin.disable:
            try:
                transforms[plugin.name] = builder(plugin.args)
            except PluginArgsError as error:
                problems.extend(f"{where}: {problem}" for problem in error.problems)
    return transforms, problems
