"""`harmonia diff --base --head` on a repository that declares environments: a real Git
repository holding examples/two-environments with a third environment (staging, no
overlays of its own but greeter's), `python -m reconciler diff` as a subprocess, no
cluster.

dev's overlay sets greeter's greeting, prod's sets its replicas and leaves debug-tools
out (`absent: true`), staging's sets greeter's replicas.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.recording_server import Recorded, Reply, recording_server
from tests.review.conftest import ROOT, STAGING, Workspace


def diff(workspace: Workspace, *extra: str) -> tuple[int, str, str]:
    result = workspace.harmonia("diff", "--base", "HEAD~1", "--head", "HEAD", ROOT, *extra)
    return result.returncode, result.stdout, result.stderr


def test_a_base_change_shows_in_each_environment_it_lands_in_and_not_where_an_overlay_sets_it(
    environments: Workspace,
) -> None:
    environments.edit(f"{ROOT}/releases/shop/greeter.yaml", "greeting: Hello", "greeting: Hi")
    environments.edit(
        f"{ROOT}/releases/shop/debug-tools.yaml", "greeting: Debugging", "greeting: Tracing"
    )
    environments.commit("Change two base release files")

    code, comment, err = diff(environments, "-o", "markdown")

    assert code == 0, err
    assert "| release | staging | dev | prod |" in comment
    # dev's overlay sets greeting: greeter does not change there; debug-tools is absent
    # in prod.
    assert "| `shop/greeter` | changed +0 ~1 -0 | unchanged | changed +0 ~1 -0 |" in comment
    assert "| `shop/debug-tools` | changed +0 ~1 -0 | changed +0 ~1 -0 | — |" in comment
    assert "#### Same in staging, dev" in comment
    assert comment.count("+  greeting: Tracing") == 1
    assert "#### In staging" in comment and "#### In prod" in comment
    assert comment.count("+  greeting: Hi") == 2  # staging's and prod's differ in logLevel
    assert "3 environments" not in err and "in environments staging, dev, prod" in err


def test_a_prod_overlay_change_shows_in_prod_only(environments: Workspace) -> None:
    environments.edit(f"{ROOT}/environments/prod/shop/greeter.yaml", "replicas: 3", "replicas: 4")
    environments.commit("Scale greeter in prod")

    code, text, err = diff(environments, "--exit-code")
    assert code == 1, err
    assert "# release shop/greeter in prod: changed (its request changed): 1 configured" in text
    assert text.count("# release ") == 1

    code, output, err = diff(environments, "-o", "json")
    assert code == 0, err
    document = json.loads(output)
    changes = {
        name: {item["release"]: item["change"] for item in review["releases"]}
        for name, review in document["environments"].items()
    }
    assert changes == {
        "staging": {"shop/debug-tools": "unchanged", "shop/greeter": "unchanged"},
        "dev": {"shop/debug-tools": "unchanged", "shop/greeter": "unchanged"},
        "prod": {"shop/greeter": "changed"},
    }
    assert document["sameChanges"] == [{"release": "shop/greeter", "environments": ["prod"]}]


def test_the_environment_option_reviews_that_environment_only(environments: Workspace) -> None:
    environments.edit(f"{ROOT}/environments/prod/shop/greeter.yaml", "replicas: 3", "replicas: 4")
    environments.commit("Scale greeter in prod")

    code, output, err = diff(environments, "-o", "json", "--environment", "dev", "--exit-code")

    assert code == 0, err
    assert list(json.loads(output)["environments"]) == ["dev"]


def test_an_overlay_breaking_the_merged_release_is_an_error_at_its_line_in_that_environment(
    environments: Workspace,
) -> None:
    environments.edit(f"{ROOT}/{STAGING}", "replicas: 2\n", "replicas: 2\ntimeoutSec: soon\n")
    environments.commit("Break staging's overlay")

    code, comment, err = diff(environments, "-o", "markdown")

    assert code == 1, err
    assert f"[staging] {ROOT}/{STAGING}:3:13: expected an integer" in comment
    assert "| `shop/greeter` | invalid | unchanged | unchanged |" in comment
    assert "does not render in staging." in comment


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (("--environment", "qa"), "environment 'qa': harmonia.yaml declares staging, dev, prod"),
        (("--release", "shop/web", "--environment", "dev"), ""),
    ],
)
def test_an_unknown_environment_is_a_usage_error_and_an_unknown_release_shows_nothing(
    environments: Workspace, arguments: tuple[str, ...], words: str
) -> None:
    result = environments.harmonia("diff", "--base", "HEAD", "--head", "HEAD", ROOT, *arguments)
    code, output, err = result.returncode, result.stdout, result.stderr

    assert (code, output) == ((2, "") if words else (0, "")), err
    assert words in err


def test_an_environment_new_at_the_head_shows_each_of_its_releases_as_added(
    environments: Workspace,
) -> None:
    environments.edit(f"{ROOT}/harmonia.yaml", "  staging: {}\n", "  staging: {}\n  qa: {}\n")
    environments.commit("A qa environment")

    code, comment, err = diff(environments, "-o", "markdown")

    assert code == 0, err
    assert "| release | staging | qa | dev | prod |" in comment
    assert "| `shop/greeter` | unchanged | added +2 ~0 -0 | unchanged | unchanged |" in comment
    assert "environment qa is new at the head: its releases are all added" in comment


def test_the_comment_posted_is_the_review_grouped_by_environment(
    environments: Workspace, tmp_path: Path
) -> None:
    environments.edit(f"{ROOT}/environments/prod/shop/greeter.yaml", "replicas: 3", "replicas: 4")
    environments.commit("Scale greeter in prod")
    token_file = tmp_path / "forge-token"
    token_file.write_text("ghs_not-a-real-token\n")

    def answer(request: Recorded) -> Reply:
        return Reply(200, []) if request.method == "GET" else Reply(201, {"id": 5})

    with recording_server(answer) as server:
        environments.environment.update(
            GITHUB_API_URL=server.url,
            GITHUB_REPOSITORY="acme/shop",
            HARMONIA_FORGE_TOKEN_FILE=str(token_file),
        )
        code, comment, err = diff(
            environments, "-o", "markdown", "--comment", "github", "--pull-request", "3"
        )

    assert code == 0, err
    _listed, created = server.requests
    assert created.json() == {"body": comment}
    assert "| `shop/greeter` | unchanged | unchanged | changed +0 ~1 -0 |" in comment
    assert "#### In prod" in comment
