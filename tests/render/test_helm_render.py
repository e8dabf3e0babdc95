"""The Helm engine against the real helm: objects, hooks, capabilities, failures."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.release_requests.model import ChartPath
from reconciler.render.charts import LocalChart, resolve_chart
from reconciler.render.helm.engine import render_helm
from reconciler.render.model import (
    ChartKind,
    ChartOutput,
    RenderEnvironment,
    RenderError,
    ResolvedChart,
)
from reconciler.types import JsonObject
from tests.render.conftest import FIXTURE_CHARTS, copy_fixture_chart
from tests.render.servers import run_helm_cli

KUBE_VERSION = "v1.36.3"
PROD_VALUES: JsonObject = yaml.safe_load(
    (FIXTURE_CHARTS / "helm-shop-values" / "prod.yaml").read_text()
)


def as_resolved(chart: LocalChart) -> ResolvedChart:
    return ResolvedChart(
        root=chart.root,
        kind=ChartKind.HELM,
        name=chart.name,
        version=chart.version,
        digest=chart.digest,
    )


def fixture_chart(name: str, tmp_path: Path, helm: Path) -> ResolvedChart:
    repository = tmp_path / "repository"
    copy_fixture_chart(name, repository / "charts" / name)
    local = resolve_chart(
        ChartPath(f"charts/{name}"),
        repository_root=repository,
        chart_repositories={},
        cache_dir=tmp_path / "cache",
        helm=helm,
    )
    return as_resolved(local)


def environment(
    helm: Path, *, kube_version: str = KUBE_VERSION, api_versions: tuple[str, ...] = ()
) -> RenderEnvironment:
    return RenderEnvironment(kube_version=kube_version, api_versions=api_versions, helm=helm)


def render_shop(
    helm: Path, tmp_path: Path, values: JsonObject = PROD_VALUES, **env: Any
) -> ChartOutput:
    return render_helm(
        fixture_chart("helm-shop", tmp_path, helm),
        release_name="web",
        namespace="shop",
        values=values,
        env=environment(helm, **env),
    )


def kinds_and_names(objects: tuple[JsonObject, ...]) -> list[tuple[Any, Any]]:
    return [(o["kind"], o["metadata"]["name"]) for o in objects]  # type: ignore[index, call-overload]


def by_kind(output: ChartOutput, kind: str) -> JsonObject:
    (found,) = [o for o in output.objects if o["kind"] == kind]
    return found


def test_the_shop_chart_renders_its_objects_and_its_sub_chart_in_helm_order(
    helm_binary: Path, tmp_path: Path
) -> None:
    output = render_shop(helm_binary, tmp_path)

    assert kinds_and_names(output.objects) == [
        ("PodDisruptionBudget", "web-shop"),
        ("Secret", "web-shop"),
        ("ConfigMap", "web-shop"),
        ("Service", "web-cache"),
        ("Service", "web-shop"),
        ("Deployment", "web-shop"),
        ("HorizontalPodAutoscaler", "web-shop"),
        ("StatefulSet", "web-cache"),
    ]
    assert by_kind(output, "PodDisruptionBudget")["apiVersion"] == "policy/v1"
    statefulset = by_kind(output, "StatefulSet")
    assert statefulset["spec"]["replicas"] == 3  # type: ignore[index, call-overload]


def test_hooks_are_set_apart_with_events_weight_and_delete_policies_and_test_hooks_dropped(
    helm_binary: Path, tmp_path: Path
) -> None:
    output = render_shop(helm_binary, tmp_path)

    (hook,) = output.hooks
    assert hook.object["kind"] == "Job"
    assert hook.events == ("pre-install", "pre-upgrade")
    assert hook.weight == -5
    assert hook.delete_policies == ("before-hook-creation", "hook-succeeded")
    every_name = [o["metadata"]["name"] for o in output.objects]  # type: ignore[index, call-overload]
    assert "web-shop-test-connection" not in every_name


def test_range_and_include_fill_ports_env_and_labels(helm_binary: Path, tmp_path: Path) -> None:
    output = render_shop(helm_binary, tmp_path)

    deployment: Any = by_kind(output, "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert [port["name"] for port in container["ports"]] == ["http", "admin"]
    assert {"name": "REGION", "value": "eu-west-1"} in container["env"]
    assert container["image"] == "registry.example.invalid/shop/web:2.3.1"
    assert deployment["metadata"]["labels"]["helm.sh/chart"] == "shop-1.4.2"
    assert "replicas" not in deployment["spec"]


def test_the_kubernetes_version_reaches_capabilities_kube_version(
    helm_binary: Path, tmp_path: Path
) -> None:
    newer = render_shop(helm_binary, tmp_path / "a", kube_version="v1.36.3")
    older = render_shop(helm_binary, tmp_path / "b", kube_version="v1.30.2")

    assert by_kind(newer, "ConfigMap")["data"]["KUBERNETES_MINOR"] == "36"  # type: ignore[index, call-overload]
    assert by_kind(older, "ConfigMap")["data"]["KUBERNETES_MINOR"] == "30"  # type: ignore[index, call-overload]


def test_api_versions_reach_capabilities_api_versions_has(
    helm_binary: Path, tmp_path: Path
) -> None:
    plain = render_shop(helm_binary, tmp_path / "a")
    monitored = render_shop(
        helm_binary, tmp_path / "b", api_versions=("monitoring.coreos.com/v1/ServiceMonitor",)
    )

    assert "ServiceMonitor" not in [o["kind"] for o in plain.objects]
    service_monitor: Any = by_kind(monitored, "ServiceMonitor")
    assert service_monitor["metadata"]["name"] == "web-shop"
    assert service_monitor["spec"]["endpoints"] == [{"port": "http"}, {"port": "admin"}]


def test_a_kube_version_the_chart_does_not_support_is_a_render_error(
    helm_binary: Path, tmp_path: Path
) -> None:
    """Helm's own words, in English whatever message language its runs are given."""
    with pytest.raises(
        RenderError,
        match=re.escape(
            "release shop/web: chart shop 1.4.2: helm template failed: chart requires "
            "kubeVersion: >=1.25.0-0 which is incompatible with Kubernetes v1.20.0"
        ),
    ):
        render_shop(helm_binary, tmp_path, kube_version="v1.20.0")


def test_a_missing_required_value_is_a_render_error_quoting_helm(
    helm_binary: Path, tmp_path: Path
) -> None:
    values: JsonObject = {**PROD_VALUES, "image": {"repository": ""}}

    with pytest.raises(RenderError) as raised:
        render_shop(helm_binary, tmp_path, values)

    message = str(raised.value)
    assert message.startswith("release shop/web: chart shop 1.4.2: helm template failed: ")
    assert "image.repository is required: set it in the release's values" in message
    assert "prod-database-password" not in message


def test_a_failure_message_never_shows_a_secret_value(helm_binary: Path, tmp_path: Path) -> None:
    chart = tmp_path / "repository" / "charts" / "leaky"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: leaky\nversion: 0.1.0\n")
    (chart / "templates" / "fail.yaml").write_text(
        '{{ fail (printf "bad password %s" .Values.db.password) }}\n'
    )
    resolved = as_resolved(
        resolve_chart(
            ChartPath("charts/leaky"),
            repository_root=tmp_path / "repository",
            chart_repositories={},
            cache_dir=tmp_path / "cache",
            helm=helm_binary,
        )
    )

    with pytest.raises(RenderError, match=r"bad password \*\*\*") as raised:
        render_helm(
            resolved,
            release_name="leaky",
            namespace="default",
            values={"db": {"password": "hunter2-secret"}},
            env=environment(helm_binary),
        )
    assert "hunter2" not in str(raised.value)


def test_crds_from_the_crds_folder_come_first_and_timestamps_stay_strings(
    helm_binary: Path, tmp_path: Path
) -> None:
    output = render_helm(
        fixture_chart("helm-crds", tmp_path, helm_binary),
        release_name="w",
        namespace="default",
        values={},
        env=environment(helm_binary),
    )

    assert [o["kind"] for o in output.objects] == ["CustomResourceDefinition", "Widget"]
    widget: Any = output.objects[1]
    assert widget["metadata"]["annotations"]["released-on"] == "2024-05-01"


def test_a_chart_with_file_dependencies_renders_the_built_sub_chart(
    helm_binary: Path, tmp_path: Path
) -> None:
    repository = tmp_path / "repository"
    copy_fixture_chart("helm-umbrella", repository / "charts" / "helm-umbrella")
    copy_fixture_chart("helm-common", repository / "charts" / "helm-common")
    chart = resolve_chart(
        ChartPath("charts/helm-umbrella"),
        repository_root=repository,
        chart_repositories={},
        cache_dir=tmp_path / "cache",
        helm=helm_binary,
    )

    output = render_helm(
        as_resolved(chart),
        release_name="u",
        namespace="default",
        values={"common": {"greeting": "hi"}},
        env=environment(helm_binary),
    )

    configmaps: Any = {o["metadata"]["name"]: o["data"] for o in output.objects}  # type: ignore[index, call-overload]
    assert configmaps == {"u-common": {"greeting": "hi"}, "u-umbrella": {"chart": "umbrella"}}


def test_rendering_twice_gives_byte_identical_output(helm_binary: Path, tmp_path: Path) -> None:
    first = render_shop(helm_binary, tmp_path / "a")
    second = render_shop(helm_binary, tmp_path / "b")

    assert json.dumps([first.objects, [h.object for h in first.hooks]]) == json.dumps(
        [second.objects, [h.object for h in second.hooks]]
    )
    assert first == second


def test_the_output_equals_a_hand_written_helm_template_of_the_same_inputs(
    helm_binary: Path, helm_home: Path, tmp_path: Path
) -> None:
    values: JsonObject = {**PROD_VALUES, "replicaCount": 4, "autoscaling": {"enabled": False}}
    ours = render_shop(helm_binary, tmp_path, values)

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
        str(FIXTURE_CHARTS / "helm-shop-values" / "prod.yaml"),
        "--set",
        "replicaCount=4,autoscaling.enabled=false",
        home=helm_home,
    )

    expected = [document for document in yaml.safe_load_all(by_hand) if document]
    assert [*ours.objects, *(hook.object for hook in ours.hooks)] == expected
    assert by_kind(ours, "Deployment")["spec"]["replicas"] == 4  # type: ignore[index, call-overload]
