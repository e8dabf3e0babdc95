"""Review without the key: `harmonia diff --base/--head` and `validate` on SOPS files.

Neither ever runs sops, even with a key configured: encrypted values render as
placeholders derived from their ciphertext.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from tests.conftest import GitRepos
from tests.render.test_sops_render import Canaries, repository
from tests.sops_files import AgeKey, age_key, binaries, encrypted, run_sops, sops_binary

HARMONIA_CLI = (sys.executable, "-m", "reconciler")


def review_environment(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HARMONIA_HELM": str(binaries()["helm"]),
        "HARMONIA_CACHE_DIR": str(tmp_path / "cache"),
        "KUBECONFIG": str(tmp_path / "no-cluster-here"),
    }


def test_diff_between_revisions_never_decrypts_even_with_a_key(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    key = age_key(tmp_path / "keys")
    canaries = Canaries.fresh()
    repository(git_repos.work, key, canaries)
    git_repos.commit_and_push({}, "base")
    repository(git_repos.work, key, Canaries.fresh())  # new secrets: new ciphertext
    git_repos.commit_and_push({}, "head")
    calls = tmp_path / "sops-calls"
    spy = tmp_path / "sops"
    spy.write_text(f'#!/bin/sh\necho called >> {calls}\nexec {sops_binary()} "$@"\n')
    spy.chmod(0o755)

    review = subprocess.run(
        [*HARMONIA_CLI, "diff", "--base", "HEAD~1", "--head", "HEAD", ".", "-o", "json"],
        cwd=git_repos.work,
        env={
            **review_environment(tmp_path),
            "HARMONIA_SOPS": str(spy),
            "SOPS_AGE_KEY_FILE": str(key.identity_file),
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    validated = subprocess.run(
        [*HARMONIA_CLI, "validate", "."],
        cwd=git_repos.work,
        env={**review_environment(tmp_path), "HARMONIA_SOPS": str(spy)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert review.returncode == 0, review.stderr
    assert validated.returncode == 0, validated.stderr
    assert not calls.exists()
    assert "web-db" in review.stdout  # the Secret changed: its placeholders did
    assert canaries.password not in review.stdout + review.stderr
    assert canaries.token not in review.stdout + review.stderr


CHART = {
    "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    "charts/app/values.yaml": "mode: slow\npassword: none\ntoken: none\nhost: none\nport: 1\n",
    "charts/app/templates/objects.yaml": """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-db
stringData:
  password: {{ .Values.password | quote }}
data:
  token: {{ .Values.token | b64enc }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
data:
  mode: {{ .Values.mode | quote }}
  endpoint: "https://{{ .Values.host }}.example"
  port: {{ .Values.port | quote }}
""",
}
RELEASE = """\
apiVersion: harmonia.dev/v1alpha1
kind: Release
name: web
namespace: shop
chartPath: charts/app
valuesFiles: [values/web.yaml]
configValues:
  mode: {mode}
"""


@dataclasses.dataclass(frozen=True)
class Secrets:
    password: str
    token: str
    host: str
    port: int

    @classmethod
    def fresh(cls) -> Secrets:
        return cls(
            f"pw-{secrets.token_hex(8)}",
            f"tok-{secrets.token_hex(8)}",
            f"host-{secrets.token_hex(6)}",
            secrets.randbelow(50_000) + 10_000,
        )

    def texts(self) -> tuple[str, ...]:
        """Each value, and the base64 a Secret would hold."""
        plain = (self.password, self.token, self.host)
        return plain + tuple(base64.b64encode(text.encode()).decode() for text in plain)


def committed_repository(git_repos: GitRepos, key: AgeKey, values: Secrets) -> None:
    files = {
        **CHART,
        "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
        "releases/web.yaml": RELEASE.format(mode="slow"),
        "values/web.yaml": encrypted(
            f"password: {values.password}\ntoken: {values.token}\n"
            f"host: {values.host}\nport: {values.port}\n",
            key,
        ),
    }
    git_repos.commit_and_push(files, "base")


def review(git_repos: GitRepos, tmp_path: Path, output: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HARMONIA_CLI, "diff", "--base", "HEAD~1", "--head", "HEAD", ".", "-o", output],
        cwd=git_repos.work,
        env=review_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def reviews(git_repos: GitRepos, tmp_path: Path) -> dict[str, str]:
    found = {}
    for output in ("text", "markdown", "json"):
        done = review(git_repos, tmp_path, output)
        assert done.returncode == 0, done.stderr
        found[output] = done.stdout + done.stderr
    return found


def test_without_the_key_the_pr_diff_names_the_encrypted_fields_whose_ciphertext_changed(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    key = age_key(tmp_path / "keys")
    before = Secrets.fresh()
    committed_repository(git_repos, key, before)
    after = dataclasses.replace(before, password="pw-new-" + secrets.token_hex(8))
    run_sops(
        git_repos.work,
        "set",
        "values/web.yaml",
        '["password"]',
        json.dumps(after.password),
        keys=(key,),
    )
    run_sops(
        git_repos.work, "set", "values/web.yaml", '["host"]', json.dumps("elsewhere"), keys=(key,)
    )
    git_repos.commit_and_push({"releases/web.yaml": RELEASE.format(mode="fast")}, "head")

    outputs = reviews(git_repos, tmp_path)

    text = outputs["text"]
    encrypted_lines = [
        line
        for line in text.splitlines()
        if "(encrypted)" in line and ": " in line and line.startswith("# ")
    ]
    assert encrypted_lines == [
        "# Secret/shop/web-db: data.password changed (encrypted)",
        "# ConfigMap/shop/web-settings: data.endpoint changed (encrypted)",
    ]
    assert "+  mode: fast" in text  # the plain change is a diff as ever
    assert "   endpoint: (encrypted)" in text  # context of the plain change: sealed
    assert "data.password changed (encrypted)" in outputs["markdown"]
    assert "token" not in "\n".join(line for line in text.splitlines() if "changed" in line)
    for output in outputs.values():
        assert "sops:" not in output  # no placeholder
        for needle in (*before.texts(), *after.texts(), "elsewhere"):
            assert needle not in output


def test_without_the_key_a_rotated_file_shows_its_values_as_re_encrypted(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    key = age_key(tmp_path / "keys")
    committed_repository(git_repos, key, Secrets.fresh())
    run_sops(git_repos.work, "rotate", "-i", "values/web.yaml", keys=(key,))
    git_repos.commit_and_push({}, "rotate the data key")

    text = reviews(git_repos, tmp_path)["text"]

    assert [line for line in text.splitlines() if "(encrypted)" in line] == [
        "# Secret/shop/web-db: data.token re-encrypted (encrypted)",
        "# Secret/shop/web-db: data.password re-encrypted (encrypted)",
        "# ConfigMap/shop/web-settings: data.endpoint re-encrypted (encrypted)",
        "# ConfigMap/shop/web-settings: data.port re-encrypted (encrypted)",
    ]


def test_without_the_key_new_recipients_change_nothing_in_the_pr_diff(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    key = age_key(tmp_path / "keys")
    other = age_key(tmp_path / "keys", "other")
    committed_repository(git_repos, key, Secrets.fresh())
    rules = f"creation_rules:\n  - age: {key.recipient},{other.recipient}\n"
    (git_repos.work / ".sops.yaml").write_text(rules)
    run_sops(git_repos.work, "updatekeys", "-y", "values/web.yaml", keys=(key,))
    git_repos.commit_and_push({}, "a second recipient")

    done = review(git_repos, tmp_path, "text")

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_a_changed_secret_leaves_no_plaintext_base64_or_placeholder_in_the_comment_or_diff(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    key = age_key(tmp_path / "keys")
    before = Secrets.fresh()
    committed_repository(git_repos, key, before)
    after = dataclasses.replace(before, token=f"tok-{secrets.token_hex(8)}")
    editor = tmp_path / "editor.sh"
    editor.write_text(f'#!/bin/sh\nsed -i "s/^token: .*$/token: {after.token}/" "$1"\n')
    editor.chmod(0o755)
    run_sops(git_repos.work, "edit", "values/web.yaml", keys=(key,), editor=editor)
    git_repos.commit_and_push({}, "a new token")

    outputs = reviews(git_repos, tmp_path)

    placeholders = re.compile(r"sops:[0-9a-f]{16}")
    encoded_placeholders = re.compile(r"c29wcz[op][A-Za-z0-9+/=]{16,}")  # base64 of "sops:"
    assert "# Secret/shop/web-db: data.token changed (encrypted)" in outputs["text"]
    assert "Secret/shop/web-db: data.token changed (encrypted)" in outputs["markdown"]
    for output in outputs.values():
        assert not placeholders.search(output)
        assert not encoded_placeholders.search(output)
        for needle in (*before.texts(), *after.texts()):
            assert needle not in output
