"""`harmonia diff` against the cluster, with the key, after an encrypted value changed:
the Secret shows as changed with its values masked, as every Secret diff is; neither the
old nor the new plaintext (nor its base64) is printed. Real sops, age and dev cluster."""

from __future__ import annotations

import dataclasses
import json
import secrets
from pathlib import Path

from tests.cluster.test_sops_secrets import found_in, harmonia
from tests.conftest import LiveCluster
from tests.render.test_sops_render import Canaries, repository
from tests.sops_files import age_key, run_sops


def test_with_the_key_a_diff_against_the_cluster_masks_a_changed_encrypted_value(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    key = age_key(tmp_path / "keys")
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries, namespace=namespace)
    cache = tmp_path / "cache"

    def run(*args: str) -> tuple[int, str]:
        done = harmonia(
            cluster,
            *args,
            str(root),
            "--source-id",
            f"tests:{root}",
            "--sops",
            str(cluster.binaries["sops"]),
            "--sops-age-key-file",
            str(key.identity_file),
            cache=cache,
        )
        return done.returncode, done.stdout + done.stderr

    code, applied = run("apply")
    assert code == 0, applied
    changed = dataclasses.replace(canaries, token=f"tok-{secrets.token_hex(8)}")
    run_sops(root, "set", "values/web.yaml", '["apiToken"]', json.dumps(changed.token), keys=(key,))

    code, text = run("diff", "--exit-code")
    _, markdown = run("diff", "-o", "markdown")

    assert code == 1, text
    assert f"Secret/{namespace}/web-db" in text
    assert "***" in text
    for output in (text, markdown):
        assert found_in(output, canaries) == []
        assert found_in(output, changed) == []
