"""What releases outside the repository publish, as the cluster knows them.

A dependency that is not in the repository is rendered with the outputs found here:
its inventory record (a release another Harmonia repository applied), else WALM's
`ReleaseConfig` object, else the dummy Service of WALM's older charts.
"""

from __future__ import annotations

from reconciler.apply.inventory import InventoryFormatError
from reconciler.apply.records import read_inventory
from reconciler.kube.client import KubeClient
from reconciler.kube.errors import KubeError
from reconciler.render.model import DependedRelease, RenderError
from reconciler.render.pipeline import ExternalOutputs
from reconciler.render.secrets.redaction import withheld_secret_outputs
from reconciler.render.values.outputs import (
    DUMMY_SERVICE_LABEL,
    DUMMY_SERVICE_RELEASE_LABEL,
    RELEASE_CONFIG_API_VERSIONS,
    RELEASE_CONFIG_KIND,
    is_dummy_service,
    published_release,
)
from reconciler.types import ReleaseKey, split_release_key

WALM_RELEASE_CONFIG = RELEASE_CONFIG_API_VERSIONS[0]


def external_outputs_from(client: KubeClient) -> ExternalOutputs:
    """Releases outside the repository, as the cluster knows them: from their inventory
    records (a release another Harmonia repository applied), else from the `ReleaseConfig`
    object WALM keeps for the releases it installed, else from the dummy Service of
    WALM's older charts (labelled `transwarp.meta: "true"` and `release: <name>`)."""

    def lookup(key: ReleaseKey) -> DependedRelease | None:
        namespace, name = split_release_key(key)
        try:
            record = read_inventory(client, key)
            if record is not None:
                # A secret output is recorded as `***`: absent, rather than that text.
                return DependedRelease(key, withheld_secret_outputs(record.outputs))
            walm = client.get(
                {
                    "apiVersion": WALM_RELEASE_CONFIG,
                    "kind": RELEASE_CONFIG_KIND,
                    "metadata": {"name": name, "namespace": namespace},
                }
            )
            if walm is not None:
                return published_release(walm, key)
            selector = f"{DUMMY_SERVICE_LABEL}=true,{DUMMY_SERVICE_RELEASE_LABEL}={name}"
            services = client.list("v1", "Service", namespace=namespace, label_selector=selector)
            dummies = [service for service in services if is_dummy_service(service)]
            # Two dummy Services for one release: which one is meant is not known.
            return published_release(dummies[0], key) if len(dummies) == 1 else None
        except (KubeError, InventoryFormatError, RenderError):
            return None

    return lookup
