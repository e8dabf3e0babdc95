"""`harmonia diff --base/--head/--live` as a CI job runs it: a real Git repository holding
a copy of examples/, commits on top, `python -m reconciler diff` as a subprocess.

The revision comparisons run with no cluster at all (KUBECONFIG names nothing); the
`--live` test applies the base to the dev cluster first.
"""

from __future__ import annotations

import base64
import json

import pytest
import yaml

from tests.conftest import LiveCluster
from tests.review.conftest import Workspace


def test_scaling_zookeeper_shows_its_change_and_kafkas_fan_out_in_markdown(
    examples: Workspace,
) -> None:
    examples.edit("examples/releases/streaming/zookeeper.yaml", "replicas: 3", "replicas: 5")
    head = examples.commit("Scale ZooKeeper to 5")

    result = examples.harmonia(
        "diff", "--base", "HEAD~1", "--head", "HEAD", "examples", "-o", "markdown"
    )

    assert result.returncode == 0, result.stderr
    comment = result.stdout
    assert f"→ `HEAD ({head[:12]})`" in comment
    assert (
        "| `streaming/zookeeper` | changed (its request changed) | +0 ~2 -0 | +0.2 | +256 | +2 |"
        in comment
    )
    assert (
        "| `streaming/kafka` | changed (the outputs of streaming/zookeeper change) | +0 ~2 -0 |"
        in comment
    )
    assert (
        "`streaming/kafka` changes because the outputs of `streaming/zookeeper` change "
        "(`zookeeper_addresses`, `zookeeper_replicas`); its own file did not change."
    ) in comment
    assert "-  replicas: 3\n+  replicas: 5\n" in comment
    assert "zookeeper-4.zookeeper-hl.streaming.svc.cluster.local:2181/kafka" in comment
    assert "`shop/web`" not in comment and "change-me-not-a-real-password" not in comment
    assert comment.index("<code>streaming/zookeeper</code>") < comment.index(
        "<code>streaming/kafka</code>"
    )

    with_exit_code = examples.harmonia(
        "diff", "--base", "HEAD~1", "--head", "HEAD", "examples", "--exit-code"
    )
    assert with_exit_code.returncode == 1, with_exit_code.stderr
    assert (
        "# release streaming/kafka: changed (the outputs of streaming/zookeeper change)"
        in with_exit_code.stdout
    )


def test_a_commit_that_breaks_a_file_shows_the_error_with_file_and_line_and_exits_1(
    examples: Workspace,
) -> None:
    examples.edit("examples/releases/streaming/kafka.yaml", "timeoutSec: 300", 'timeoutSec: "300"')
    examples.edit("examples/releases/shop/web.yaml", "timeoutSec: 300", "timeoutSec: [300")
    examples.commit("Break two files")

    result = examples.harmonia(
        "diff", "--base", "HEAD~1", "--head", "HEAD", "examples", "-o", "markdown"
    )

    assert result.returncode == 1, result.stderr
    comment = result.stdout
    assert "#### Validation errors" in comment
    assert "examples/releases/streaming/kafka.yaml:22:13: expected an integer" in comment
    assert "examples/releases/shop/web.yaml:19:1: YAML syntax error" in comment
    # A file that no longer parses names no release: it is invalid, not removed.
    assert "| `shop/web` | invalid |" in comment and "| removed |" not in comment
    assert "| `streaming/kafka` | invalid |" in comment
    assert "change-me-not-a-real-password" not in comment

    as_text = examples.harmonia("diff", "--base", "HEAD~1", "--head", "HEAD", "examples")
    assert as_text.returncode == 1
    assert "examples/releases/streaming/kafka.yaml:22:13: expected an integer" in as_text.stdout


def test_no_secret_value_appears_in_text_markdown_or_json(examples: Workspace) -> None:
    token = examples.repos.work / "examples/charts/web/templates/api-token.yaml"
    token.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: api-token}\n"
        "stringData: {token: base-token-value-1}\n"
    )
    examples.commit("An API token")
    examples.edit(
        "examples/charts/web/templates/api-token.yaml", "base-token-value-1", "head-token-value-2"
    )
    examples.edit(
        "examples/releases/shop/web.yaml",
        "  replicas: 2\n",
        "  replicas: 2\n  secret: {databasePassword: rotated-password-3}\n",
    )
    examples.commit("Rotate the token and the password")
    secrets = (
        "base-token-value-1",
        "head-token-value-2",
        "rotated-password-3",
        "change-me-not-a-real-password",
    )
    forbidden = {*secrets, *(base64.b64encode(value.encode()).decode() for value in secrets)}

    for output in ("text", "markdown", "json"):
        result = examples.harmonia(
            "diff", "--base", "HEAD~1", "--head", "HEAD", "examples", "-o", output
        )
        assert result.returncode == 0, result.stderr
        shown = result.stdout + result.stderr
        assert "Secret/shop/api-token" in shown, output
        assert "*** (before)" in shown and "*** (after)" in shown, output
        assert not [value for value in forbidden if value in shown], output


def test_identical_revisions_show_no_differences_and_exit_0_with_exit_code(
    examples: Workspace,
) -> None:
    examples.edit("examples/README.md", "# The example repository", "# The examples")
    examples.commit("Docs only")

    text = examples.harmonia(
        "diff", "--base", "HEAD~1", "--head", "HEAD", "examples", "--exit-code"
    )
    markdown = examples.harmonia(
        "diff", "--base", "HEAD", "--head", "HEAD", "examples", "--exit-code", "-o", "markdown"
    )

    assert (text.returncode, text.stdout) == (0, ""), text.stderr
    assert markdown.returncode == 0, markdown.stderr
    assert "**No differences**" in markdown.stdout and "<details" not in markdown.stdout


def test_a_release_removed_shows_as_removed(examples: Workspace) -> None:
    examples.repos.git("rm", "--quiet", "examples/releases/shop/web.yaml")
    examples.commit("Remove the web shop")

    result = examples.harmonia(
        "diff", "--base", "HEAD~1", "--head", "HEAD", "examples", "-o", "json"
    )

    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    (web,) = [item for item in body["releases"] if item["release"] == "shop/web"]
    assert web["change"] == "removed"
    assert web["objects"]["counts"]["deleted"] == 4
    assert web["resources"]["delta"]["cpuCores"] == -0.1
    others = [item["change"] for item in body["releases"] if item["release"] != "shop/web"]
    assert others == ["unchanged"] * 3
    markdown = examples.harmonia(
        "diff", "--base", "HEAD~1", "--head", "HEAD", "examples", "-o", "markdown"
    )
    assert "| `shop/web` | removed | +0 ~0 -4 |" in markdown.stdout


def test_base_alone_compares_with_the_working_tree_like_git_diff(examples: Workspace) -> None:
    examples.edit("examples/releases/shop/web.yaml", "logLevel: info", "logLevel: debug")

    result = examples.harmonia("diff", "--base", "HEAD", "examples", "--exit-code")

    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("# base HEAD (")
    assert ", head working tree\n" in result.stdout
    assert "-  LOG_LEVEL: info\n+  LOG_LEVEL: debug\n" in result.stdout


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (("--head", "HEAD"), "--head needs --base (two revisions) or --live (the cluster)"),
        (("--base", "no-such-branch"), "no such commit in the local repository"),
        (("--base", "HEAD", "-o", "yaml"), "Invalid value for '-o'"),
    ],
)
def test_usage_errors_exit_2(examples: Workspace, arguments: tuple[str, ...], words: str) -> None:
    result = examples.harmonia("diff", *arguments, "examples")

    assert result.returncode == 2, result.stderr
    assert words in result.stderr


def test_live_compares_the_committed_head_with_the_cluster(
    workspace: Workspace, cluster: LiveCluster, namespace: str
) -> None:
    live = {**workspace.environment, "KUBECONFIG": str(cluster.kubeconfig)}
    workspace = Workspace(workspace.repos, live)

    def objects(mode: str, token: str) -> str:
        settings = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings"},
            "data": {"mode": mode},
        }
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "token"},
            "stringData": {"token": token},
        }
        return yaml.safe_dump_all([settings, secret], sort_keys=False)

    release = {
        "apiVersion": "harmonia.dev/v1alpha1",
        "kind": "Release",
        "name": "app",
        "namespace": namespace,
        "chartPath": "charts/app",
    }
    workspace.repos.commit_and_push(
        {
            "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
            f"releases/{namespace}/app.yaml": json.dumps(release),
            "charts/app/objects.yaml": objects("fast", "live-secret-base"),
        },
        "The base",
    )
    applied = workspace.harmonia("apply", ".")
    assert applied.returncode == 0, applied.stderr
    workspace.repos.commit_and_push(
        {"charts/app/objects.yaml": objects("slow", "live-secret-head")}, "The head"
    )
    workspace.edit("charts/app/objects.yaml", "mode: slow", "mode: uncommitted")

    head = workspace.harmonia("diff", "--live", ".", "--exit-code")
    base = workspace.harmonia("diff", "--live", "--head", "HEAD~1", ".", "--exit-code")
    markdown = workspace.harmonia("diff", "--live", "--base", "HEAD~1", ".", "-o", "markdown")

    assert head.returncode == 1, head.stderr
    assert "-  mode: fast\n+  mode: slow\n" in head.stdout
    assert "uncommitted" not in head.stdout
    assert f"# release {namespace}/app: 2 configured" in head.stdout
    assert (base.returncode, base.stdout) == (0, ""), base.stderr
    assert markdown.returncode == 0, markdown.stderr
    assert "note: --live compares the head with the cluster; --base is not used" in markdown.stderr
    assert "### Harmonia diff: `cluster` → `HEAD (" in markdown.stdout
    assert "| release | change | objects +/~/- |\n" in markdown.stdout  # no estimate of live
    assert f"--- live v1 ConfigMap/{namespace}/settings" in markdown.stdout
    shown = head.stdout + head.stderr + markdown.stdout
    assert "live-secret" not in shown
