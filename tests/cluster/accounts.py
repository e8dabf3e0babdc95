"""Kubeconfigs for service accounts with a chosen role in one namespace, for tests of
what Harmonia does (and says) when Kubernetes RBAC refuses it or its user."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import LiveCluster


def namespace_kubeconfig(
    cluster: LiveCluster, namespace: str, folder: Path, *, role: str = "admin"
) -> Path:
    """A kubeconfig for a new service account bound to the cluster role `role` (admin,
    edit, view) in `namespace` and to nothing cluster-wide."""
    account = f"{role}-user"
    cluster.kubectl("-n", namespace, "create", "serviceaccount", account)
    binding = ("rolebinding", account, f"--clusterrole={role}")
    cluster.kubectl("-n", namespace, "create", *binding, f"--serviceaccount={namespace}:{account}")
    token = cluster.kubectl("-n", namespace, "create", "token", account).stdout.strip()
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    config["users"] = [{"name": account, "user": {"token": token}}]
    for context in config["contexts"]:
        context["context"]["user"] = account
    path = folder / f"{role}-kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path
