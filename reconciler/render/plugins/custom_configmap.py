"""CustomConfigmap: ConfigMaps added to a release and mounted into its workloads.

A post-render plugin (WALM's CustomConfigmap). args: `configmapToAdd` (name ->
`volumeMountPath`, `items` of `configMapData` / `configMapVolumeMountsSubPath` /
`configMapMode`, and the workloads to mount into: `applyAllResources`, or `kind` plus
`resourceName`, optionally one `containerName`) adds ConfigMap
`walmplugin-<name>-<release>-cm` and mounts it; `configmapToSkipNames` /
`configmapSkipAll` mark the chart's ConfigMaps to be created once and never updated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.render.model import KubeObject, RenderError
from reconciler.render.ownership import ensure_mapping
from reconciler.render.plugins.args import DNS_LABEL, ArgsReader
from reconciler.render.plugins.base import KEEP, UPGRADE_POLICY_ANNOTATION, PluginContext, Transform
from reconciler.render.plugins.workloads import (
    POD_WORKLOAD_KINDS,
    append_items,
    containers,
    name_of,
    pod_spec,
    workloads,
)
from reconciler.types import JsonObject, JsonValue

NAME = "CustomConfigmap"
ADDED_ANNOTATIONS = {"transwarp/walmplugin.custom.configmap": "true"}
_CONFIG_MAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


@dataclass(frozen=True)
class _Item:
    data: str
    sub_path: str
    mode: int | None

    @property
    def key(self) -> str:
        """The ConfigMap key: the last part of the sub-path, as in WALM."""
        return self.sub_path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class _AddedConfigMap:
    name: str
    mount_path: str
    items: tuple[_Item, ...]
    everywhere: bool
    kind: str
    resource_name: str
    container_name: str
    where: str

    def object_name(self, context: PluginContext) -> str:
        return f"walmplugin-{self.name}-{context.release_name}-cm"

    def chooses(self, workload: KubeObject) -> bool:
        return self.everywhere or (
            workload.get("kind") == self.kind and name_of(workload) == self.resource_name
        )

    def to_object(self, context: PluginContext) -> KubeObject:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.object_name(context),
                "namespace": context.release_namespace,
                "labels": context.added_labels(),
                "annotations": dict(ADDED_ANNOTATIONS),
            },
            "data": {item.key: item.data for item in self.items},
        }

    def mount(self, workload: KubeObject, context: PluginContext) -> None:
        volume_name = self.object_name(context)
        if len(volume_name) > 63:
            raise RenderError(
                f"{self.where}: the volume name {volume_name} is longer than 63 characters; "
                "use a shorter ConfigMap name"
            )
        targets = [
            container
            for container in containers(workload)
            if not self.container_name or container.get("name") == self.container_name
        ]
        subject = f"{self.where}: {workload.get('kind')}/{name_of(workload)}"
        if self.container_name and not targets:
            raise RenderError(f"{subject} has no container {self.container_name}")
        for container in targets:
            mounts = container.get("volumeMounts")
            for mount in mounts if isinstance(mounts, list) else []:
                if isinstance(mount, dict) and mount.get("mountPath") == self.mount_path:
                    raise RenderError(
                        f"{subject}: container {container.get('name')} already mounts "
                        f"{mount.get('name')} at {self.mount_path}"
                    )
            append_items(
                container, "volumeMounts", [{"name": volume_name, "mountPath": self.mount_path}]
            )
        append_items(pod_spec(workload), "volumes", [self.volume(volume_name)])

    def volume(self, name: str) -> JsonObject:
        items: list[JsonValue] = []
        for item in self.items:
            entry: JsonObject = {"key": item.key, "path": item.sub_path}
            if item.mode is not None:
                entry["mode"] = item.mode
            items.append(entry)
        return {"name": name, "configMap": {"name": name, "items": items}}


def build(args: JsonValue) -> Transform:
    reader = ArgsReader()
    fields = reader.fields(
        args, "args", ("configmapToAdd", "configmapToSkipNames", "configmapSkipAll")
    )
    added = [
        _added(reader, name, value, where)
        for name, value, where in reader.entries(
            fields.get("configmapToAdd"), "args.configmapToAdd"
        )
    ]
    skipped = set(reader.strings(fields.get("configmapToSkipNames"), "args.configmapToSkipNames"))
    skip_all = reader.boolean(fields.get("configmapSkipAll"), "args.configmapSkipAll")
    reader.done()

    def add_config_maps(objects: list[KubeObject], context: PluginContext) -> list[KubeObject]:
        for rendered in (obj for obj in objects if obj.get("kind") == "ConfigMap"):
            if skip_all or name_of(rendered) in skipped:
                annotations = ensure_mapping(ensure_mapping(rendered, "metadata"), "annotations")
                annotations[UPGRADE_POLICY_ANNOTATION] = KEEP
        for config_map in added:
            chosen = [
                obj for obj in workloads(objects, POD_WORKLOAD_KINDS) if config_map.chooses(obj)
            ]
            if not chosen and not config_map.everywhere:
                raise RenderError(
                    f"{config_map.where}: the release renders no "
                    f"{config_map.kind}/{config_map.resource_name} to mount it into"
                )
            for workload in chosen:
                config_map.mount(workload, context)
        return [*objects, *(config_map.to_object(context) for config_map in added)]

    return add_config_maps


def _added(reader: ArgsReader, name: str, value: JsonValue, where: str) -> _AddedConfigMap:
    fields = reader.fields(
        value,
        where,
        ("applyAllResources", "kind", "resourceName", "volumeMountPath", "containerName", "items"),
    )
    if not DNS_LABEL.match(name):
        reader.problem(where, "the name must be lowercase letters, digits and '-'")
    everywhere = reader.boolean(fields.get("applyAllResources"), f"{where}.applyAllResources")
    kind = reader.string(fields.get("kind"), f"{where}.kind", required=not everywhere)
    if kind and kind not in POD_WORKLOAD_KINDS:
        reader.problem(f"{where}.kind", f"expected one of {', '.join(sorted(POD_WORKLOAD_KINDS))}")
    mount_path = reader.string(
        fields.get("volumeMountPath"), f"{where}.volumeMountPath", required=True
    )
    if mount_path and not mount_path.startswith("/"):
        reader.problem(f"{where}.volumeMountPath", f"'{mount_path}' must be an absolute path")
    items = tuple(
        _item(reader, item, item_where)
        for item, item_where in reader.listed(fields.get("items"), f"{where}.items")
    )
    if not items and isinstance(value, dict):
        reader.problem(f"{where}.items", "at least one item is required")
    keys = [item.key for item in items]
    for key in sorted({key for key in keys if keys.count(key) > 1}):
        reader.problem(f"{where}.items", f"two items end in '{key}'; each needs its own file name")
    return _AddedConfigMap(
        name=name,
        mount_path=mount_path,
        items=items,
        everywhere=everywhere,
        kind=kind,
        resource_name=reader.string(
            fields.get("resourceName"), f"{where}.resourceName", required=not everywhere
        ),
        container_name=reader.string(fields.get("containerName"), f"{where}.containerName"),
        where=where,
    )


def _item(reader: ArgsReader, value: JsonValue, where: str) -> _Item:
    fields = reader.fields(
        value, where, ("configMapData", "configMapVolumeMountsSubPath", "configMapMode")
    )
    sub_path = reader.string(
        fields.get("configMapVolumeMountsSubPath"),
        f"{where}.configMapVolumeMountsSubPath",
        required=True,
    )
    parts = sub_path.split("/")
    if sub_path and (
        sub_path.startswith("/") or ".." in parts or not _CONFIG_MAP_KEY.match(parts[-1])
    ):
        reader.problem(
            f"{where}.configMapVolumeMountsSubPath",
            f"'{sub_path}' must be a relative path without '..' ending in a file name "
            "of letters, digits, '-', '_' or '.'",
        )
    mode = reader.integer(fields.get("configMapMode"), f"{where}.configMapMode", low=0, high=0o777)
    return _Item(
        data=reader.string(fields.get("configMapData"), f"{where}.configMapData"),
        sub_path=sub_path,
        # WALM's zero value meant "not given".
        mode=mode or None,
    )
