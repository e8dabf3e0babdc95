"""Direct HTTPS access to the benchmark's API server, from the dev cluster's kubeconfig.

The benchmark's own eyes on the cluster (readiness polling, the floor client) must not
go through Harmonia's client, which is under test. Client-certificate auth only, as the
dev cluster's admin kubeconfig has it.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PLURALS = {
    "Namespace": "namespaces",
    "ServiceAccount": "serviceaccounts",
    "Secret": "secrets",
    "ConfigMap": "configmaps",
    "Service": "services",
    "Deployment": "deployments",
}
"""The kinds the benchmark's chart renders, and their resource names."""


@dataclass(frozen=True)
class ApiAccess:
    server: str
    certificate_authority: Path
    client_certificate: Path
    client_key: Path

    @classmethod
    def from_kubeconfig(cls, path: Path) -> ApiAccess:
        config: Any = yaml.safe_load(path.read_text())
        current = config["current-context"]
        context = next(c["context"] for c in config["contexts"] if c["name"] == current)
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
        return cls(
            server=cluster["server"],
            certificate_authority=Path(cluster["certificate-authority"]),
            client_certificate=Path(user["client-certificate"]),
            client_key=Path(user["client-key"]),
        )

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.certificate_authority))
        context.load_cert_chain(str(self.client_certificate), str(self.client_key))
        return context

    def get_json(self, path: str, *, timeout: float = 60.0) -> dict[str, Any]:
        with urllib.request.urlopen(
            self.server + path, timeout=timeout, context=self.ssl_context()
        ) as response:
            decoded: dict[str, Any] = json.loads(response.read())
        return decoded


def object_path(obj: dict[str, Any]) -> str:
    """The URL path of one object of the chart's kinds."""
    kind = str(obj["kind"])
    name = obj["metadata"]["name"]
    prefix = "/api/v1" if obj["apiVersion"] == "v1" else f"/apis/{obj['apiVersion']}"
    if kind == "Namespace":
        return f"{prefix}/namespaces/{name}"
    return f"{prefix}/namespaces/{obj['metadata']['namespace']}/{PLURALS[kind]}/{name}"
