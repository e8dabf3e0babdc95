"""A release repository on disk plus passes against the real dev cluster, for tests.

Each test writes release files and plain-manifest charts into its own folder and
runs the same library calls `harmonia apply`/`diff` run: desired state, then a
pass. Nothing is mocked; the cluster is the session's dev cluster.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.apply.external_outputs import external_outputs_from
from reconciler.desired import DesiredState, Owns, Tools, compute_desired_state
from reconciler.kube.client import KubeClient
from reconciler.kube.connection import KubeTarget, probe
from reconciler.kube.watch import Watches
from reconciler.policy import Policy
from reconciler.reconcile import PassOptions, PassReport, reconcile
from reconciler.render.environment import choose_versions
from reconciler.types import JsonObject, ReleaseKey
from tests import manifests
from tests.conftest import LiveCluster

REPOSITORY_FILE = "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"
EXAMPLES_SOURCE = "tests:examples"
"""The source of every copy of `examples/`: its releases live in fixed namespaces (shop,
streaming) that the tests share, and a release has one owner, so the copies are one
repository."""


@dataclass
class Workbench:
    cluster: LiveCluster
    root: Path
    cache: Path
    source: str = ""
    """The repository identity; defaults to one of this workbench's own."""
    policy: Policy = field(default_factory=lambda: Policy(allowed_namespaces=("*",)))
    revision: int = 0

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.source = self.source or f"tests:{self.root}"
        if not (self.root / "harmonia.yaml").exists():
            (self.root / "harmonia.yaml").write_text(REPOSITORY_FILE)
        (self.root / "releases").mkdir(exist_ok=True)

    def client(self) -> KubeClient:
        return KubeClient.connect(KubeTarget(self.cluster.kubeconfig), cache_dir=self.cache)

    def chart(self, name: str, objects: list[JsonObject]) -> str:
        """A plain-manifest chart holding `objects`; returns its chartPath."""
        folder = self.root / "charts" / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.yaml"):
            old.unlink()
        (folder / "objects.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
        return f"charts/{name}"

    def release(self, namespace: str, name: str, **fields: Any) -> ReleaseKey:
        body = manifests.release(namespace, name, **fields)
        path = self.root / "releases" / namespace / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body, indent=1))
        return ReleaseKey(f"{namespace}/{name}")

    def remove_release(self, namespace: str, name: str) -> None:
        (self.root / "releases" / namespace / f"{name}.yaml").unlink()

    def desired(
        self,
        client: KubeClient,
        *,
        only: frozenset[ReleaseKey] | None = None,
        dependents: bool = False,
        owns: Owns | None = None,
    ) -> DesiredState:
        cluster = probe(KubeTarget(self.cluster.kubeconfig))
        tools = Tools(
            helm=self.cluster.binaries["helm"],
            kubectl=self.cluster.binaries["kubectl"],
            cache_dir=self.cache,
        )
        return compute_desired_state(
            self.root,
            policy=self.policy,
            versions_for=lambda config: choose_versions(config, cluster=cluster),
            tools=tools,
            external_outputs=external_outputs_from(client),
            only=only,
            dependents=dependents,
            owns=owns,
        )

    def run(
        self,
        *,
        dry_run: bool = False,
        same_commit: bool = False,
        stopping: Callable[[], bool] = lambda: False,
        only: frozenset[ReleaseKey] | None = None,
        dependents: bool = False,
        watched: Watches | None = None,
        client: KubeClient | None = None,
        owns: Owns | None = None,
        **options: Any,
    ) -> PassReport:
        """One pass (a diff with `dry_run`), as `harmonia apply` runs it, over the whole
        repository or the scope of `only` (and `dependents`); each pass is a new commit
        unless `same_commit` (a scheduled pass with nothing new in Git). `watched` and
        `client`: a long-running reconciler's reflectors, and the client the pass uses
        (its requests counted apart from the rendering's); `owns`: a shard's releases."""
        self.revision += 0 if dry_run or same_commit else 1
        with self.client() as own:
            state = self.desired(own, only=only, dependents=dependents, owns=owns)
            assert not state.has_errors, [d.render() for d in state.diagnostics]
            return reconcile(
                client or own,
                state,
                PassOptions(f"rev-{self.revision}", self.source, dry_run=dry_run, **options),
                stopping=stopping,
                watched=watched,
            )


def helm_chart(root: Path, name: str, template: str) -> str:
    """A Helm chart of one template file under `root`'s charts/; returns its chartPath."""
    folder = root / "charts" / name
    (folder / "templates").mkdir(parents=True)
    (folder / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: 1.0.0\n")
    (folder / "templates" / "objects.yaml").write_text(template)
    return f"charts/{name}"
