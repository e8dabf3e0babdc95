"""LabelPod: labels and annotations added to the pod templates of a release's workloads.

A post-render plugin (WALM's LabelPod). args: `labelsToAdd` and `annotationsToAdd`,
maps of strings merged into `spec.template.metadata` of Deployments, StatefulSets,
DaemonSets and Jobs (a key already there takes the plugin's value).
"""

from __future__ import annotations

from reconciler.render.model import KubeObject
from reconciler.render.ownership import ensure_mapping
from reconciler.render.plugins.args import ArgsReader, label_key_problem, label_value_problem
from reconciler.render.plugins.base import PluginContext, Transform
from reconciler.render.plugins.workloads import POD_WORKLOAD_KINDS, pod_template, workloads
from reconciler.types import JsonValue

NAME = "LabelPod"


def build(args: JsonValue) -> Transform:
    reader = ArgsReader()
    fields = reader.fields(args, "args", ("labelsToAdd", "annotationsToAdd"))
    labels = reader.string_map(
        fields.get("labelsToAdd"),
        "args.labelsToAdd",
        key_check=label_key_problem,
        value_check=label_value_problem,
    )
    annotations = reader.string_map(
        fields.get("annotationsToAdd"), "args.annotationsToAdd", key_check=label_key_problem
    )
    reader.done()

    def label_pods(objects: list[KubeObject], context: PluginContext) -> list[KubeObject]:
        for workload in workloads(objects, POD_WORKLOAD_KINDS):
            metadata = ensure_mapping(pod_template(workload), "metadata")
            for key, added in (("labels", labels), ("annotations", annotations)):
                if added:
                    ensure_mapping(metadata, key).update(added)
        return objects

    return label_pods
