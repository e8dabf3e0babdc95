"""The forge repository a remote URL names, and the forge settings built from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.notify.forge import ForgeConfigError, ForgeKind, ForgeSettings, load_forge
from reconciler.notify.forge.model import default_api_url, read_token
from reconciler.notify.forge.repository import remote_host, repository_from_remote


@pytest.mark.parametrize(
    ("url", "kind", "repository"),
    [
        ("https://github.com/acme/shop.git", "github", "acme/shop"),
        ("https://github.com/acme/shop", "github", "acme/shop"),
        ("https://x-access-token:s3cret@github.com/acme/shop.git", "github", "acme/shop"),
        ("ssh://git@github.com/acme/shop.git", "github", "acme/shop"),
        ("ssh://git@gitea.example:2222/acme/shop.git", "gitea", "acme/shop"),
        ("git@github.com:acme/shop.git", "github", "acme/shop"),
        ("git@github.com:acme/shop", "github", "acme/shop"),
        ("https://git.example/gitea/acme/shop.git", "gitea", "acme/shop"),
        ("https://gitlab.com/group/sub/shop.git", "gitlab", "group/sub/shop"),
        ("git@gitlab.example:group/sub/deeper/shop.git", "gitlab", "group/sub/deeper/shop"),
        ("https://gitlab.com/group/shop/", "gitlab", "group/shop"),
    ],
)
def test_the_repository_is_read_from_https_ssh_and_scp_like_remotes(
    url: str, kind: str, repository: str
) -> None:
    assert repository_from_remote(url, kind) == repository


@pytest.mark.parametrize("url", ["https://github.com/shop.git", "/srv/git/acme/shop", "-x"])
def test_a_remote_that_names_no_repository_says_to_set_it(url: str) -> None:
    with pytest.raises(ForgeConfigError, match=r"^forge: .*"):
        repository_from_remote(url, "github")


def test_the_error_for_an_unusable_remote_never_shows_its_credentials() -> None:
    with pytest.raises(ForgeConfigError) as raised:
        repository_from_remote("https://user:s3cret@github.com/only-one", "github")
    assert "s3cret" not in str(raised.value)
    assert "set forge.repository" in str(raised.value)


@pytest.mark.parametrize(
    ("kind", "url", "api"),
    [
        (ForgeKind.GITHUB, "https://github.com/a/b.git", "https://api.github.com"),
        (ForgeKind.GITHUB, "git@ghe.example:a/b.git", "https://ghe.example/api/v3"),
        (ForgeKind.GITLAB, "https://gitlab.com/g/s/b.git", "https://gitlab.com/api/v4"),
        (ForgeKind.GITLAB, "ssh://git@gl.example:2222/g/b.git", "https://gl.example/api/v4"),
        (ForgeKind.GITEA, "https://codeberg.org/a/b.git", "https://codeberg.org/api/v1"),
    ],
)
def test_the_api_url_defaults_from_the_remotes_host(kind: ForgeKind, url: str, api: str) -> None:
    assert default_api_url(kind, remote_host(url)) == api


def test_gitea_without_a_host_needs_its_api_url() -> None:
    with pytest.raises(ForgeConfigError, match=r"^forge\.apiUrl: "):
        default_api_url(ForgeKind.GITEA, None)


def test_the_forge_is_loaded_with_its_token_from_the_file_and_the_override_wins(
    tmp_path: Path,
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("ghp_example\n")
    settings = ForgeSettings(
        ForgeKind.GITHUB, token_file, repository="other/place", api_url="https://ghe/api/v3/"
    )

    forge = load_forge(settings, remote_url="https://github.com/acme/shop.git")

    assert (forge.repository, forge.api_url, forge.token) == (
        "other/place",
        "https://ghe/api/v3",
        "ghp_example",
    )
    assert "ghp_example" not in repr(forge)


@pytest.mark.parametrize("content", [None, "", "  \n"])
def test_a_missing_or_empty_token_file_is_named_in_the_error(
    tmp_path: Path, content: str | None
) -> None:
    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_text(content)
    settings = ForgeSettings(ForgeKind.GITLAB, token_file)

    with pytest.raises(ForgeConfigError, match=rf"^forge token file {token_file}: "):
        load_forge(settings, remote_url="https://gitlab.com/g/b.git")


@pytest.mark.parametrize("content", ["ghp_first\nghp_second\n", "ghp_a b", "ghp_\x7fx"])
def test_a_token_file_holding_more_than_the_token_is_refused_without_showing_it(
    tmp_path: Path, content: str
) -> None:
    """http.client refuses a header with a line break, quoting the whole header (the token)
    in its ValueError: the file is refused when read, by name only."""
    token_file = tmp_path / "token"
    token_file.write_text(content)
    with pytest.raises(ForgeConfigError) as refused:
        read_token(token_file)
    assert str(refused.value).startswith(f"forge token file {token_file}: ")
    assert "ghp_" not in str(refused.value)
