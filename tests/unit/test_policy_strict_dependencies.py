"""`strictDependencies`: the reconciler's own setting (file or flag) that turns metainfo
chart mismatches of dependencies into errors; a repository's harmonia.yaml keeps it."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli.options import reconciler_policy
from reconciler.policy import Policy, PolicyConfigError, effective_policy, load_policy
from reconciler.release_requests import RepositoryConfig

CONFIG = "apiVersion: harmonia.dev/v1alpha1\nkind: ReconcilerConfig\nstrictDependencies: {}\n"


def test_dependencies_are_lenient_by_default() -> None:
    assert load_policy().strict_dependencies is False


@pytest.mark.parametrize(("written", "strict"), [("true", True), ("false", False)])
def test_the_config_file_sets_strict_dependencies(
    tmp_path: Path, written: str, strict: bool
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(written))
    assert load_policy(path).strict_dependencies is strict


def test_the_flag_overrides_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format("false"))
    assert load_policy(path, strict_dependencies=True).strict_dependencies is True
    assert reconciler_policy(path, (), False, True).strict_dependencies is True
    assert reconciler_policy(path, (), False, False).strict_dependencies is False


def test_a_setting_that_is_not_a_boolean_is_reported_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format("yes please"))
    with pytest.raises(PolicyConfigError) as raised:
        load_policy(path)
    (problem,) = raised.value.diagnostics
    assert (problem.line, problem.path) == (3, "$.strictDependencies")


def test_a_repository_narrowing_the_policy_keeps_strict_dependencies() -> None:
    policy = Policy(allowed_namespaces=("*",), strict_dependencies=True)
    narrowed, problems = effective_policy(
        policy, RepositoryConfig(allowed_namespaces=("shop",), allow_cluster_scoped=False)
    )
    assert problems == ()
    assert narrowed == Policy(("shop",), allow_cluster_scoped=False, strict_dependencies=True)
