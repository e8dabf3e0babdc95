"""The web page of a commit on its forge, which the UI's Revision column links to."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.apply.inventory import InventoryRecord
from reconciler.health import ReleaseHealth, ReleaseState
from reconciler.loop.catalog import RevisionLinks
from reconciler.notify.forge import ForgeKind, ForgeSettings
from reconciler.notify.forge.web import commit_links
from reconciler.status.live import ReleaseStatus
from reconciler.types import ReleaseKey

SHA = "0123456789abcdef0123456789abcdef01234567"


def forge(kind: ForgeKind, repository: str | None = None) -> ForgeSettings:
    return ForgeSettings(kind, Path("/token"), repository=repository)


@pytest.mark.parametrize(
    ("remote", "settings", "page"),
    [
        ("https://github.com/acme/shop.git", None, "https://github.com/acme/shop/commit/"),
        ("git@github.com:acme/shop.git", None, "https://github.com/acme/shop/commit/"),
        ("ssh://git@github.com/acme/shop", None, "https://github.com/acme/shop/commit/"),
        (
            "https://gitlab.com/group/sub/shop.git",
            None,
            "https://gitlab.com/group/sub/shop/-/commit/",
        ),
        ("https://codeberg.org/acme/shop.git", None, "https://codeberg.org/acme/shop/commit/"),
        (
            "ssh://git@gl.example:2222/group/sub/shop.git",
            forge(ForgeKind.GITLAB),
            "https://gl.example/group/sub/shop/-/commit/",
        ),
        (
            "https://git.example:8443/gitea/acme/shop.git",
            forge(ForgeKind.GITEA),
            "https://git.example:8443/gitea/acme/shop/commit/",
        ),
        (
            "http://git.local/acme/shop.git",
            forge(ForgeKind.GITEA),
            "http://git.local/acme/shop/commit/",
        ),
        (
            "git@ghe.example:acme/shop.git",
            forge(ForgeKind.GITHUB, repository="acme/renamed"),
            "https://ghe.example/acme/renamed/commit/",
        ),
    ],
)
def test_a_commit_of_a_known_forge_links_to_its_page(
    remote: str, settings: ForgeSettings | None, page: str
) -> None:
    links = commit_links(remote, settings)

    assert links is not None
    assert links.commit_url(SHA) == page + SHA


@pytest.mark.parametrize(
    "remote",
    [
        "https://x-access-token:s3cret@github.com/acme/shop.git",
        "https://oauth2:s3cret@gitlab.com/group/shop.git",
        "https://user:s3cret@git.example/acme/shop.git",
    ],
)
def test_a_link_never_carries_the_credentials_of_the_remote_url(remote: str) -> None:
    links = commit_links(remote, forge(ForgeKind.GITEA) if "example" in remote else None)

    assert links is not None
    url = links.commit_url(SHA)
    assert url is not None
    assert "s3cret" not in url
    assert "@" not in url


@pytest.mark.parametrize(
    "remote",
    [
        "https://git.example/acme/shop.git",
        "git@git.example:acme/shop.git",
        "/srv/git/shop",
        "file:///srv/git/shop",
        "https://github.com/only-one",
    ],
)
def test_an_unknown_forge_or_a_local_remote_gets_no_link(remote: str) -> None:
    assert commit_links(remote) is None


def test_a_path_that_a_forge_might_read_otherwise_gets_no_link() -> None:
    assert commit_links("https://github.com/acme/sh%22op.git") is None


@pytest.mark.parametrize("revision", ["", "main", "abc", "0123456789abcdef/../../x", SHA.upper()])
def test_a_revision_that_is_no_commit_id_gets_no_link(revision: str) -> None:
    links = commit_links("https://github.com/acme/shop.git")

    assert links is not None
    assert links.commit_url(revision) is None


def recorded(source: str, revision: str = SHA) -> ReleaseStatus:
    record = InventoryRecord(ReleaseKey("shop/web"), source, revision, "sha256:x", ())
    return ReleaseStatus(record, ReleaseHealth(ReleaseState.READY, "ready", ()))


def test_the_catalog_links_only_the_revisions_recorded_under_its_own_source() -> None:
    commits = commit_links("https://user:s3cret@github.com/acme/shop.git")
    assert commits is not None
    links = RevisionLinks("https://***@github.com/acme/shop.git", commits)

    assert links.url(recorded(links.source)) == f"https://github.com/acme/shop/commit/{SHA}"
    assert links.url(recorded("https://github.com/other/repo.git")) is None
    assert links.url(None) is None
