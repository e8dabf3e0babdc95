"""The floor: the same objects as server-side-apply PATCH requests from a minimal client.

The least any tool could spend sending them: one aiohttp connection pool, 16 requests
in flight, no discovery, no reads, no dry-runs. Objects go in stages (namespaces, then
service accounts, secrets, config maps and services, then Deployments) so that no pod
is refused for a missing service account, as a real tool would order them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import aiohttp

from bench.cluster import BenchError
from bench.kubeapi import ApiAccess, object_path

IN_FLIGHT = 16
FIELD_MANAGER = "bench-floor"
STAGES = (("Namespace",), ("ServiceAccount", "Secret", "ConfigMap", "Service"), ("Deployment",))


def staged(objects: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [[obj for obj in objects if obj["kind"] in kinds] for kinds in STAGES]


async def _apply_all(api: ApiAccess, objects: Sequence[dict[str, Any]]) -> None:
    connector = aiohttp.TCPConnector(limit=IN_FLIGHT, ssl=api.ssl_context())
    slots = asyncio.Semaphore(IN_FLIGHT)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def apply(obj: dict[str, Any]) -> None:
            async with (
                slots,
                session.patch(
                    api.server + object_path(obj),
                    params={"fieldManager": FIELD_MANAGER, "force": "true"},
                    data=json.dumps(obj),
                    headers={"Content-Type": "application/apply-patch+yaml"},
                ) as response,
            ):
                body = await response.read()
                if response.status >= 300:
                    name = f"{obj['kind']}/{obj['metadata']['name']}"
                    raise BenchError(f"floor: {name}: HTTP {response.status}: {body[:300]!r}")

        for stage in staged(objects):
            await asyncio.gather(*(apply(obj) for obj in stage))


def floor_apply(api: ApiAccess, objects: Sequence[dict[str, Any]]) -> float:
    """Seconds to server-side apply every object, 16 in flight."""
    started = time.monotonic()
    asyncio.run(_apply_all(api, objects))
    return time.monotonic() - started
