"""WALM's dry-run resource estimate: what the rendered workloads of releases will request.

Read from rendered objects (after plugins), for `harmonia plan --resources` and the
pull-request comment: per workload the pods, the CPU (cores) and memory (MiB) each pod
requests and is limited to, and the storage each pod claims (GiB, class); per release
and in total. Pure.

About 400 lines: one WALM report, each workload kind's pod count and claims beside the
sums that use them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from reconciler.quantity import NotAQuantity
from reconciler.quantity import parse_quantity as read_quantity
from reconciler.render.model import KubeObject, RenderError
from reconciler.render.ownership import object_label
from reconciler.types import JsonObject, JsonValue, ReleaseKey

MIB = 2**20
GIB = 2**30
_LARGEST_EXPONENT = 30
"""A quantity of `1e31` or more is no resource; its exact value is not worth computing
(`1e999999999` would take minutes)."""
_POD_SOURCES = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
)
TABLE_HEADER = (
    "RELEASE",
    "KIND",
    "NAME",
    "PODS",
    "CPU REQ",
    "CPU LIM",
    "MEM REQ (MiB)",
    "MEM LIM (MiB)",
    "STORAGE (GiB)",
)


def parse_quantity(value: JsonValue, *, where: str) -> Fraction:
    """A Kubernetes quantity ("500m", "1.5Gi", "1e3", 2) as an exact number, read as the
    API server reads it."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RenderError(f"{where}: expected a quantity such as 500m or 1Gi, got {value!r}")
    try:
        quantity = read_quantity(repr(value) if isinstance(value, float) else str(value))
    except NotAQuantity:
        raise RenderError(
            f"{where}: '{value}' is not a Kubernetes quantity (e.g. 500m, 1Gi)"
        ) from None
    if quantity.exponent > _LARGEST_EXPONENT:
        raise RenderError(f"{where}: '{value}' is larger than any resource (e.g. 500m, 1Gi)")
    return quantity.value


def _rounded_up(value: Fraction) -> float:
    """Up to the thousandth: an estimate may overstate a little, never understate."""
    return math.ceil(value * 1000) / 1000


@dataclass(frozen=True)
class PodResources:
    cpu_cores: float = 0.0
    memory_mib: float = 0.0

    def to_json(self) -> JsonObject:
        return {"cpuCores": self.cpu_cores, "memoryMiB": self.memory_mib}


@dataclass(frozen=True)
class ClaimEstimate:
    """A claim template (one per pod) or a PersistentVolumeClaim of the release."""

    name: str
    size_gib: float
    storage_class: str | None = None
    """None: the cluster's default StorageClass."""

    def to_json(self) -> JsonObject:
        return {"name": self.name, "sizeGiB": self.size_gib, "storageClass": self.storage_class}

    def cell(self) -> str:
        return f"{self.name} {self.size_gib:g} ({self.storage_class or 'default class'})"


@dataclass(frozen=True)
class Totals:
    requests: PodResources = PodResources()
    limits: PodResources = PodResources()
    storage_gib: float = 0.0

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            requests=_sum_resources(self.requests, other.requests, 1),
            limits=_sum_resources(self.limits, other.limits, 1),
            storage_gib=round(self.storage_gib + other.storage_gib, 3),
        )

    def to_json(self) -> JsonObject:
        return {
            "requests": self.requests.to_json(),
            "limits": self.limits.to_json(),
            "storageGiB": self.storage_gib,
        }


def _sum_resources(base: PodResources, added: PodResources, times: int) -> PodResources:
    return PodResources(
        cpu_cores=round(base.cpu_cores + added.cpu_cores * times, 3),
        memory_mib=round(base.memory_mib + added.memory_mib * times, 3),
    )


@dataclass(frozen=True)
class WorkloadEstimate:
    """One workload; `requests`, `limits` and `claims` are per pod."""

    kind: str
    namespace: str
    name: str
    pods: int
    """Replicas; a Job's pods running at once; 1 for a Pod, and for a DaemonSet per node."""
    per_node: bool
    requests: PodResources
    limits: PodResources
    claims: tuple[ClaimEstimate, ...] = ()

    @property
    def totals(self) -> Totals:
        storage = sum(claim.size_gib for claim in self.claims) * self.pods
        return Totals(
            requests=_sum_resources(PodResources(), self.requests, self.pods),
            limits=_sum_resources(PodResources(), self.limits, self.pods),
            storage_gib=round(storage, 3),
        )

    def to_json(self) -> JsonObject:
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "pods": self.pods,
            "perNode": self.per_node,
            "requests": self.requests.to_json(),
            "limits": self.limits.to_json(),
            "claims": [claim.to_json() for claim in self.claims],
        }


@dataclass(frozen=True)
class ReleaseEstimate:
    release: ReleaseKey
    workloads: tuple[WorkloadEstimate, ...] = ()
    claims: tuple[ClaimEstimate, ...] = ()
    """PersistentVolumeClaims the release renders itself."""

    @property
    def totals(self) -> Totals:
        claims = Totals(storage_gib=round(sum(claim.size_gib for claim in self.claims), 3))
        return sum((workload.totals for workload in self.workloads), claims)

    def to_json(self) -> JsonObject:
        return {
            "release": self.release,
            "workloads": [workload.to_json() for workload in self.workloads],
            "claims": [claim.to_json() for claim in self.claims],
            "totals": self.totals.to_json(),
        }


@dataclass(frozen=True)
class ResourceEstimate:
    releases: tuple[ReleaseEstimate, ...] = ()

    @property
    def totals(self) -> Totals:
        return sum((release.totals for release in self.releases), Totals())

    def to_json(self) -> JsonObject:
        return {
            "releases": [release.to_json() for release in self.releases],
            "totals": self.totals.to_json(),
        }

    def table_rows(self) -> list[tuple[str, ...]]:
        """Rows under TABLE_HEADER: per workload (per-pod figures), claim, release, total."""
        rows: list[tuple[str, ...]] = []
        for release in self.releases:
            for workload in release.workloads:
                pods = f"{workload.pods}/node" if workload.per_node else str(workload.pods)
                rows.append(
                    (
                        release.release,
                        workload.kind,
                        workload.name,
                        pods,
                        *_figures(workload.requests, workload.limits),
                        ", ".join(claim.cell() for claim in workload.claims),
                    )
                )
            rows.extend(
                (
                    release.release,
                    "PersistentVolumeClaim",
                    claim.name,
                    "",
                    "",
                    "",
                    "",
                    "",
                    claim.cell(),
                )
                for claim in release.claims
            )
            rows.append(_totals_row(release.release, "release total", release.totals))
        rows.append(_totals_row("", "total", self.totals))
        return rows


def _figures(requests: PodResources, limits: PodResources) -> tuple[str, str, str, str]:
    return (
        f"{requests.cpu_cores:g}",
        f"{limits.cpu_cores:g}",
        f"{requests.memory_mib:g}",
        f"{limits.memory_mib:g}",
    )


def _totals_row(release: str, label: str, totals: Totals) -> tuple[str, ...]:
    return (
        release,
        label,
        "",
        "",
        *_figures(totals.requests, totals.limits),
        f"{totals.storage_gib:g}",
    )


def estimate(rendered: Mapping[ReleaseKey, Sequence[KubeObject]]) -> ResourceEstimate:
    """The estimate of every release given, in release order."""
    return ResourceEstimate(tuple(estimate_release(key, rendered[key]) for key in sorted(rendered)))


def estimate_release(release: ReleaseKey, objects: Sequence[KubeObject]) -> ReleaseEstimate:
    workloads = []
    claims = []
    for obj in objects:
        kind = obj.get("kind")
        if kind == "PersistentVolumeClaim":
            claims.append(_claim(obj, where=object_label(obj)))
        elif isinstance(kind, str) and kind in _POD_SOURCES:
            workloads.append(_workload(obj, kind))
    return ReleaseEstimate(release, tuple(workloads), tuple(claims))


def _mapping(value: JsonValue) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _list(value: JsonValue) -> list[JsonObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _count(spec: JsonObject, key: str, default: int, where: str) -> int:
    value = spec.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RenderError(f"{where}: spec.{key} must be a whole number, got {value!r}")
    return value


def _job_pods(job_spec: JsonObject, where: str) -> int:
    """Pods a Job runs at once: its parallelism, never more than its completions."""
    parallelism = _count(job_spec, "parallelism", 1, where)
    completions = job_spec.get("completions")
    if completions is None:
        return parallelism
    return min(parallelism, _count(job_spec, "completions", 1, where))


def _pod_spec_and_pods(obj: KubeObject, kind: str, where: str) -> tuple[JsonObject, int]:
    spec = _mapping(obj.get("spec"))
    if kind == "Pod":
        return spec, 1
    if kind == "CronJob":
        job_spec = _mapping(_mapping(spec.get("jobTemplate")).get("spec"))
        return _mapping(_mapping(job_spec.get("template")).get("spec")), _job_pods(job_spec, where)
    pod_spec = _mapping(_mapping(spec.get("template")).get("spec"))
    if kind == "Job":
        return pod_spec, _job_pods(spec, where)
    if kind == "DaemonSet":
        return pod_spec, 1
    return pod_spec, _count(spec, "replicas", 1, where)


def _workload(obj: KubeObject, kind: str) -> WorkloadEstimate:
    where = object_label(obj)
    metadata = _mapping(obj.get("metadata"))
    pod_spec, pods = _pod_spec_and_pods(obj, kind, where)
    claims = [
        _claim(template, where=f"{where}: volumeClaimTemplates[{index}]")
        for index, template in enumerate(
            _list(_mapping(obj.get("spec")).get("volumeClaimTemplates"))
        )
    ]
    claims.extend(
        _claim(
            {"metadata": {"name": volume.get("name")}, **ephemeral},
            where=f"{where}: volume {volume.get('name')}",
        )
        for volume in _list(pod_spec.get("volumes"))
        if (ephemeral := _mapping(_mapping(volume.get("ephemeral")).get("volumeClaimTemplate")))
    )
    return WorkloadEstimate(
        kind=kind,
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name") or ""),
        pods=pods,
        per_node=kind == "DaemonSet",
        requests=_pod_resources(pod_spec, "requests", where),
        limits=_pod_resources(pod_spec, "limits", where),
        claims=tuple(claims),
    )


def _claim(claim: JsonObject, *, where: str) -> ClaimEstimate:
    metadata = _mapping(claim.get("metadata"))
    spec = _mapping(claim.get("spec"))
    size = _mapping(_mapping(spec.get("resources")).get("requests")).get("storage", 0)
    storage_class = spec.get("storageClassName")
    if storage_class is None:
        storage_class = _mapping(metadata.get("annotations")).get(
            "volume.beta.kubernetes.io/storage-class"
        )
    return ClaimEstimate(
        name=str(metadata.get("name") or ""),
        size_gib=_rounded_up(parse_quantity(size, where=f"{where}: storage") / GIB),
        storage_class=str(storage_class) if storage_class else None,
    )


def _amounts(resources: JsonValue, which: str, where: str) -> dict[str, Fraction]:
    """CPU and memory `which` (requests or limits) of a container's or pod's resources.

    A request left out where a limit is set defaults to the limit, as the API server does.
    """
    given = _mapping(_mapping(resources).get(which))
    if which == "requests":
        given = {**_mapping(_mapping(resources).get("limits")), **given}
    return {
        resource: parse_quantity(given[resource], where=f"{where}.{which}.{resource}")
        for resource in ("cpu", "memory")
        if resource in given
    }


def _container_amounts(container: JsonObject, which: str, where: str) -> dict[str, Fraction]:
    where = f"{where}: container {container.get('name')}: resources"
    return _amounts(container.get("resources"), which, where)


def _pod_resources(pod_spec: JsonObject, which: str, where: str) -> PodResources:
    """The pod's effective `which`, as Kubernetes computes it (PodRequests/PodLimits).

    App containers add up; a sidecar (an init container with restartPolicy Always) adds
    to them and to every later init container; the pod needs the larger of the app sum
    and the largest init container. Pod-level resources, where set, win.
    """
    total: dict[str, Fraction] = {}
    for container in _list(pod_spec.get("containers")):
        _add(total, _container_amounts(container, which, where))
    sidecars: dict[str, Fraction] = {}
    largest_init: dict[str, Fraction] = {}
    for container in _list(pod_spec.get("initContainers")):
        amounts = _container_amounts(container, which, where)
        if container.get("restartPolicy") == "Always":
            _add(total, amounts)
            _add(sidecars, amounts)
            running = dict(sidecars)
        else:
            running = dict(amounts)
            _add(running, sidecars)
        for resource, amount in running.items():
            largest_init[resource] = max(largest_init.get(resource, Fraction(0)), amount)
    for resource, amount in largest_init.items():
        total[resource] = max(total.get(resource, Fraction(0)), amount)
    total.update(_amounts(pod_spec.get("resources"), which, f"{where}: pod resources"))
    return PodResources(
        cpu_cores=_rounded_up(total.get("cpu", Fraction(0))),
        memory_mib=_rounded_up(total.get("memory", Fraction(0)) / MIB),
    )


def _add(total: dict[str, Fraction], amounts: Mapping[str, Fraction]) -> None:
    for resource, amount in amounts.items():
        total[resource] = total.get(resource, Fraction(0)) + amount
