"""Ref classification and subfolder checks of the Git source: pure, no Git."""

from __future__ import annotations

import pytest

from reconciler.source import Ref, RefKind, SourceConfigError, parse_ref
from reconciler.source.refs import normalise_subfolder

SHA1 = "0123456789abcdef0123456789abcdef01234567"
SHA256 = "ab" * 32


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("", Ref(RefKind.HEAD, "HEAD")),
        ("HEAD", Ref(RefKind.HEAD, "HEAD")),
        ("main", Ref(RefKind.NAME, "main")),
        ("release/1.x", Ref(RefKind.NAME, "release/1.x")),
        ("v1.2.0", Ref(RefKind.NAME, "v1.2.0")),
        ("refs/heads/main", Ref(RefKind.BRANCH, "main")),
        ("refs/tags/v1.2.0", Ref(RefKind.TAG, "v1.2.0")),
        (SHA1, Ref(RefKind.COMMIT, SHA1)),
        (SHA1.upper(), Ref(RefKind.COMMIT, SHA1)),
        (SHA256, Ref(RefKind.COMMIT, SHA256)),
        ("deadbeef", Ref(RefKind.NAME, "deadbeef")),
    ],
)
def test_parse_ref_classifies_what_the_user_wrote(text: str, ref: Ref) -> None:
    assert parse_ref(text) == ref


@pytest.mark.parametrize(
    "text",
    [
        "-upload-pack=evil",
        "main..other",
        "has space",
        "a~1",
        "a^",
        "a:b",
        "what?",
        "a*",
        "a[0]",
        "back\\slash",
        "@",
        "ends/",
        "ends.",
        "x.lock",
        ".hidden",
        "a/.hidden",
        "a@{1}",
        "double//slash",
        "refs/heads/",
        "refs/pull/1/head",
        "ctl\x07",
    ],
)
def test_parse_ref_refuses_names_git_would_refuse_or_misread(text: str) -> None:
    with pytest.raises(SourceConfigError):
        parse_ref(text)


@pytest.mark.parametrize(
    ("ref", "shown"),
    [
        (Ref(RefKind.BRANCH, "main"), "refs/heads/main"),
        (Ref(RefKind.TAG, "v1"), "refs/tags/v1"),
        (Ref(RefKind.NAME, "main"), "main"),
        (Ref(RefKind.HEAD, "HEAD"), "HEAD"),
    ],
)
def test_a_ref_prints_as_git_would_name_it(ref: Ref, shown: str) -> None:
    assert str(ref) == shown


@pytest.mark.parametrize(
    ("text", "normal"),
    [("", ""), (".", ""), ("./", ""), ("deploy", "deploy"), ("./a/b/", "a/b"), ("a//b", "a/b")],
)
def test_a_subfolder_is_normalised_to_a_clean_relative_path(text: str, normal: str) -> None:
    assert normalise_subfolder(text) == normal


@pytest.mark.parametrize("text", ["/etc", "..", "../x", "a/../../b", "a/../b", ".git", "a\\b"])
def test_a_subfolder_that_could_leave_the_repository_is_refused(text: str) -> None:
    with pytest.raises(SourceConfigError):
        normalise_subfolder(text)
