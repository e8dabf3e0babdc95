"""What `adopt: true` may not take: objects a controller made for a workload.

Adoption takes an object Harmonia never created. A claim a StatefulSet's controller made
from its `volumeClaimTemplates` (`data-db-0`), or any object whose controller owner
reference names its maker (a Pod, a ReplicaSet), was never created by Harmonia either,
but it is that workload's: a release of another repository that adopted it could delete
it (with `deletePvcs`, a claim holding another release's data) or fight its controller.
"""

from __future__ import annotations

from typing import Any

from reconciler.kube.client import KubeClient
from reconciler.objects import ref_of
from reconciler.render.model import KubeObject

CLAIM = ("v1", "PersistentVolumeClaim")


def adoption_refusal(client: KubeClient, live: KubeObject) -> str | None:
    """Why `live` may not be adopted, or None when it may."""
    ref = ref_of(live)
    metadata: Any = live.get("metadata") or {}
    for owner in metadata.get("ownerReferences") or []:
        if isinstance(owner, dict) and owner.get("controller") is True:
            return (
                f"{ref} is controlled by {owner.get('kind')}/{owner.get('name')}; "
                "adopt that instead, never what it makes"
            )
    if (ref.api_version, ref.kind) != CLAIM:
        return None
    for stateful_set in client.list("apps/v1", "StatefulSet", namespace=ref.namespace):
        found: Any = stateful_set
        maker = str((found.get("metadata") or {}).get("name") or "")
        spec: Any = found.get("spec") or {}
        for template in spec.get("volumeClaimTemplates") or []:
            prefix = f"{(template.get('metadata') or {}).get('name')}-{maker}-"
            if ref.name.startswith(prefix) and ref.name.removeprefix(prefix).isdigit():
                return (
                    f"{ref} is a claim of StatefulSet {ref.namespace}/{maker}; "
                    "a claim is adopted with its StatefulSet, never alone"
                )
    return None
