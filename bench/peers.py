"""The peers Harmonia is measured against: kubectl server-side apply and Helm.

The objects are rendered once per size with `helm template` (the chart and the values
Harmonia would use), outside the timings, to files kubectl applies: one file per
release, and one file of everything with the namespaces first. Helm installs each
release from the chart itself. The time until Ready is measured by the runner.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.cluster import BenchCluster, BenchError
from bench.generate import CHART_PATH, SyntheticRelease, SyntheticRepository

RENDER_PARALLELISM = 4
HELM_TIMEOUT = 300.0


@dataclass(frozen=True)
class PeerRelease:
    release: SyntheticRelease
    values_file: Path
    manifest_file: Path
    objects: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class PeerInputs:
    """Everything the peers apply, rendered once per size."""

    chart: Path
    releases: tuple[PeerRelease, ...]
    namespaces_file: Path
    everything_file: Path
    namespaces: tuple[dict[str, Any], ...]

    @property
    def object_count(self) -> int:
        return len(self.namespaces) + sum(len(r.objects) for r in self.releases)


def namespace_object(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def helm_environment(home: Path) -> dict[str, str]:
    """Helm with folders of its own, so the benchmark leaves nothing in the user's home."""
    return {
        **os.environ,
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }


def _run(command: Sequence[str], *, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        list(command), capture_output=True, text=True, env=env, timeout=HELM_TIMEOUT
    )
    if result.returncode != 0:
        raise BenchError(f"{' '.join(command[:3])} failed: {result.stderr.strip()}")
    return result.stdout


def render_peer_inputs(
    repository: SyntheticRepository, *, chart_root: Path, helm: Path, folder: Path
) -> PeerInputs:
    """`helm template` of every release with the values Harmonia would compute."""
    chart = chart_root / CHART_PATH
    env = helm_environment(folder / "helm-home")

    def render(release: SyntheticRelease) -> PeerRelease:
        values_file = folder / "values" / release.namespace / f"{release.name}.json"
        values_file.parent.mkdir(parents=True, exist_ok=True)
        values_file.write_text(json.dumps(repository.peer_values(release)))
        text = _run(
            [
                str(helm), "template", release.name, str(chart),
                "--namespace", release.namespace, "--values", str(values_file),
            ],
            env=env,
        )  # fmt: skip
        manifest_file = folder / "rendered" / release.namespace / f"{release.name}.yaml"
        manifest_file.parent.mkdir(parents=True, exist_ok=True)
        manifest_file.write_text(text)
        objects = tuple(doc for doc in yaml.safe_load_all(text) if doc)
        return PeerRelease(release, values_file, manifest_file, objects)

    with ThreadPoolExecutor(max_workers=RENDER_PARALLELISM) as pool:
        releases = tuple(pool.map(render, repository.releases))
    namespaces = tuple(namespace_object(name) for name in repository.namespaces)
    namespaces_file = folder / "namespaces.yaml"
    namespaces_file.write_text(yaml.safe_dump_all(namespaces))
    everything_file = folder / "everything.yaml"
    everything_file.write_text(
        yaml.safe_dump_all([*namespaces, *(obj for r in releases for obj in r.objects)])
    )
    return PeerInputs(chart, releases, namespaces_file, everything_file, namespaces)


def kubectl_per_release(cluster: BenchCluster, inputs: PeerInputs) -> float:
    """`kubectl apply --server-side` once for the namespaces, then once per release."""
    started = time.monotonic()
    cluster.kubectl("apply", "--server-side", "-f", str(inputs.namespaces_file))
    for release in inputs.releases:
        cluster.kubectl("apply", "--server-side", "-f", str(release.manifest_file))
    return time.monotonic() - started


def kubectl_everything(cluster: BenchCluster, inputs: PeerInputs) -> float:
    """One `kubectl apply --server-side` of every object, namespaces first."""
    started = time.monotonic()
    cluster.kubectl("apply", "--server-side", "-f", str(inputs.everything_file))
    return time.monotonic() - started


def helm_sample(inputs: PeerInputs, sample: int) -> tuple[PeerRelease, ...]:
    """Every release, or `sample` of them spread evenly over the repository."""
    releases = inputs.releases
    if sample >= len(releases):
        return releases
    step = len(releases) / sample
    return tuple(releases[int(index * step)] for index in range(sample))


def helm_per_release(
    cluster: BenchCluster, inputs: PeerInputs, releases: Sequence[PeerRelease], *, home: Path
) -> float:
    """`helm upgrade --install` of each release in turn (Helm's default: no --wait)."""
    env = helm_environment(home)
    started = time.monotonic()
    for peer in releases:
        _run(
            [
                str(cluster.binaries["helm"]), "upgrade", "--install",
                peer.release.name, str(inputs.chart),
                "--namespace", peer.release.namespace, "--create-namespace",
                "--values", str(peer.values_file), "--kubeconfig", str(cluster.kubeconfig),
            ],
            env=env,
        )  # fmt: skip
    return time.monotonic() - started
