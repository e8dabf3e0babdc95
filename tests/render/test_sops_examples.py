"""The examples' encrypted values file: shop/web's database password, encrypted by the real
sops for the demo key under examples/keys/. With that key it renders into the Secret; without
one, validation passes and the Secret holds a placeholder; the key, the creation rule and the
file agree on the recipient."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from reconciler.desired import DesiredState
from reconciler.render.secrets.sops_decryption import SopsSettings
from reconciler.types import ReleaseKey
from tests.render.test_sops_render import desired
from tests.sops_files import sops_binary

EXAMPLES = Path(__file__).parents[2] / "examples"
DEMO_KEY = EXAMPLES / "keys" / "demo-age-key.txt"
ENCRYPTED_VALUES = EXAMPLES / "values" / "shop" / "web-secrets.yaml"
DEMO_PASSWORD = "demo-password-from-sops"
WEB = ReleaseKey("shop/web")


def database_password(state: DesiredState) -> str:
    """The DATABASE_PASSWORD of shop/web's Secret, as rendered."""
    (secret,) = (o for o in state.render.rendered[WEB].objects if o["kind"] == "Secret")
    data: Any = secret["data"]
    return base64.b64decode(data["DATABASE_PASSWORD"]).decode()


def test_shop_web_renders_the_password_sops_decrypts_with_the_demo_key(
    helm_binary: Path, tmp_path: Path
) -> None:
    sops = SopsSettings(sops_binary(), age_key_file=DEMO_KEY)

    state = desired(EXAMPLES, helm_binary, tmp_path / "cache", sops)

    assert not state.render.failed, state.render.failed
    assert database_password(state) == DEMO_PASSWORD
    assert ENCRYPTED_VALUES.read_text().count(DEMO_PASSWORD) == 0


def test_without_a_key_the_examples_validate_and_shop_web_renders_a_placeholder(
    helm_binary: Path, tmp_path: Path
) -> None:
    validated = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", str(EXAMPLES)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=120,
        check=False,
    )
    assert validated.returncode == 0, validated.stderr + validated.stdout

    state = desired(EXAMPLES, helm_binary, tmp_path / "cache", None)

    assert not state.render.failed, state.render.failed
    assert database_password(state).startswith("sops:")


def test_the_demo_key_says_so_and_is_the_recipient_of_the_rule_and_of_the_file() -> None:
    text = DEMO_KEY.read_text()
    assert text.startswith("# DEMO KEY"), "the key file's first line says it is a demo key"
    assert "Never encrypt anything real for it" in text
    recipient = re.search(r"^# public key: (age1\w+)$", text, re.MULTILINE)
    assert recipient is not None
    rules = yaml.safe_load((EXAMPLES / ".sops.yaml").read_text())["creation_rules"]
    assert {rule["age"] for rule in rules} == {recipient[1]}
    metadata = yaml.safe_load(ENCRYPTED_VALUES.read_text())["sops"]
    assert [entry["recipient"] for entry in metadata["age"]] == [recipient[1]]
