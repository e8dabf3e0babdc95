"""The whole rendering stage on real repositories: release files in, owned objects out.

Runs the real helm and Jsonnet; no cluster. Covers the issue's checks: a release
file renders exactly what a hand-written `helm template` does, ZooKeeper's
outputs reach Kafka, and unchanged releases never run helm twice.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.desired import DesiredState, Tools, compute_desired_state
from reconciler.policy import Policy
from reconciler.release_requests.model import RepositoryConfig
from reconciler.render.environment import VersionChoice, choose_versions
from reconciler.render.ownership import OWNER_ANNOTATION, ownership_labels
from reconciler.types import JsonObject, ReleaseKey
from tests.render.conftest import FIXTURE_CHARTS
from tests.render.servers import run_helm_cli

EXAMPLES = Path(__file__).parents[2] / "examples"
KUBE_VERSION = "v1.36.3"
HARMONIA = (sys.executable, "-m", "reconciler")
ALL_NAMESPACES = Policy(allowed_namespaces=("*",), allow_cluster_scoped=False)
KAFKA = ReleaseKey("streaming/kafka")
ZOOKEEPER = ReleaseKey("streaming/zookeeper")


def offline_versions(repository: RepositoryConfig | None) -> VersionChoice:
    return choose_versions(repository, cluster=None)


def desired(root: Path, helm: Path, cache: Path, **kwargs: Any) -> DesiredState:
    tools = Tools(helm=helm, kubectl=None, cache_dir=cache)
    return compute_desired_state(
        root, policy=ALL_NAMESPACES, versions_for=offline_versions, tools=tools, **kwargs
    )


def without_ownership(obj: JsonObject, release: ReleaseKey) -> JsonObject:
    stripped = copy.deepcopy(obj)
    metadata: Any = stripped["metadata"]
    for label in ownership_labels(release):
        metadata["labels"].pop(label)
    if not metadata["labels"]:
        del metadata["labels"]
    metadata["annotations"].pop(OWNER_ANNOTATION)
    if not metadata["annotations"]:
        del metadata["annotations"]
    return stripped


def write_repository(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_release_file_renders_what_a_hand_written_helm_template_renders(
    helm_binary: Path, helm_home: Path, tmp_path: Path
) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE_CHARTS / "helm-shop", root / "charts" / "shop")
    shutil.copy(FIXTURE_CHARTS / "helm-shop-values" / "prod.yaml", tmp_path / "prod.yaml")
    write_repository(
        root,
        {
            "harmonia.yaml": f"apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"
            f"kubeVersion: {KUBE_VERSION}\n",
            "values/prod.yaml": (FIXTURE_CHARTS / "helm-shop-values" / "prod.yaml").read_text(),
            "releases/shop/web.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Release\n"
            "name: web\nnamespace: shop\nchartPath: charts/shop\n"
            "valuesFiles: [values/prod.yaml]\n"
            "configValues:\n  replicaCount: 4\n  autoscaling:\n    enabled: false\n",
        },
    )
    state = desired(root, helm_binary, tmp_path / "cache")
    assert not state.render.failed, state.render.failed
    release = ReleaseKey("shop/web")
    rendered = state.render.rendered[release]

    by_hand = run_helm_cli(
        helm_binary,
        "template",
        "web",
        str(FIXTURE_CHARTS / "helm-shop"),
        "--namespace",
        "shop",
        "--kube-version",
        KUBE_VERSION,
        "--skip-tests",
        "-f",
        str(tmp_path / "prod.yaml"),
        "--set",
        "replicaCount=4,autoscaling.enabled=false",
        home=helm_home,
    )
    expected = [document for document in yaml.safe_load_all(by_hand) if document]
    ours = [without_ownership(o, release) for o in rendered.objects]
    ours += [without_ownership(hook.object, release) for hook in rendered.hooks]
    # Ownership metadata aside: Harmonia's managed-by replaces the chart's "Helm", and
    # namespaced objects the chart left without a namespace get the release's.
    for theirs, mine in zip(expected, ours, strict=True):
        theirs["metadata"].get("labels", {}).pop("app.kubernetes.io/managed-by", None)
        if "namespace" not in theirs["metadata"]:
            mine["metadata"].pop("namespace", None)  # type: ignore[union-attr]
    assert ours == expected
    deployment = next(o for o in ours if o["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 4  # type: ignore[index, call-overload]


def test_kafka_renders_with_the_addresses_zookeeper_publishes(
    helm_binary: Path, tmp_path: Path
) -> None:
    state = desired(EXAMPLES, helm_binary, tmp_path / "cache")
    assert not state.render.failed and not state.render.blocked
    zookeeper = state.render.rendered[ZOOKEEPER]
    addresses = str(zookeeper.outputs["zookeeper_addresses"])
    assert addresses.count("zookeeper-hl.streaming.svc.cluster.local:2181") == 3
    kafka_config = next(o for o in state.render.rendered[KAFKA].objects if o["kind"] == "ConfigMap")
    assert f"zookeeper.connect={addresses}/kafka" in kafka_config["data"]["server.properties"]  # type: ignore[index, call-overload]
    assert all(o["kind"] != "ReleaseConfig" for o in zookeeper.objects), "outputs are never applied"


def test_scaling_zookeeper_in_its_release_file_changes_kafkas_render(
    helm_binary: Path, tmp_path: Path
) -> None:
    repository = tmp_path / "examples"
    shutil.copytree(EXAMPLES, repository)
    before = desired(repository, helm_binary, tmp_path / "cache")
    release_file = repository / "releases" / "streaming" / "zookeeper.yaml"
    release_file.write_text(release_file.read_text().replace("replicas: 3", "replicas: 5"))
    after = desired(repository, helm_binary, tmp_path / "cache")

    addresses = str(after.render.rendered[ZOOKEEPER].outputs["zookeeper_addresses"])
    assert addresses.count(":2181") == 5
    kafka_before = before.render.rendered[KAFKA]
    kafka_after = after.render.rendered[KAFKA]
    assert kafka_before.input_hash != kafka_after.input_hash
    config = next(o for o in kafka_after.objects if o["kind"] == "ConfigMap")
    assert "zookeeper-4.zookeeper-hl.streaming" in config["data"]["server.properties"]  # type: ignore[index, call-overload]
    untouched = (ReleaseKey("shop/web"), ReleaseKey("shop/cache"))
    for key in untouched:
        assert before.render.rendered[key].input_hash == after.render.rendered[key].input_hash


def counting_helm(helm: Path, folder: Path) -> tuple[Path, Path]:
    """A real helm behind a script that appends one line per run to a log."""
    log = folder / "helm-runs.log"
    script = folder / "helm"
    script.write_text(f'#!/bin/sh\necho "$1" >> "{log}"\nexec "{helm}" "$@"\n')
    script.chmod(0o755)
    return script, log


def helm_template_runs(log: Path) -> int:
    return log.read_text().split().count("template") if log.exists() else 0


def test_a_pass_over_unchanged_releases_runs_helm_zero_times(
    helm_binary: Path, tmp_path: Path
) -> None:
    helm, log = counting_helm(helm_binary, tmp_path)
    repository = tmp_path / "examples"
    shutil.copytree(EXAMPLES, repository)
    first = desired(repository, helm, tmp_path / "cache")
    assert helm_template_runs(log) == 3  # zookeeper, kafka, web (cache is Jsonnet)
    assert first.render.engine_runs == 4

    second = desired(repository, helm, tmp_path / "cache")
    assert helm_template_runs(log) == 3
    assert second.render.engine_runs == 0
    assert {k: r.objects for k, r in first.render.rendered.items()} == {
        k: r.objects for k, r in second.render.rendered.items()
    }

    web_file = repository / "releases" / "shop" / "web.yaml"
    web_file.write_text(web_file.read_text() + "\n# a comment changes no input\n")
    values_file = repository / "values" / "shop" / "web-common.yaml"
    values_file.write_text(values_file.read_text() + "\nextraLabel: changed\n")
    third = desired(repository, helm, tmp_path / "cache")
    assert third.render.engine_runs == 1, "only shop/web's valuesFiles changed"
    assert helm_template_runs(log) == 4


def test_a_release_whose_chart_fails_blocks_only_itself_and_its_dependents(
    helm_binary: Path, tmp_path: Path
) -> None:
    repository = tmp_path / "examples"
    shutil.copytree(EXAMPLES, repository)
    template = repository / "charts" / "zookeeper" / "templates" / "service.yaml"
    template.write_text(template.read_text() + '\n{{ fail "zookeeper chart is broken" }}\n')
    state = desired(repository, helm_binary, tmp_path / "cache")
    assert "zookeeper chart is broken" in state.render.failed[ZOOKEEPER].message
    assert state.render.blocked[KAFKA] == "dependency streaming/zookeeper failed to render"
    assert set(state.render.rendered) == {ReleaseKey("shop/web"), ReleaseKey("shop/cache")}


def test_a_values_file_reaching_outside_the_repository_is_refused(
    helm_binary: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret.yaml").write_text("password: hunter2\n")
    repository = tmp_path / "examples"
    shutil.copytree(EXAMPLES, repository)
    (repository / "values" / "escape.yaml").symlink_to(tmp_path / "secret.yaml")
    web_file = repository / "releases" / "shop" / "web.yaml"
    web_file.write_text(
        web_file.read_text().replace("values/shop/web-common.yaml", "values/escape.yaml")
    )
    state = desired(repository, helm_binary, tmp_path / "cache")
    (problem,) = [d for d in state.diagnostics if d.is_error]
    assert problem.render() == (
        "releases/shop/web.yaml:9:5: values file 'values/escape.yaml' leads outside the "
        "repository (through a symbolic link) ($.valuesFiles[0]) paths are relative to the "
        "repository root (where harmonia.yaml is)"
    )
    assert ReleaseKey("shop/web") in state.loaded.invalid_releases
    assert ReleaseKey("shop/web") not in state.render.rendered


@pytest.mark.parametrize("output", ["yaml", "json"])
def test_harmonia_render_prints_the_release_with_secret_values_masked(
    helm_binary: Path, output: str
) -> None:
    result = subprocess.run(
        [
            *HARMONIA,
            "render",
            str(EXAMPLES),
            "--release",
            "shop/web",
            "--offline",
            "--helm",
            str(helm_binary),
            "-o",
            output,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    objects = (
        list(yaml.safe_load_all(result.stdout))
        if output == "yaml"
        else yaml.safe_load(result.stdout)
    )
    secret = next(o for o in objects if o["kind"] == "Secret")
    assert set(secret["data"].values()) == {"***"}
    assert "change-me-not-a-real-password" not in result.stdout
    assert "Y2hhbmdlLW1l" not in result.stdout  # base64 of the fake password's start
    assert all(
        o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "harmonia" for o in objects
    )


def test_harmonia_render_of_an_unknown_release_exits_1(helm_binary: Path) -> None:
    result = subprocess.run(
        [
            *HARMONIA,
            "render",
            str(EXAMPLES),
            "--release",
            "shop/nope",
            "--offline",
            "--helm",
            str(helm_binary),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "release shop/nope: not in the repository" in result.stderr
