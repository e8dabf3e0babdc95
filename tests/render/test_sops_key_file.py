"""An age key file that does not exist: deploy/ mounts it from an optional Secret, so the
reconciler starts without it and only the releases whose SOPS files needed it fail, saying
which file was missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from reconciler.render.secrets.sops_decryption import SopsSettings
from tests.render.test_sops_render import OTHER, WEB, Canaries, desired, repository
from tests.sops_files import age_key, sops_binary

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_a_missing_age_key_file_fails_only_the_releases_it_was_to_decrypt_and_says_so(
    helm_binary: Path, tmp_path: Path
) -> None:
    key = age_key(tmp_path / "keys")
    root = repository(tmp_path / "repo", key, Canaries.fresh())
    missing = tmp_path / "mounted" / "keys.txt"

    state = desired(root, helm_binary, tmp_path / "cache", SopsSettings(sops_binary(), missing))

    message = state.render.failed[WEB].message
    assert f"encrypted for age {key.recipient}" in message
    assert message.endswith(f"(the age key file {missing} does not exist)"), message
    assert list(state.render.rendered) == [OTHER]


def test_a_missing_age_key_file_named_by_the_environment_is_no_usage_error(
    helm_binary: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "mounted" / "keys.txt"

    rendered = subprocess.run(
        [
            *(sys.executable, "-m", "reconciler", "render", str(EXAMPLES)),
            *("--release", "shop/web", "--offline", "--helm", str(helm_binary)),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "SOPS_AGE_KEY_FILE": str(missing), "HARMONIA_CACHE_DIR": str(tmp_path)},
        timeout=300,
        check=False,
    )

    assert rendered.returncode == 0, rendered.stderr
    assert "kind: Secret" in rendered.stdout
