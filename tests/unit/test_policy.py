"""The reconciler's policy: from its file and flags, narrowed (never widened) by harmonia.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.policy import (
    Policy,
    PolicyConfigError,
    effective_policy,
    load_policy,
    namespace_problems,
)
from reconciler.release_requests import RepositoryConfig, load_repository
from tests.unit.samples import REPOSITORY, release, write_repository

CONFIG = """\
apiVersion: harmonia.dev/v1alpha1
kind: ReconcilerConfig
allowedNamespaces: [shop, team-*]
allowClusterScoped: true
"""


def test_by_default_every_namespace_and_no_cluster_scoped_object_is_allowed() -> None:
    assert load_policy() == Policy(allowed_namespaces=("*",), allow_cluster_scoped=False)


def test_the_config_file_sets_the_policy(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    assert load_policy(path) == Policy(("shop", "team-*"), allow_cluster_scoped=True)


def test_flags_override_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.replace("true", "false"))
    policy = load_policy(path, allowed_namespaces=["apps"], allow_cluster_scoped=True)
    assert policy == Policy(("apps",), allow_cluster_scoped=True)


def test_an_invalid_config_file_is_reported_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.replace("allowClusterScoped", "allowClusterScope"))
    with pytest.raises(PolicyConfigError) as raised:
        load_policy(path)
    ((problem,),) = [raised.value.diagnostics]
    assert (problem.file, problem.line, problem.message) == (
        str(path),
        4,
        "unknown field 'allowClusterScope'",
    )
    assert problem.hint == "did you mean 'allowClusterScoped'?"


def test_an_invalid_namespace_flag_is_a_configuration_error() -> None:
    with pytest.raises(PolicyConfigError, match="not a valid namespace name or pattern"):
        load_policy(allowed_namespaces=["Team_A"])


@pytest.mark.parametrize(
    ("reconciler", "repository", "effective"),
    [
        (("*",), ("shop", "team-*"), ("shop", "team-*")),
        (("team-*",), ("team-a", "team-b-*"), ("team-a", "team-b-*")),
        (("shop", "streaming"), ("shop",), ("shop",)),
        (("te?m",), ("team",), ("team",)),
    ],
)
def test_a_repository_narrows_the_allowed_namespaces(
    reconciler: tuple[str, ...], repository: tuple[str, ...], effective: tuple[str, ...]
) -> None:
    narrowed, problems = effective_policy(
        Policy(reconciler), RepositoryConfig(allowed_namespaces=repository)
    )
    assert problems == ()
    assert narrowed.allowed_namespaces == effective


@pytest.mark.parametrize(
    ("reconciler", "widening"),
    [
        (("shop",), "streaming"),
        (("team-*",), "*"),
        (("team-*",), "*-prod"),
        (("team-a",), "team-*"),
    ],
)
def test_a_repository_cannot_widen_the_allowed_namespaces(
    tmp_path: Path, reconciler: tuple[str, ...], widening: str
) -> None:
    config = REPOSITORY + f'allowedNamespaces: [shop, "{widening}"]\n'
    loaded = load_repository(write_repository(tmp_path, {}, config=config))
    narrowed, problems = effective_policy(Policy(("shop", *reconciler)), loaded.config)
    ((problem,),) = [problems]
    assert (problem.file, problem.line, problem.path) == (
        "harmonia.yaml",
        10,
        "$.allowedNamespaces[1]",
    )
    assert f"'{widening}' is outside the reconciler's allowed namespaces" in problem.message
    assert narrowed.allowed_namespaces == ("shop",)


def test_a_repository_can_forbid_cluster_scoped_objects_but_not_allow_them(
    tmp_path: Path,
) -> None:
    forbidding = RepositoryConfig(allow_cluster_scoped=False)
    assert effective_policy(Policy(allow_cluster_scoped=True), forbidding)[0] == Policy()
    config = REPOSITORY + "allowClusterScoped: true\n"
    loaded = load_repository(write_repository(tmp_path, {}, config=config))
    narrowed, problems = effective_policy(Policy(), loaded.config)
    assert not narrowed.allow_cluster_scoped
    assert [(p.file, p.line, p.path) for p in problems] == [
        ("harmonia.yaml", 10, "$.allowClusterScoped")
    ]


def test_without_a_valid_harmonia_yaml_the_reconciler_policy_applies_unchanged() -> None:
    assert effective_policy(Policy(("shop",)), None) == (Policy(("shop",)), ())


def test_releases_outside_the_allowed_namespaces_are_errors_at_their_namespace(
    tmp_path: Path,
) -> None:
    loaded = load_repository(
        write_repository(
            tmp_path,
            {"releases/a.yaml": release("a", namespace="shop"), "releases/b.yaml": release("b")},
        )
    )
    ((problem,),) = [namespace_problems(Policy(("shop", "team-*")), loaded.releases)]
    assert (problem.file, problem.line, problem.column, problem.release) == (
        "releases/b.yaml",
        4,
        12,
        "apps/b",
    )
    assert problem.message == "namespace 'apps' is not allowed (allowed: shop, team-*)"
