"""harmonia-renderer against `helm template` of the same Helm version: the same bytes on
stdout for every chart the examples and the tests hold and for every Helm feature
(hooks, `lookup` off, Capabilities, sub-charts, library charts, `.Files`, `tpl`), and the
same error for `required` and `fail`."""

from __future__ import annotations

import json
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reconciler.render.helm.engine import render_helm, template_arguments
from reconciler.render.helm.process import HelmRun, run_helm
from reconciler.render.helm.renderer import Renderer, TemplateRequest, renderer_for
from reconciler.render.model import ChartKind, RenderEnvironment, RenderError, ResolvedChart
from reconciler.types import JsonObject
from tests.render.conftest import FIXTURE_CHARTS

ROOT = Path(__file__).resolve().parents[2]
KUBE_VERSION = "v1.36.3"
EVERY_CHART = sorted(
    chart_yaml.parent
    for folder in (ROOT / "examples", ROOT / "tests")
    for chart_yaml in folder.rglob("Chart.yaml")
)
FEATURES = FIXTURE_CHARTS / "helm-features"
OWNED: JsonObject = {"owner": "ops", "global": {"team": "blue"}}


def request(
    chart: Path,
    values: JsonObject,
    *,
    kube_version: str = KUBE_VERSION,
    api_versions: tuple[str, ...] = (),
) -> TemplateRequest:
    return TemplateRequest(
        chart=chart,
        release_name="feat",
        namespace="shop",
        values=json.dumps(values, sort_keys=True),
        kube_version=kube_version,
        api_versions=api_versions,
    )


def helm_template(helm: Path, asked: TemplateRequest) -> HelmRun:
    env = RenderEnvironment(
        kube_version=asked.kube_version, api_versions=asked.api_versions, helm=helm
    )
    arguments = template_arguments(
        asked.chart, release_name=asked.release_name, namespace=asked.namespace, env=env
    )
    return run_helm(helm, arguments, timeout=60, stdin=asked.values)


@pytest.fixture(scope="module")
def renderer(renderer_binary: Path) -> Renderer:
    return Renderer(renderer_binary)


def test_the_charts_of_the_examples_and_the_tests_are_all_compared() -> None:
    names = {chart.name for chart in EVERY_CHART}
    assert {"web", "kafka", "greeter", "helm-shop", "helm-umbrella", "helm-features"} <= names


@pytest.mark.parametrize("chart", EVERY_CHART, ids=lambda chart: str(chart.relative_to(ROOT)))
def test_every_chart_in_the_examples_and_tests_renders_as_helm_template_does(
    chart: Path, helm_binary: Path, renderer: Renderer
) -> None:
    asked = request(chart, OWNED)
    assert renderer.template(asked, timeout=60) == helm_template(helm_binary, asked)


@pytest.mark.parametrize(
    ("values", "kube_version", "api_versions"),
    [
        pytest.param(OWNED, KUBE_VERSION, (), id="hooks-lookup-files-tpl-subcharts-library"),
        pytest.param(OWNED, KUBE_VERSION, ("example.com/v1",), id="api-versions"),
        pytest.param(OWNED, KUBE_VERSION, ("example.com/v1,batch/v9",), id="api-versions-listed"),
        pytest.param(OWNED, "v1.18.4", (), id="old-kube-version"),
        pytest.param({**OWNED, "worker": {"enabled": False}}, KUBE_VERSION, (), id="condition"),
        pytest.param({}, KUBE_VERSION, (), id="required-missing"),
        pytest.param({**OWNED, "mustFail": True}, KUBE_VERSION, (), id="fail"),
        pytest.param(OWNED, "not-a-version", (), id="bad-kube-version"),
    ],
)
def test_every_helm_feature_renders_or_fails_as_helm_template_does(
    values: JsonObject,
    kube_version: str,
    api_versions: tuple[str, ...],
    helm_binary: Path,
    renderer: Renderer,
) -> None:
    asked = request(FEATURES, values, kube_version=kube_version, api_versions=api_versions)
    expected = helm_template(helm_binary, asked)
    assert renderer.template(asked, timeout=60) == expected


def test_the_feature_chart_shows_each_feature_it_is_meant_to_compare(
    renderer: Renderer,
) -> None:
    shown = renderer.template(
        request(FEATURES, OWNED, api_versions=("example.com/v1",)), timeout=60
    )
    assert shown.ok, shown.error
    for expected in (
        "# Source: features/crds/widget.yaml",  # CRDs included
        "# Source: features/templates/hooks.yaml",  # hooks, as helm template prints them
        "# Source: features/templates/tests/test-ping.yaml",  # test hooks too
        "# Source: features/charts/worker/templates/deployment.yaml",  # a sub-chart
        'lookedUp: "true"',  # lookup finds nothing
        'greeting: "hello from feat"',  # tpl
        "extra.conf: |",  # .Files.Glob
        'hasWidgets: "true"',  # Capabilities.APIVersions
        'helm: "v4.3.1"',  # Capabilities.HelmVersion
        "app.kubernetes.io/instance: feat",  # the library chart's template
    ):
        assert expected in shown.stdout
    required = renderer.template(request(FEATURES, {}), timeout=60)
    assert required.error.startswith(
        "execution error at (features/templates/configmap.yaml:9:12): owner is required"
    )


def test_a_render_error_names_helms_file_and_line_as_with_the_helm_binary(
    helm_binary: Path, renderer_binary: Path
) -> None:
    chart = ResolvedChart(
        root=FEATURES, kind=ChartKind.HELM, name="features", version="0.3.0", digest="d"
    )
    messages = []
    for renderer in (None, renderer_binary):
        env = RenderEnvironment(
            kube_version=KUBE_VERSION, api_versions=(), helm=helm_binary, renderer=renderer
        )
        with pytest.raises(RenderError) as failed:
            render_helm(chart, release_name="feat", namespace="shop", values={}, env=env)
        messages.append(str(failed.value))
    assert messages[0] == messages[1]
    assert "(features/templates/configmap.yaml:9:12): owner is required" in messages[1]


def test_a_renderer_killed_mid_pass_is_restarted_and_every_release_still_renders(
    helm_binary: Path, renderer_binary: Path
) -> None:
    renderer = Renderer(renderer_binary)
    expected = helm_template(helm_binary, request(FEATURES, OWNED))
    first_pid = renderer._running().pid
    asked = [request(FEATURES, {**OWNED, "n": index}) for index in range(60)]

    def render(index: int) -> HelmRun:
        if index == 10:
            os.kill(first_pid, signal.SIGKILL)
        return renderer.template(asked[index], timeout=60)

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(render, range(len(asked))))
        assert renderer._running().pid != first_pid
    finally:
        renderer.close()
    assert [result.error for result in results if not result.ok] == []
    assert all(result.stdout == expected.stdout for result in results)


def test_one_renderer_serves_every_render_of_a_harmonia_process(renderer_binary: Path) -> None:
    shared = renderer_for(renderer_binary)
    assert renderer_for(renderer_binary) is shared
    first = shared.template(request(FEATURES, OWNED), timeout=60)
    pid = shared._running().pid
    second = shared.template(request(FEATURES, {**OWNED, "greeting": "hi"}), timeout=60)
    assert first.ok and second.ok
    assert shared._running().pid == pid


def test_a_render_past_its_timeout_fails_alone_and_the_next_one_renders(
    tmp_path: Path, renderer_binary: Path
) -> None:
    slow = tmp_path / "slow"
    (slow / "templates").mkdir(parents=True)
    (slow / "Chart.yaml").write_text("apiVersion: v2\nname: slow\nversion: 0.1.0\n")
    (slow / "templates" / "loop.yaml").write_text(
        "{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}"
    )
    renderer = Renderer(renderer_binary)
    try:
        # More endless templates than the renderer renders at once (one per core).
        with ThreadPoolExecutor(max_workers=4) as pool:
            late = list(
                pool.map(lambda _: renderer.template(request(slow, {}), timeout=1), range(4))
            )
        after = renderer.template(request(FEATURES, OWNED), timeout=20)
    finally:
        renderer.close()
    timed_out = HelmRun(ok=False, stdout="", error="helm did not finish within 1s")
    assert late == [timed_out] * 4
    assert after.ok, after.error


def test_a_renderer_that_cannot_start_fails_the_release_naming_it(tmp_path: Path) -> None:
    broken = tmp_path / "harmonia-renderer"
    broken.write_text("not a program")
    broken.chmod(0o755)
    failed = Renderer(broken).template(request(FEATURES, OWNED), timeout=10)
    assert not failed.ok
    assert failed.error.startswith("harmonia-renderer did not start: [Errno 8] Exec format error")
