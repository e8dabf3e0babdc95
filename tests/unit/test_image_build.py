"""The pure parts of the image build: which base images need stand-ins, how each is made,
and what the build context is (the digest that decides whether to build at all)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devcluster.build import BuildError
from devcluster.image import ROOT, context_files, ignored
from devcluster.stand_ins import base_images, stand_in_for

DOCKERFILE = """\
FROM golang:1.26.8-bookworm AS tools
RUN true
FROM debian:bookworm-slim AS builder
FROM builder AS more
FROM debian:bookworm-slim
"""


def test_the_base_images_are_the_from_lines_that_name_no_earlier_stage() -> None:
    assert base_images(DOCKERFILE) == ["golang:1.26.8-bookworm", "debian:bookworm-slim"]


def test_the_golang_stand_in_has_that_go_at_the_official_images_place() -> None:
    golang = stand_in_for("golang:1.26.8-bookworm")
    assert (golang.name, golang.suite, golang.go_version) == (
        "docker.io/library/golang:1.26.8-bookworm",
        "bookworm",
        "go1.26.8",
    )
    env = dict(golang.env)
    assert env["GOPATH"] == "/go" and env["GOTOOLCHAIN"] == "local"
    assert env["PATH"].startswith("/go/bin:/usr/local/go/bin:")
    assert {"git", "gcc", "ca-certificates"} <= set(golang.packages)


def test_the_slim_stand_in_adds_no_package_and_no_go() -> None:
    slim = stand_in_for("debian:bookworm-slim")
    assert (slim.packages, slim.go_version, slim.suite) == ((), None, "bookworm")


def test_an_image_without_a_known_stand_in_is_refused_by_name() -> None:
    with pytest.raises(BuildError, match=r"python:3\.11-slim"):
        stand_in_for("python:3.11-slim")


def test_a_recipe_changes_with_what_the_machine_gives_the_stand_in() -> None:
    slim = stand_in_for("debian:bookworm-slim")
    assert slim.recipe("sources A") != slim.recipe("sources B")
    assert slim.recipe("sources A") == slim.recipe("sources A")


@pytest.mark.parametrize(
    ("path", "is_ignored"),
    [
        ("tests/unit/test_cli.py", True),
        ("reconciler/loop/cycle.py", False),
        ("reconciler/loop/__pycache__/cycle.cpython-311.pyc", True),
        ("devcluster/build.py", False),
        ("devcluster/cli.py", True),
        ("requirements/runtime.txt", False),
        ("requirements/dev.txt", True),
    ],
)
def test_the_dockerignore_rule_last_match_wins_and_bang_lets_in(
    path: str, is_ignored: bool
) -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert ignored(path, patterns) is is_ignored


def test_the_context_is_what_the_dockerignore_lets_in_and_no_cache(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("*\n!app\n!docs/keep.md\n**/__pycache__\n")
    for relative in ("app/a.py", "app/__pycache__/a.pyc", "docs/keep.md", "docs/drop.md", "x"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("content")
    assert context_files(tmp_path) == ["app/a.py", "docs/keep.md"]
