"""A promotion carried to the cluster: `harmonia promote` from staging to prod, the branch
reviewed with `harmonia diff --base main --head <branch>`, merged, then `harmonia apply
--environment prod` runs in the dev cluster what staging runs (its chart and values),
while prod keeps what it sets for itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests import manifests
from tests.cluster.test_environments import harmonia, settings, web_charts
from tests.conftest import GitRepos, LiveCluster

BRANCH = "promote/{namespace}-web-staging-to-prod"


def repository_files(namespace: str) -> dict[str, str]:
    release = manifests.release(
        namespace, "web", chartPath="charts/web-1", configValues={"mode": "base", "shared": "s"}
    )
    files = {
        "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"
        "environments:\n  staging: {}\n  prod: {}\n",
        f"releases/{namespace}/web.yaml": yaml.safe_dump(release),
        f"environments/staging/{namespace}/web.yaml": (
            "chartPath: charts/web-2\nconfigValues: {mode: fast}\n"
        ),
        f"environments/prod/{namespace}/web.yaml": (
            "# prod's web\nconfigValues: {mode: careful}\ntimeoutSec: 120\n"
        ),
    }
    return {**files, **web_charts("1", "2")}


def test_a_merged_promotion_converges_prod_to_stagings_chart_and_values(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(repository_files(namespace), "web in staging and prod")
    cache, root = tmp_path / "cache", str(git_repos.work)
    applied = harmonia(cluster, cache, "apply", root, "--environment", "prod")
    assert applied.returncode == 0, applied.stderr
    assert settings(cluster, namespace) == {"mode": "careful", "shared": "s", "chart": "1.0.0"}

    promoted = harmonia(
        cluster, cache, "promote", f"{namespace}/web", "--from", "staging", "--to", "prod", root
    )
    assert promoted.returncode == 0, promoted.stderr
    branch = BRANCH.format(namespace=namespace)
    review = harmonia(
        cluster, cache, "diff", "--base", "main", "--head", branch, root, "-o", "json"
    )
    assert review.returncode == 0, review.stderr
    environments = json.loads(review.stdout)["environments"]
    assert [item["change"] for item in environments["staging"]["releases"]] == ["unchanged"]
    assert [item["change"] for item in environments["prod"]["releases"]] == ["changed"]

    git_repos.git("merge", "--quiet", "--ff-only", branch)
    applied = harmonia(cluster, cache, "apply", root, "--environment", "prod")
    assert applied.returncode == 0, applied.stderr
    assert settings(cluster, namespace) == {"mode": "fast", "shared": "s", "chart": "2.0.0"}
    overlay = yaml.safe_load(
        (git_repos.work / f"environments/prod/{namespace}/web.yaml").read_text()
    )
    assert overlay == {
        "configValues": {"mode": "fast"},
        "timeoutSec": 120,
        "chartPath": "charts/web-2",
    }
    again = harmonia(cluster, cache, "diff", root, "--environment", "prod", "--exit-code")
    assert (again.returncode, again.stdout) == (0, ""), again.stderr
