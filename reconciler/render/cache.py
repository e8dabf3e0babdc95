"""The render cache: a chart engine's output stored under a hash of every input.

Running helm is the expensive step of a pass. Its output depends only on the
chart's content, the final values (which already hold valuesFiles and the
dependencies' outputs), the release name and namespace, the Kubernetes and API
versions, the engine binary, the Jsonnet library folders and Harmonia's version;
so a pass over unchanged releases renders nothing, and a changed input misses
exactly for the releases it reaches. Plugins and ownership run after the cache.
An output holding a Secret is kept in memory, not on disk, unless the operator says so;
one rendered with decrypted SOPS values always is.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import asdict
from pathlib import Path
from typing import Any

from reconciler import __version__
from reconciler.digest import sha256_hex
from reconciler.json_store import JsonStore
from reconciler.render.model import (
    ChartOutput,
    Hook,
    KubeObject,
    RenderEnvironment,
    ResolvedChart,
)
from reconciler.render.secrets.masking import is_secret
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
    opened_by: str = "",
) -> str:
    """The key of a render. `values` hold SOPS values as their ciphertext tokens, never
    plaintext; `opened_by` says whether those were decrypted or placeholders, so the two
    renders never share an entry."""
    inputs: JsonObject = {
        "chart": [chart.kind.value, chart.name, chart.version, chart.digest],
        "release": [namespace, release_name],
        "values": values,
        "environment": environment,
    }
    if opened_by:
        inputs["sops"] = opened_by
    return sha256_hex(canonical_json(inputs))


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


MEMORY_ENTRIES = 4096
"""Engine outputs holding Secrets kept in the process at least (least recently used
dropped); a repository of more releases raises it (`hold_in_memory`)."""

_in_memory: OrderedDict[tuple[str, str], ChartOutput] = OrderedDict()
"""By (the cache's folder, the render key): a cache elsewhere shares none of it."""
_in_memory_lock = threading.Lock()
_in_memory_limit = MEMORY_ENTRIES


def hold_in_memory(releases: int) -> None:
    """Keep room for twice `releases` outputs in memory (each release's output, and its
    previous one while its values change), never less than MEMORY_ENTRIES. A pass goes
    through every release in turn: with fewer entries than releases, the least recently
    used one is always the next to be asked for, and at N = 5000 every pass of
    `harmonia run` rendered 2000 releases again."""
    global _in_memory_limit
    with _in_memory_lock:
        _in_memory_limit = max(MEMORY_ENTRIES, 2 * releases)


class RenderCache:
    """Engine outputs as JSON entries under one folder; safe for concurrent writers.

    An output holding a Secret goes to the process's memory instead, where passes of a
    running reconciler find it; on disk only when `secrets_on_disk` (the operator's
    choice, HARMONIA_RENDER_CACHE_SECRETS=1, for one-shot passes that must be fast)."""

    def __init__(self, folder: Path, *, secrets_on_disk: bool = False) -> None:
        self.store = JsonStore(folder)
        self.secrets_on_disk = secrets_on_disk
        self._folder = str(folder)

    def get(self, key: str) -> ChartOutput | None:
        with _in_memory_lock:
            if (self._folder, key) in _in_memory:
                _in_memory.move_to_end((self._folder, key))
                return _in_memory[(self._folder, key)]
        return self.store.get(key, _chart_output)

    def put(self, key: str, output: ChartOutput, *, in_memory: bool = False) -> None:
        """Store `output`; `in_memory` (a render of decrypted SOPS values) keeps it off the
        disk whatever the operator chose for Secrets: it may hold plaintext anywhere."""
        held = (*output.objects, *(hook.object for hook in output.hooks))
        if in_memory or (not self.secrets_on_disk and any(_holds_secret(obj) for obj in held)):
            with _in_memory_lock:
                _in_memory[(self._folder, key)] = output
                while len(_in_memory) > _in_memory_limit:
                    _in_memory.popitem(last=False)
            return
        self.store.put(
            key, {"objects": list(output.objects), "hooks": [asdict(h) for h in output.hooks]}
        )


def _holds_secret(obj: KubeObject) -> bool:
    """A v1 Secret, or a List (`kind: ...List`, items) with one among its items."""
    if is_secret(obj):
        return True
    items = obj.get("items")
    return isinstance(items, list) and any(
        isinstance(item, dict) and _holds_secret(item) for item in items
    )
