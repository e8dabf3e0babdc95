"""The render cache: a chart engine's output stored under a hash of every input.

Running helm is the expensive step of a pass. Its output depends only on the
chart's content, the final values (which already hold valuesFiles and the
dependencies' outputs), the release name and namespace, the Kubernetes and API
versions, the engine binary, the Jsonnet library folders and Harmonia's version;
so a pass over unchanged releases renders nothing, and a changed input misses
exactly for the releases it reaches. Plugins and ownership run after the cache.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from reconciler import __version__
from reconciler.json_store import JsonStore
from reconciler.render.model import ChartOutput, Hook, RenderEnvironment, ResolvedChart
from reconciler.types import JsonObject


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def folder_digest(folder: Path) -> str:
    """sha256 over every file's relative path and content, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _binary_identity(path: Path | None) -> str:
    if path is None:
        return ""
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def environment_fingerprint(env: RenderEnvironment) -> str:
    """Everything about the render environment that can change an engine's output."""
    return hashlib.sha256(
        canonical_json(
            {
                "kube_version": env.kube_version,
                "api_versions": list(env.api_versions),
                "helm": _binary_identity(env.helm),
                "kubectl": _binary_identity(env.kubectl),
                "libraries": [folder_digest(folder) for folder in env.library_dirs],
                "harmonia": __version__,
            }
        )
    ).hexdigest()


def render_key(
    chart: ResolvedChart,
    *,
    release_name: str,
    namespace: str,
    values: JsonObject,
    environment: str,
) -> str:
    return hashlib.sha256(
        canonical_json(
            {
                "chart": [chart.kind.value, chart.name, chart.version, chart.digest],
                "release": [namespace, release_name],
                "values": values,
                "environment": environment,
            }
        )
    ).hexdigest()


def _chart_output(raw: Any) -> ChartOutput:
    return ChartOutput(
        objects=tuple(raw["objects"]),
        hooks=tuple(
            Hook(
                object=hook["object"],
                events=tuple(hook["events"]),
                weight=hook["weight"],
                delete_policies=tuple(hook["delete_policies"]),
            )
            for hook in raw["hooks"]
        ),
    )


class RenderCache:
    """Engine outputs as JSON entries under one folder; safe for concurrent writers."""

    def __init__(self, folder: Path) -> None:
        self.store = JsonStore(folder)

    def get(self, key: str) -> ChartOutput | None:
        return self.store.get(key, _chart_output)

    def put(self, key: str, output: ChartOutput) -> None:
        self.store.put(
            key, {"objects": list(output.objects), "hooks": [asdict(h) for h in output.hooks]}
        )
