"""Connecting to a cluster the way kubectl does, and asking it what it offers.

The edge of the pipeline that talks to Kubernetes: the only place (with the rest
of `reconciler.kube`) that imports the `kubernetes` client. Failures to reach
the cluster become `ClusterUnreachable` (exit code 3 in the CLI).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from reconciler.kube.errors import ClusterUnreachable

DISCOVERY_TIMEOUT = 10.0
CONNECTION_POOL = 32
"""Connections kept open to the API server: more than a pass's workers, so none waits
for one or reconnects (the client's default is five per core)."""
"""Seconds the version and API discovery may take before the cluster counts as unreachable."""


@dataclass(frozen=True)
class KubeTarget:
    """Which cluster: a kubeconfig path (default: $KUBECONFIG, then ~/.kube/config) and context."""

    kubeconfig: Path | None = None
    context: str | None = None

    def describe(self) -> str:
        path = self.kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        return f"{path} (context {self.context or 'current'})"


@dataclass(frozen=True)
class ClusterCapabilities:
    """What rendering needs from the cluster: its version and served API versions."""

    kube_version: str
    api_versions: tuple[str, ...]


def connect(target: KubeTarget) -> client.ApiClient:
    """An API client for the target, as kubectl would pick it; in a pod with no
    kubeconfig at all, the pod's service account (as client-go's in-cluster config)."""
    configuration = client.Configuration()
    try:
        if _in_cluster(target):
            config.load_incluster_config(client_configuration=configuration)
        else:
            path = str(target.kubeconfig) if target.kubeconfig else None
            config.load_kube_config(
                config_file=path, context=target.context, client_configuration=configuration
            )
    except (ConfigException, OSError, TypeError) as error:
        raise ClusterUnreachable(
            "", f"cannot load kubeconfig {target.describe()}: {error}"
        ) from error
    configuration.connection_pool_maxsize = CONNECTION_POOL
    return client.ApiClient(configuration)


def _in_cluster(target: KubeTarget) -> bool:
    """No kubeconfig named or found, and the pod's service-account environment present."""
    named = target.kubeconfig or os.environ.get("KUBECONFIG") or target.context
    default = Path(os.path.expanduser(config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION))
    return not named and not default.exists() and "KUBERNETES_SERVICE_HOST" in os.environ


def capabilities(api: client.ApiClient) -> ClusterCapabilities:
    """The server's version and every `group/version` it serves, sorted."""
    try:
        version = client.VersionApi(api).get_code(_request_timeout=DISCOVERY_TIMEOUT).git_version
        versions = {"v1"}
        groups = client.ApisApi(api).get_api_versions(_request_timeout=DISCOVERY_TIMEOUT).groups
        for group in groups:
            versions.update(v.group_version for v in group.versions)
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
        host = api.configuration.host
        raise ClusterUnreachable(
            "", f"cluster at {host} did not answer: {_reason(error)}"
        ) from error
    return ClusterCapabilities(kube_version=str(version), api_versions=tuple(sorted(versions)))


def _reason(error: Exception) -> str:
    if isinstance(error, ApiException):
        return f"{error.status} {error.reason}"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def probe(target: KubeTarget) -> ClusterCapabilities:
    """Connect, ask for the capabilities, disconnect: for commands that only render."""
    api = connect(target)
    try:
        return capabilities(api)
    finally:
        api.close()
