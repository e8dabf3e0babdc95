"""Semantic versions as charts and clusters write them, and the ranges metainfo declares."""

from __future__ import annotations

import pytest

from reconciler.semver import SemVer, parse_semver, within_range


def version(text: str) -> SemVer:
    parsed = parse_semver(text)
    assert parsed is not None, text
    return parsed


@pytest.mark.parametrize(
    ("text", "numbers", "prerelease", "written"),
    [
        ("6.1.0", (6, 1, 0), (), 3),
        ("6.1", (6, 1, 0), (), 2),
        ("6", (6, 0, 0), (), 1),
        ("v1.36.3", (1, 36, 3), (), 3),
        ("1.29.0-eks.1", (1, 29, 0), ("eks", 1), 3),
        ("2.0.0-rc.1+build.5", (2, 0, 0), ("rc", 1), 3),
        (" 1.2.3 ", (1, 2, 3), (), 3),
    ],
)
def test_versions_are_read_with_missing_parts_as_zero(
    text: str, numbers: tuple[int, int, int], prerelease: tuple[int | str, ...], written: int
) -> None:
    assert parse_semver(text) == SemVer(numbers, prerelease, written)
    assert version(text).written == written


@pytest.mark.parametrize("text", ["", "latest", "1.2.3.4", "1..2", "v", "1.2.x", "-1.0"])
def test_text_that_is_not_a_version_gives_none(text: str) -> None:
    assert parse_semver(text) is None


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("1.0.0", "1.0.1"),
        ("1.9.0", "1.10.0"),
        ("1.0.0-alpha", "1.0.0"),
        ("1.0.0-alpha", "1.0.0-alpha.1"),
        ("1.0.0-alpha.1", "1.0.0-alpha.beta"),
        ("1.0.0-beta.2", "1.0.0-beta.11"),
        ("1.0.0-rc.1", "1.0.0"),
        ("6.1", "6.1.1"),
    ],
)
def test_versions_order_as_semver_says(lower: str, higher: str) -> None:
    assert version(lower) < version(higher)
    assert version(higher) > version(lower)


@pytest.mark.parametrize(("one", "other"), [("6.1", "6.1.0"), ("1.0.0+a", "1.0.0+b"), ("v2", "2")])
def test_versions_that_differ_only_in_writing_are_equal(one: str, other: str) -> None:
    assert version(one) == version(other)
    assert hash(version(one)) == hash(version(other))


@pytest.mark.parametrize(
    ("candidate", "minimum", "maximum", "inside"),
    [
        ("6.1.0", "6.0", "6.2", True),
        ("6.0.0", "6.0", "6.2", True),
        ("6.2.9", "6.0", "6.2", True),
        ("6.3.0", "6.0", "6.2", False),
        ("5.9.9", "6.0", "6.2", False),
        ("6.2.1", "6.0", "6.2.0", False),
        ("1.5.0", "1.0.0", "1.99.99", True),
        ("2.0.0", "1.0.0", "1.99.99", False),
        ("6.0.0-rc.1", "6.0", None, False),
        ("9.0.0", "6.0", None, True),
        ("0.1.0", None, "6.2", True),
        ("7.0.0", None, "6", False),
        ("6.9.0", None, "6", True),
    ],
)
def test_a_range_includes_its_bounds_and_a_short_maximum_covers_its_prefix(
    candidate: str, minimum: str | None, maximum: str | None, inside: bool
) -> None:
    assert (
        within_range(
            version(candidate),
            minimum=version(minimum) if minimum else None,
            maximum=version(maximum) if maximum else None,
        )
        is inside
    )
