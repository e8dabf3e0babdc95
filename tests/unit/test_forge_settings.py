"""The `forge:` section of the reconciler's configuration (commit statuses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.loop.settings import run_settings
from reconciler.notify.forge import ForgeKind, ForgeSettings
from reconciler.policy import PolicyConfigError, load_policy

HEADER = "apiVersion: harmonia.dev/v1alpha1\nkind: ReconcilerConfig\n"


def test_the_forge_section_is_read_into_the_run_settings() -> None:
    document = {
        "repository": {"url": "https://github.com/acme/shop.git"},
        "forge": {
            "type": "gitlab",
            "tokenFile": "/etc/harmonia/forge/token",
            "apiUrl": "https://gitlab.example/api/v4",
            "repository": "group/sub/shop",
            "linkUrl": "https://harmonia.example/releases/{namespace}/{name}",
        },
    }

    settings = run_settings(document, {}, pod_namespace=None)

    assert settings.forge == ForgeSettings(
        ForgeKind.GITLAB,
        Path("/etc/harmonia/forge/token"),
        api_url="https://gitlab.example/api/v4",
        repository="group/sub/shop",
        link_url="https://harmonia.example/releases/{namespace}/{name}",
    )
    assert run_settings({}, {"url": "u"}, pod_namespace=None).forge is None


def test_the_schema_knows_the_forge_section(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(HEADER + "forge: {type: github, tokenFile: /etc/harmonia/forge/token}\n")
    load_policy(config)


@pytest.mark.parametrize(
    ("forge", "words"),
    [
        ("{type: bitbucket, tokenFile: /t}", "$.forge.type"),
        ("{type: github}", "tokenFile"),
        ("{type: github, tokenFile: /t, token: ghp_x}", "token"),
        ("{type: gitea, tokenFile: /t, repository: just-a-name}", "just-a-name"),
    ],
)
def test_a_forge_section_the_loop_cannot_use_is_refused_with_its_line(
    tmp_path: Path, forge: str, words: str
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(HEADER + f"forge: {forge}\n")
    with pytest.raises(PolicyConfigError) as raised:
        load_policy(config)
    assert ":3:" in str(raised.value) and words in str(raised.value)
