"""`harmonia promote NAMESPACE/NAME --from ENV --to ENV` on a real Git repository
(examples/two-environments with a staging environment), `python -m reconciler` as a
subprocess: the branch it commits, what it leaves alone, and what the pull request's
diff of that branch shows.
"""

from __future__ import annotations

import json

import pytest
import yaml

from reconciler.release_requests import load_repository
from reconciler.types import ReleaseKey
from tests.review.conftest import ROOT, STAGING, Workspace

BRANCH = "promote/shop-greeter-staging-to-prod"
PROD = f"{ROOT}/environments/prod/shop/greeter.yaml"


def promote(workspace: Workspace, *arguments: str) -> tuple[int, str, str]:
    result = workspace.harmonia("promote", *arguments, ROOT)
    return result.returncode, result.stdout, result.stderr


def test_promotion_commits_prods_overlay_on_a_new_branch_whose_diff_is_the_change_in_prod_only(
    environments: Workspace,
) -> None:
    environments.repos.write(
        {f"{ROOT}/{STAGING}": "configValues:\n  replicas: 2\n  greeting: Hey\n"}
    )
    main = environments.commit("Staging says Hey")
    environments.edit(f"{ROOT}/releases/shop/greeter.yaml", "Hello", "Uncommitted")
    status_before = environments.repos.git("status", "--porcelain")

    code, out, err = promote(environments, "shop/greeter", "--from", "staging", "--to", "prod")

    assert code == 0, err
    assert "release shop/greeter: configValues promoted from staging to prod" in out
    assert f"on branch {BRANCH}" in out
    repos = environments.repos
    assert repos.git("rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert repos.git("rev-parse", "HEAD") == main
    assert repos.git("status", "--porcelain") == status_before
    assert repos.git("diff", "--name-only", "main", BRANCH) == PROD
    written = repos.git("show", f"{BRANCH}:{PROD}")
    assert written.startswith("# yaml-language-server: $schema=")
    # staging's replicas and greeting, the base's logLevel (prod deleted it), prod's own
    # timeoutSec kept.
    assert yaml.safe_load(written) == {
        "configValues": {"replicas": 2, "greeting": "Hey"},
        "timeoutSec": 600,
    }

    review = environments.harmonia("diff", "--base", "main", "--head", BRANCH, ROOT, "-o", "json")
    assert review.returncode == 0, review.stderr
    changes = {
        name: {item["release"]: item["change"] for item in found["releases"]}
        for name, found in json.loads(review.stdout)["environments"].items()
    }
    assert changes == {
        "staging": {"shop/debug-tools": "unchanged", "shop/greeter": "unchanged"},
        "dev": {"shop/debug-tools": "unchanged", "shop/greeter": "unchanged"},
        "prod": {"shop/greeter": "changed"},
    }
    text = environments.harmonia("diff", "--base", "main", "--head", BRANCH, ROOT).stdout
    assert "-  greeting: Hello\n-  logLevel: info\n+  greeting: Hey\n+  logLevel: debug" in text
    assert "-  replicas: 3\n+  replicas: 2" in text

    again = promote(environments, "shop/greeter", "--from", "staging", "--to", "prod")
    assert again[0] == 1
    assert f"error: branch {BRANCH}: exists already: pass --branch NAME, or delete it" in again[2]


def test_promotion_gives_prod_the_values_staging_runs_as_written_dates_included(
    environments: Workspace,
) -> None:
    stamp = "2001-12-14t21:59:43.10-05:00"
    environments.repos.write({f"{ROOT}/{STAGING}": f"configValues:\n  since: {stamp}\n"})
    environments.commit("Staging has a date")

    code, _out, err = promote(environments, "shop/greeter", "--from", "staging", "--to", "prod")

    assert code == 0, err
    environments.repos.git("checkout", "--quiet", BRANCH)
    runs = {
        name: load_repository(environments.repos.work / ROOT, environment=name)
        .releases[ReleaseKey("shop/greeter")]
        .config_values
        for name in ("staging", "prod")
    }
    assert runs["prod"] == runs["staging"]
    assert runs["prod"]["since"] == stamp


def test_promotion_deletes_an_overlay_left_with_nothing_to_change(
    environments: Workspace,
) -> None:
    environments.repos.write(
        {
            PROD.replace(
                "greeter", "debug-tools"
            ): "chartPath: charts/greeter\nconfigValues: {greeting: Prod}\n"
        }
    )
    environments.commit("debug-tools in prod, with its own greeting")

    code, out, err = promote(
        environments, "shop/debug-tools", "--from", "dev", "--to", "prod", "--branch", "same"
    )

    assert code == 0, err
    assert "environments/prod/shop/debug-tools.yaml deleted" in out
    assert environments.repos.git("diff", "--name-status", "main", "same") == (
        f"D\t{ROOT}/environments/prod/shop/debug-tools.yaml"
    )


@pytest.mark.parametrize(
    ("arguments", "code", "words"),
    [
        (
            ("shop/nope", "--from", "staging", "--to", "prod"),
            1,
            "release shop/nope: no release file defines it",
        ),
        (
            ("shop/debug-tools", "--from", "dev", "--to", "prod"),
            1,
            "release shop/debug-tools: absent in prod",
        ),
        (
            ("shop/debug-tools", "--from", "dev", "--to", "staging"),
            1,
            "release shop/debug-tools: staging already runs the chart and configValues of dev",
        ),
        (
            ("shop/greeter", "--from", "qa", "--to", "prod"),
            2,
            "environment 'qa': harmonia.yaml declares staging, dev, prod",
        ),
        (
            ("greeter", "--from", "staging", "--to", "prod"),
            2,
            "release 'greeter': expected NAMESPACE/NAME",
        ),
        (("shop/greeter", "--from", "prod", "--to", "prod"), 2, "--from and --to are both 'prod'"),
        (
            ("shop/greeter", "--from", "dev", "--to", "prod", "--branch", "a..b"),
            1,
            "branch a..b: not a valid branch name",
        ),
        (
            ("shop/greeter", "--from", "dev", "--to", "prod", "--branch", "heads/main"),
            1,
            "branch heads/main: names an existing branch, tag or commit",
        ),
    ],
)
def test_promotion_refuses_what_it_cannot_do_and_creates_no_branch(
    environments: Workspace, arguments: tuple[str, ...], code: int, words: str
) -> None:
    result = promote(environments, *arguments)

    assert result[0] == code, result
    assert words in result[2]
    assert environments.repos.git("branch", "--list") == "* main"


def test_promotion_refuses_a_release_invalid_in_either_environment(environments: Workspace) -> None:
    environments.repos.write({f"{ROOT}/{STAGING}": "timeoutSec: soon\n"})
    environments.commit("Break staging's overlay")

    code, _out, err = promote(environments, "shop/greeter", "--from", "staging", "--to", "prod")

    assert code == 1
    assert (
        "error: release shop/greeter: invalid in staging "
        "(see harmonia validate --environment staging)"
    ) in err
