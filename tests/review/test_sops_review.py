"""Review without the key: `harmonia diff --base/--head` and `validate` on SOPS files.

Neither ever runs sops, even with a key configured: encrypted values render as
placeholders derived from their ciphertext.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import GitRepos
from tests.render.test_sops_render import Canaries, repository
from tests.sops_files import age_key, binaries, sops_binary

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
