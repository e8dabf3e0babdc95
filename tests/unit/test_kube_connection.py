"""Which credentials a connection uses: the kubeconfig as kubectl picks it, else in a pod
the service account (as client-go's in-cluster config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.kube.connection import KubeTarget, connect
from reconciler.kube.errors import ClusterUnreachable


def test_without_any_kubeconfig_in_a_pod_the_service_account_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    if Path("/var/run/secrets/kubernetes.io/serviceaccount/token").exists():
        pytest.skip("this machine is a pod with a real service account token")

    with pytest.raises(ClusterUnreachable, match=r"[Ss]ervice [Tt]oken|token"):
        connect(KubeTarget())


def test_outside_a_pod_a_missing_kubeconfig_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))

    with pytest.raises(ClusterUnreachable, match=r"cannot load kubeconfig ~/\.kube/config"):
        connect(KubeTarget())
