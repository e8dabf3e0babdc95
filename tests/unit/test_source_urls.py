"""URL parsing, redaction and cache keys of the Git source: pure, no Git, no network."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.source import SourceConfigError, cache_key, redact_url
from reconciler.source.urls import parse_remote_url, redact_text, scrub


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:tok@github.com/org/repo.git", "https://***@github.com/org/repo.git"),
        ("https://ghp_token@github.com/org/repo", "https://***@github.com/org/repo"),
        ("http://a:b@c@127.0.0.1:1/", "http://***@127.0.0.1:1/"),
        ("ssh://git@host:2222/srv/repo.git", "ssh://***@host:2222/srv/repo.git"),
        ("https://github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("/srv/git/repo.git", "/srv/git/repo.git"),
    ],
)
def test_redact_url_hides_userinfo_and_nothing_else(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_hides_every_url_credential_in_free_text() -> None:
    text = "fatal: unable to access 'https://u:p1@h/x/': 503; see http://t0k@h2/y too"

    assert (
        redact_text(text)
        == "fatal: unable to access 'https://***@h/x/': 503; see http://***@h2/y too"
    )


def test_scrub_masks_secret_values_raw_and_percent_encoded() -> None:
    text = "token s3/cr+t leaked, encoded s3%2Fcr%2Bt, in https://x:s3/cr+t@h/"

    cleaned = scrub(text, ["s3/cr+t", None, ""])

    assert "s3/cr+t" not in cleaned and "s3%2Fcr%2Bt" not in cleaned
    assert cleaned.count("***") == 3


def test_credentials_in_the_url_are_split_out_of_what_git_is_given() -> None:
    remote = parse_remote_url("https://bot:p%40ss@GitHub.com:443/org/repo.git")

    assert remote.address == "https://github.com:443/org/repo.git"
    assert (remote.username, remote.password) == ("bot", "p@ss")
    assert remote.redacted == "https://***@github.com:443/org/repo.git"
    assert "p@ss" not in repr(remote)


@pytest.mark.parametrize(
    ("url", "transport"),
    [
        ("https://h/r.git", "https"),
        ("http://127.0.0.1:8080/r.git", "http"),
        ("ssh://git@h/r.git", "ssh"),
        ("git://h/r.git", "git"),
        ("file:///srv/r.git", "file"),
        ("git@github.com:org/r.git", "ssh"),
        ("/srv/r.git", "file"),
    ],
)
def test_each_supported_url_form_gets_its_transport(url: str, transport: str) -> None:
    assert parse_remote_url(url).transport == transport


def test_a_relative_local_path_is_made_absolute(tmp_path: Path) -> None:
    assert parse_remote_url("./remote.git", cwd=tmp_path).address == f"{tmp_path}/remote.git"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ext::sh -c touch% /tmp/pwned",
        "fd::17",
        "-uhelp",
        "ftp://h/r.git",
        "https:///no-host",
        "https://h:notaport/r",
        "https://h/r\nInjected: header",
    ],
)
def test_dangerous_or_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(SourceConfigError):
        parse_remote_url(url)


def test_a_refused_url_is_redacted_in_the_error() -> None:
    with pytest.raises(SourceConfigError) as caught:
        parse_remote_url("ftp://me:hunter2@h/r.git")

    assert "hunter2" not in str(caught.value)


def test_the_cache_key_ignores_credentials_and_host_case() -> None:
    assert cache_key("https://a:old@GitHub.com/org/repo.git") == cache_key(
        "https://b:new@github.com/org/repo.git/"
    )


def test_the_cache_key_differs_between_repositories() -> None:
    assert cache_key("https://github.com/org/a.git") != cache_key("https://github.com/org/b.git")


@pytest.mark.parametrize(
    "url",
    ["https://github.com/org/repo.git", "git@h:x/y", "/srv/a b/repo", "https://h/" + "x" * 300],
)
def test_the_cache_key_is_a_short_safe_folder_name(url: str) -> None:
    key = cache_key(url)

    assert len(key) <= 65
    assert all(ch.isalnum() or ch in "-._" for ch in key)
    assert not key.startswith((".", "-"))
