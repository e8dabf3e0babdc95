"""Review without the key of SOPS-encrypted manifests (plain and Kustomize charts):
`harmonia diff --base/--head` shows the Secret whose ciphertext changed, and nothing
for the one that did not; no plaintext, sops never needed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import GitRepos
from tests.render.test_sops_manifests import SECRET_FIELDS, Canaries, repository, secret_manifest
from tests.review.test_sops_review import HARMONIA_CLI, review_environment
from tests.sops_files import age_key, binaries, encrypted


def test_the_review_shows_the_sops_manifest_whose_ciphertext_changed_and_only_it(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    key = age_key(tmp_path / "keys")
    canaries = Canaries.fresh()
    repository(git_repos.work, key, canaries)
    git_repos.commit_and_push({}, "base")
    rotated = Canaries.fresh()
    (git_repos.work / "charts/plain/secret.yaml").write_text(
        encrypted(
            secret_manifest(rotated.password, rotated.token), key, encrypted_regex=SECRET_FIELDS
        )
    )
    git_repos.commit_and_push({}, "head: the plain chart's Secret rotated")

    review = subprocess.run(
        [*HARMONIA_CLI, "diff", "--base", "HEAD~1", "--head", "HEAD", ".", "-o", "json"],
        cwd=git_repos.work,
        env={**review_environment(tmp_path), "HARMONIA_KUBECTL": str(binaries()["kubectl"])},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert review.returncode == 0, review.stderr
    shown = review.stdout + review.stderr
    for secret in (canaries, rotated):
        assert secret.password not in shown and secret.token not in shown
    # Placeholders, not ciphertext; the SOPS metadata (its MAC, its date) is no field.
    assert "ENC[AES256_GCM" not in shown and "lastmodified" not in shown
    changes = {item["release"]: item["change"] for item in json.loads(review.stdout)["releases"]}
    assert changes == {
        "shop/plain": "changed",
        "shop/kustomized": "unchanged",
        "shop/other": "unchanged",
    }, changes
