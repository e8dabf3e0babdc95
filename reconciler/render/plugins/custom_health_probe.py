"""CustomHealthProbe: liveness or readiness probes removed from chosen workloads.

A post-render plugin (WALM's CustomHealthProbe), for workloads that cannot pass their
probes in some environment. args: `disableAllLivenessProbe`, `disableAllReadinessProbe`
(booleans) and `disableLivenessProbeResourceList`, `disableReadinessProbeResourceList`
(lists of `{kind, resourceName}`); it acts on Deployments and StatefulSets only, on
every container of their pod template.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.render.model import KubeObject, RenderError
from reconciler.render.plugins.args import ArgsReader
from reconciler.render.plugins.base import PluginContext, Transform
from reconciler.render.plugins.workloads import containers, name_of, workloads
from reconciler.types import JsonValue

NAME = "CustomHealthProbe"
PROBE_KINDS = frozenset({"Deployment", "StatefulSet"})


@dataclass(frozen=True)
class _ProbeChoice:
    probe: str
    """The container field removed: `livenessProbe` or `readinessProbe`."""
    everywhere: bool
    resources: tuple[tuple[str, str], ...]
    """(kind, name) pairs."""
    where: str

    def chooses(self, workload: KubeObject) -> bool:
        return self.everywhere or (str(workload.get("kind")), name_of(workload)) in self.resources


def build(args: JsonValue) -> Transform:
    reader = ArgsReader()
    fields = reader.fields(
        args,
        "args",
        (
            "disableLivenessProbeResourceList",
            "disableReadinessProbeResourceList",
            "disableAllLivenessProbe",
            "disableAllReadinessProbe",
        ),
    )
    choices = tuple(
        _ProbeChoice(
            probe=f"{probe.lower()}Probe",
            everywhere=reader.boolean(
                fields.get(f"disableAll{probe}Probe"), f"args.disableAll{probe}Probe"
            ),
            resources=_resources(
                reader,
                fields.get(f"disable{probe}ProbeResourceList"),
                f"args.disable{probe}ProbeResourceList",
            ),
            where=f"args.disable{probe}ProbeResourceList",
        )
        for probe in ("Liveness", "Readiness")
    )
    reader.done()

    def disable_probes(objects: list[KubeObject], context: PluginContext) -> list[KubeObject]:
        chosen = list(workloads(objects, PROBE_KINDS))
        present = {(str(obj.get("kind")), name_of(obj)) for obj in chosen}
        for choice in choices:
            missing = [
                f"{kind}/{name}" for kind, name in choice.resources if (kind, name) not in present
            ]
            if missing:
                raise RenderError(f"{choice.where}: the release renders no {', '.join(missing)}")
            for workload in chosen:
                if choice.chooses(workload):
                    for container in containers(workload):
                        container.pop(choice.probe, None)
        return objects

    return disable_probes


def _resources(reader: ArgsReader, value: JsonValue, where: str) -> tuple[tuple[str, str], ...]:
    found = []
    for item, item_where in reader.listed(value, where):
        fields = reader.fields(item, item_where, ("kind", "resourceName"))
        kind = reader.string(fields.get("kind"), f"{item_where}.kind", required=True)
        name = reader.string(
            fields.get("resourceName"), f"{item_where}.resourceName", required=True
        )
        if kind and kind not in PROBE_KINDS:
            reader.problem(
                f"{item_where}.kind", f"{kind}: {NAME} acts on Deployment and StatefulSet only"
            )
        found.append((kind, name))
    return tuple(found)
