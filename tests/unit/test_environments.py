"""Loading a repository for one environment: its settings, its overlays, and bad overlays
reported at their file:line without touching the other environments."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.desired import check_repository
from reconciler.policy import Policy
from reconciler.release_requests import (
    EnvironmentChoiceError,
    LoadedRepository,
    environment_source,
    load_repository,
    of_environment,
    require_environment,
)
from reconciler.types import ReleaseKey
from tests.unit.samples import REPOSITORY, release, write_repository

ENVIRONMENTS = (
    REPOSITORY
    + """\
allowedNamespaces: [apps, tools]
environments:
  staging: {}
  prod:
    kubeVersion: v1.35.0
    apiVersions: [example.com/v1]
    allowedNamespaces: [apps]
    allowClusterScoped: false
    statusBranch: status-prod
"""
)
SOPS_METADATA = """\
sops:
  age: [{recipient: age1alice, enc: "..."}]
  mac: ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]
  version: 3.9.0
"""
ENCRYPTED_WEB = (
    release(
        "web", configValues="{password: 'ENC[AES256_GCM,data:cGFzcw==,iv:aXY=,tag:dGFn,type:str]'}"
    )
    + SOPS_METADATA
)
"""A release file as sops writes it with --encrypted-regex configValues (no key needed
to load it)."""
WEB = ReleaseKey("apps/web")
API = ReleaseKey("apps/api")


def repository(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    base = {
        "releases/web.yaml": release("web", configValues="{replicas: 1, image: {tag: '1'}}"),
        "releases/api.yaml": release("api", timeoutSec="60"),
    }
    return write_repository(tmp_path, {**base, **files}, config=ENVIRONMENTS)


def errors(loaded: LoadedRepository) -> list[tuple[str, int, str]]:
    return [(item.file, item.line, item.message) for item in loaded.errors]


def test_an_environment_gets_its_overlays_merged_over_the_release_files(tmp_path: Path) -> None:
    root = repository(
        tmp_path,
        {"environments/prod/apps/web.yaml": "configValues:\n  replicas: 3\ntimeoutSec: 900\n"},
    )
    prod = load_repository(root, environment="prod")
    assert prod.errors == ()
    assert prod.releases[WEB].config_values == {"replicas": 3, "image": {"tag": "1"}}
    assert prod.releases[WEB].timeout_sec == 900
    staging = load_repository(root, environment="staging")
    assert staging.releases[WEB].config_values == {"replicas": 1, "image": {"tag": "1"}}


def test_an_environments_settings_replace_the_repositorys_own(tmp_path: Path) -> None:
    root = repository(tmp_path, {})
    prod = load_repository(root, environment="prod").config
    assert prod is not None and prod.environment == "prod"
    assert (prod.kube_version, prod.api_versions) == ("v1.35.0", ("example.com/v1",))
    assert (prod.allowed_namespaces, prod.allow_cluster_scoped) == (("apps",), False)
    assert prod.status_branch == "status-prod"
    staging = load_repository(root, environment="staging").config
    assert staging is not None and staging.environment == "staging"
    assert (staging.kube_version, staging.allowed_namespaces) == ("v1.36.3", ("apps", "tools"))
    assert staging.status_branch == "harmonia-status"


def test_an_absent_overlay_leaves_the_release_out_of_that_environment_only(tmp_path: Path) -> None:
    root = repository(tmp_path, {"environments/prod/apps/api.yaml": "absent: true\n"})
    prod = load_repository(root, environment="prod")
    assert (prod.errors, API in prod.releases, API in prod.invalid_releases) == ((), False, False)
    assert API in load_repository(root, environment="staging").releases


def test_an_overlay_of_an_unknown_release_is_an_error_at_the_overlay(tmp_path: Path) -> None:
    root = repository(tmp_path, {"environments/prod/apps/shop.yaml": "paused: true\n"})
    prod = load_repository(root, environment="prod")
    assert errors(prod) == [
        (
            "environments/prod/apps/shop.yaml",
            1,
            "no release apps/shop in the repository for this overlay",
        )
    ]
    assert set(prod.releases) == {WEB, API}
    assert load_repository(root, environment="staging").errors == ()


def test_an_overlay_that_breaks_the_schema_after_merging_fails_its_release_at_the_overlay(
    tmp_path: Path,
) -> None:
    root = repository(
        tmp_path, {"environments/prod/apps/web.yaml": "paused: true\ntimeoutSec: x\n"}
    )
    prod = load_repository(root, environment="prod")
    [problem] = prod.errors
    assert (problem.file, problem.line, problem.column) == (
        "environments/prod/apps/web.yaml",
        2,
        13,
    )
    assert problem.release == WEB and "expected an integer" in problem.message
    assert WEB not in prod.releases and WEB in prod.invalid_releases
    assert API in prod.releases
    assert WEB in load_repository(root, environment="staging").releases


def test_an_overlay_deleting_the_chart_is_an_error_at_its_null(tmp_path: Path) -> None:
    root = repository(
        tmp_path, {"environments/prod/apps/web.yaml": "paused: true\nchartPath: null\n"}
    )
    prod = load_repository(root, environment="prod")
    assert errors(prod) == [
        (
            "environments/prod/apps/web.yaml",
            2,
            "environment prod: needs one of: chartPath, repoName + chartName + chartVersion, "
            "chartImage",
        )
    ]
    assert WEB in prod.invalid_releases and API in prod.releases


def test_a_problem_of_the_release_file_stays_at_its_line_and_its_overlay_says_so(
    tmp_path: Path,
) -> None:
    root = repository(
        tmp_path,
        {
            "releases/web.yaml": release("web", valuesFiles="[values/missing.yaml]"),
            "environments/prod/apps/web.yaml": "paused: true\n",
        },
    )
    prod = load_repository(root, environment="prod")
    assert errors(prod) == [
        (
            "environments/prod/apps/web.yaml",
            1,
            "release apps/web: its file releases/web.yaml is invalid",
        ),
        ("releases/web.yaml", 6, "values file 'values/missing.yaml' does not exist"),
    ]
    assert WEB in prod.invalid_releases and API in prod.releases


def test_an_overlay_with_an_unknown_field_is_an_error_at_that_field(tmp_path: Path) -> None:
    root = repository(tmp_path, {"environments/prod/apps/web.yaml": "paused: true\nreplicas: 3\n"})
    prod = load_repository(root, environment="prod")
    assert [(p.file, p.line, p.message) for p in prod.errors] == [
        ("environments/prod/apps/web.yaml", 2, "unknown field 'replicas'")
    ]
    assert WEB in prod.invalid_releases and WEB not in prod.releases


def test_an_overlay_setting_the_name_is_refused_at_that_line(tmp_path: Path) -> None:
    root = repository(tmp_path, {"environments/prod/apps/web.yaml": "paused: true\nname: other\n"})
    [problem] = load_repository(root, environment="prod").errors
    assert (problem.file, problem.line, problem.release) == (
        "environments/prod/apps/web.yaml",
        2,
        WEB,
    )
    assert problem.message == "an overlay may not set 'name': its path names the release"


def test_overlay_files_of_an_undeclared_environment_are_errors_at_each_file(
    tmp_path: Path,
) -> None:
    root = repository(tmp_path, {"environments/qa/apps/web.yaml": "paused: true\n"})
    for environment in ("prod", "staging", None):
        loaded = load_repository(root, environment=environment)
        assert errors(loaded) == [
            (
                "environments/qa/apps/web.yaml",
                1,
                "environment 'qa' is not declared in harmonia.yaml",
            )
        ]
        assert set(loaded.releases) == {WEB, API}


def test_an_overlay_outside_the_environment_namespace_name_layout_is_an_error(
    tmp_path: Path,
) -> None:
    root = repository(tmp_path, {"environments/prod/web.yaml": "paused: true\n"})
    [problem] = load_repository(root, environment="prod").errors
    assert problem.file == "environments/prod/web.yaml"
    assert problem.message.startswith("not an overlay")


def test_an_unknown_environment_name_is_refused_naming_the_declared_ones(tmp_path: Path) -> None:
    declared = r"'qa': harmonia\.yaml declares staging, prod"
    with pytest.raises(EnvironmentChoiceError, match=declared):
        load_repository(repository(tmp_path, {}), environment="qa")


def test_an_environment_of_a_repository_declaring_none_is_refused(tmp_path: Path) -> None:
    root = write_repository(tmp_path, {"releases/web.yaml": release("web")})
    with pytest.raises(EnvironmentChoiceError, match="declares no environments"):
        load_repository(root, environment="prod")


def test_rendering_needs_an_environment_when_some_are_declared(tmp_path: Path) -> None:
    loaded = load_repository(repository(tmp_path, {}))
    with pytest.raises(EnvironmentChoiceError, match="declares environments staging, prod"):
        require_environment(loaded.config)
    require_environment(load_repository(tmp_path, environment="prod").config)


def test_an_empty_environments_mapping_is_an_error(tmp_path: Path) -> None:
    root = write_repository(
        tmp_path, {"releases/web.yaml": release("web")}, config=REPOSITORY + "environments: {}\n"
    )
    [problem] = load_repository(root).errors
    assert (problem.file, problem.line) == ("harmonia.yaml", 10)


def test_a_repository_without_environments_loads_as_before(tmp_path: Path) -> None:
    loaded = load_repository(write_repository(tmp_path, {"releases/web.yaml": release("web")}))
    assert loaded.config is not None
    assert (loaded.config.environments, loaded.config.environment) == ({}, None)


def test_the_base_of_a_sops_file_keeps_its_configvalues_from_overlays(tmp_path: Path) -> None:
    root = repository(
        tmp_path,
        {
            "releases/web.yaml": ENCRYPTED_WEB,
            "environments/prod/apps/web.yaml": "configValues: {replicas: 2}\n",
            "environments/staging/apps/web.yaml": "paused: true\n",
        },
    )
    [problem] = load_repository(root, environment="prod").errors
    assert (problem.file, problem.line) == ("environments/prod/apps/web.yaml", 1)
    assert "cannot change its configValues" in problem.message
    assert "valuesFiles" in problem.hint
    staging = load_repository(root, environment="staging")
    assert staging.errors == () and staging.releases[WEB].paused
    assert staging.releases[WEB].encrypted is not None


def test_an_encrypted_overlay_is_refused(tmp_path: Path) -> None:
    root = repository(
        tmp_path, {"environments/prod/apps/web.yaml": "paused: true\n" + SOPS_METADATA}
    )
    problems = load_repository(root, environment="prod").errors
    assert [(p.file, p.message) for p in problems] == [
        ("environments/prod/apps/web.yaml", "an overlay may not be SOPS-encrypted")
    ]


def test_each_environment_records_its_releases_under_its_own_source() -> None:
    source = environment_source("https://git.example/releases.git", "prod")
    assert source == "https://git.example/releases.git#prod"
    assert of_environment(source, "prod") and not of_environment(source, "staging")
    assert environment_source("https://git.example/releases.git", None) == (
        "https://git.example/releases.git"
    )


def test_an_environment_widening_the_reconcilers_policy_is_an_error_at_its_entry(
    tmp_path: Path,
) -> None:
    root = repository(tmp_path, {})
    policy = Policy(allowed_namespaces=("tools",))
    _loaded, _graph, narrowed, problems = check_repository(root, policy=policy, environment="prod")
    # prod's allowedNamespaces (line 16) replaces the repository's (line 10) in prod.
    widening = [item for item in problems if "outside the reconciler's" in item.message]
    assert [(item.file, item.line) for item in widening] == [("harmonia.yaml", 16)]
    assert narrowed.allowed_namespaces == ()


def test_notes_beside_the_overlays_are_a_warning_and_a_stray_yaml_file_an_error(
    tmp_path: Path,
) -> None:
    root = repository(
        tmp_path,
        {"environments/README.md": "# overlays\n", "environments/web.yaml": "paused: true\n"},
    )
    loaded = load_repository(root, environment="prod")
    assert [(item.file, item.severity) for item in loaded.diagnostics] == [
        ("environments/README.md", "warning"),
        ("environments/web.yaml", "error"),
    ]
    assert set(loaded.releases) == {WEB, API}


def test_an_overlay_linked_outside_the_repository_fails_its_release_in_that_environment(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("absent: true\n")
    root = repository(tmp_path / "repo", {})
    (root / "environments/prod/apps").mkdir(parents=True)
    (root / "environments/prod/apps/api.yaml").symlink_to(outside)
    prod = load_repository(root, environment="prod")
    assert errors(prod) == [
        ("environments/prod/apps/api.yaml", 1, "symbolic link to a file outside the repository")
    ]
    assert (API in prod.releases, API in prod.invalid_releases) == (False, True)
    assert prod.unclaimed_files == ()
    assert API in load_repository(root, environment="staging").releases


def test_an_overlay_path_that_is_a_link_to_a_folder_fails_its_release(tmp_path: Path) -> None:
    root = repository(tmp_path, {"environments/staging/apps/web.yaml": "paused: true\n"})
    (root / "environments/prod/apps").mkdir(parents=True)
    (root / "environments/prod/apps/api.yaml").symlink_to(root / "environments/staging/apps")
    prod = load_repository(root, environment="prod")
    [problem] = prod.errors
    assert (problem.file, problem.message.startswith("not an overlay")) == (
        "environments/prod/apps/api.yaml",
        True,
    )
    assert (API in prod.releases, API in prod.invalid_releases) == (False, True)


def test_a_null_of_a_field_no_release_has_is_an_unknown_field_not_a_silent_deletion(
    tmp_path: Path,
) -> None:
    root = repository(
        tmp_path,
        {
            "releases/web.yaml": ENCRYPTED_WEB,
            "environments/prod/apps/web.yaml": "sops: null\n",
            "environments/prod/apps/api.yaml": "timeoutSec: 90\nconfigValue: null\n",
        },
    )
    prod = load_repository(root, environment="prod")
    assert errors(prod) == [
        ("environments/prod/apps/api.yaml", 2, "unknown field 'configValue'"),
        ("environments/prod/apps/web.yaml", 1, "unknown field 'sops'"),
    ]
    assert prod.invalid_releases == {WEB, API}


def test_two_overlays_of_one_release_in_one_environment_fail_it_at_both_files(
    tmp_path: Path,
) -> None:
    root = repository(
        tmp_path,
        {
            "environments/prod/apps/api.yaml": "timeoutSec: 90\n",
            "environments/prod/apps/api.yml": "absent: true\n",
        },
    )
    prod = load_repository(root, environment="prod")
    assert errors(prod) == [
        (
            "environments/prod/apps/api.yaml",
            1,
            "release apps/api has another overlay here: environments/prod/apps/api.yml",
        ),
        (
            "environments/prod/apps/api.yml",
            1,
            "release apps/api has another overlay here: environments/prod/apps/api.yaml",
        ),
    ]
    assert (API in prod.releases, API in prod.invalid_releases) == (False, True)


def test_a_repository_declaring_no_environments_keeps_its_environments_folder_for_itself(
    tmp_path: Path,
) -> None:
    root = write_repository(
        tmp_path,
        {
            "releases/web.yaml": release("web", valuesFiles="[environments/prod/values.yaml]"),
            "environments/prod/values.yaml": "replicas: 3\n",
            "environments/prod/apps/web.yaml": "replicas: 5\n",
            "environments/README.md": "values of each environment\n",
        },
    )
    loaded = load_repository(root)
    assert loaded.diagnostics == ()
    assert set(loaded.releases) == {WEB}


@pytest.mark.parametrize("linked", ["environments/prod", "environments/prod/apps"])
def test_an_overlay_folder_linked_elsewhere_fails_the_releases_it_may_hold_overlays_of(
    tmp_path: Path, linked: str
) -> None:
    root = repository(tmp_path, {"environments/staging/apps/api.yaml": "absent: true\n"})
    target = (
        "environments/staging" if linked == "environments/prod" else "environments/staging/apps"
    )
    (root / linked).parent.mkdir(parents=True, exist_ok=True)
    (root / linked).symlink_to(root / target)
    prod = load_repository(root, environment="prod")
    assert errors(prod) == [
        (linked, 1, "a symbolic link to a folder: overlay folders are not read through links")
    ]
    assert (prod.releases, prod.invalid_releases) == ({}, {WEB, API})
    staging = load_repository(root, environment="staging")
    assert (staging.errors, set(staging.releases)) == ((), {WEB})
