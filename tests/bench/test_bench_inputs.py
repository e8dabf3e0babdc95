"""The peers apply what Harmonia applies: `helm template` with the peers' values gives
Harmonia's rendered objects, ownership metadata aside. Real helm, no cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.generate import GitRepository, synthetic_repository
from bench.peers import render_peer_inputs
from devcluster.build import ensure_binaries
from reconciler.desired import Tools, compute_desired_state
from reconciler.policy import Policy
from reconciler.render.environment import choose_versions
from reconciler.render.ownership import OWNER_ANNOTATION, ownership_labels
from reconciler.types import ReleaseKey


def without_ownership(obj: Any, release: str) -> Any:
    metadata = obj["metadata"]
    labels = {
        key: value
        for key, value in metadata["labels"].items()
        if key not in ownership_labels(ReleaseKey(release))
    }
    annotations = {
        k: v for k, v in (metadata.get("annotations") or {}).items() if k != OWNER_ANNOTATION
    }
    stripped = {**metadata, "labels": labels}
    if annotations:
        stripped["annotations"] = annotations
    else:
        stripped.pop("annotations", None)
    return {**obj, "metadata": stripped}


def test_peers_render_the_objects_harmonia_applies(tmp_path: Path) -> None:
    helm = ensure_binaries()["helm"]
    repository = synthetic_repository(12)
    git = GitRepository.create(tmp_path / "git")
    git.commit(repository, "twelve releases")
    state = compute_desired_state(
        git.work,
        policy=Policy(allowed_namespaces=("*",)),
        versions_for=lambda config: choose_versions(config, cluster=None),
        tools=Tools(helm=helm, kubectl=None, cache_dir=tmp_path / "cache"),
    )
    assert not state.render.failed and not state.render.blocked
    peers = render_peer_inputs(
        repository, chart_root=git.work, helm=helm, folder=tmp_path / "peers"
    )
    assert len(peers.releases) == 12
    for peer in peers.releases:
        rendered = state.render.rendered[ReleaseKey(peer.release.key)]
        harmonia = [without_ownership(obj, peer.release.key) for obj in rendered.objects]
        assert harmonia == list(peer.objects), peer.release.key
        assert len(peer.objects) == 5
    assert "kind: Namespace" in peers.everything_file.read_text().split("---")[0]
