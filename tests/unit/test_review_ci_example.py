"""examples/ci/harmonia-pr.yaml: the CI workflow the docs point to says what they say.

It is not run here (no GitHub); these checks keep it in step with the CLI and the pins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from devcluster.pins import HELM_VERSION
from reconciler.review.renderers import COMMENT_MARKER

WORKFLOW = Path(__file__).parents[2] / "examples" / "ci" / "harmonia-pr.yaml"


def steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps: list[dict[str, Any]] = workflow["jobs"]["review"]["steps"]
    return steps


def test_the_workflow_runs_on_pull_requests_and_may_comment() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())

    assert "pull_request" in workflow[True]  # YAML 1.1 reads the key `on` as true
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}


def test_the_checkout_holds_the_base_branch() -> None:
    (checkout,) = [step for step in steps() if step.get("uses", "").startswith("actions/checkout")]
    assert checkout["with"]["fetch-depth"] == 0


def test_it_validates_then_posts_the_markdown_diff_of_base_and_head() -> None:
    scripts = "\n".join(step.get("run", "") for step in steps())

    assert 'harmonia validate "$HARMONIA_PATH"' in scripts
    assert 'harmonia diff --base "origin/${BASE_REF}" --head HEAD "$HARMONIA_PATH"' in scripts
    assert "-o markdown --comment github" in scripts and COMMENT_MARKER in scripts


def test_harmonia_posts_the_comment_itself_with_the_jobs_token() -> None:
    (diff,) = [step for step in steps() if "--comment github" in step.get("run", "")]
    scripts = "\n".join(step.get("run", "") for step in steps())

    assert diff["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    assert "gh api" not in scripts and "gh pr comment" not in scripts
    assert "0 | 1 | 4)" in diff["run"]  # the summary also when only the comment failed


def test_it_renders_with_the_helm_the_dev_cluster_pins() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())

    assert workflow["env"]["HELM_VERSION"] == HELM_VERSION
