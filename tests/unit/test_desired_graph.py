"""The dependency graph of a pass is built once, by the validation a pass starts with."""

from __future__ import annotations

from pathlib import Path

from reconciler.desired import Tools, check_repository, compute_desired_state
from reconciler.policy import Policy
from reconciler.release_requests.model import RepositoryConfig
from reconciler.render.environment import VersionChoice, choose_versions
from reconciler.types import ReleaseKey
from tests.unit.samples import release, write_repository

SHOP_ONLY = Policy(allowed_namespaces=("shop",))


def offline_versions(repository: RepositoryConfig | None) -> VersionChoice:
    return choose_versions(repository, cluster=None)


def test_validation_returns_the_graph_a_pass_renders_by_without_the_releases_it_refuses(
    tmp_path: Path,
) -> None:
    root = write_repository(
        tmp_path / "repo",
        {
            "releases/db.yaml": release("db"),
            "releases/web.yaml": release("web", "shop", dependencies="{db: apps/db}"),
            "releases/cache.yaml": release("cache", "shop"),
        },
    )

    _loaded, graph, _policy, _diagnostics = check_repository(root, policy=SHOP_ONLY)
    state = compute_desired_state(
        root,
        policy=SHOP_ONLY,
        versions_for=offline_versions,
        tools=Tools(helm=None, kubectl=None, cache_dir=tmp_path / "cache"),
    )

    assert graph.releases == (ReleaseKey("shop/cache"), ReleaseKey("shop/web"))
    assert graph.blocked == {ReleaseKey("shop/web"): "depends on apps/db, whose file is invalid"}
    assert state.graph == graph
