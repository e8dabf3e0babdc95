"""A pass renders each graph level on a thread pool and reads each chart once: the outcome
is the one rendering release by release gives, failures included. Real helm, no cluster.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.desired import check_repository
from reconciler.policy import Policy
from reconciler.release_requests.model import RepositoryConfig
from reconciler.render.model import RenderEnvironment
from reconciler.render.pipeline import RepositoryRender, render_repository
from reconciler.render.release import RenderSettings
from reconciler.types import ReleaseKey

KUBE_VERSION = "v1.36.3"
ALL_NAMESPACES = Policy(allowed_namespaces=("*",))

CHART = {
    "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n",
    "charts/app/values.yaml": "broken: false\nsetting: default\ndependencies: {}\n",
    "charts/app/templates/configmap.yaml": (
        '{{ if .Values.broken }}{{ fail "broken on purpose" }}{{ end }}\n'
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        "data:\n  setting: {{ .Values.setting | quote }}\n"
        "  hub: {{ .Values.dependencies.hub | default dict | toJson | quote }}\n"
    ),
    "charts/app/templates/outputs.yaml": (
        "apiVersion: harmonia.dev/v1alpha1\nkind: ReleaseConfig\n"
        "metadata:\n  name: {{ .Release.Name }}\n"
        "spec:\n  outputConfig:\n    endpoint: {{ .Release.Name }}.svc\n"
    ),
}


def release_file(name: str, *, depends_on: str | None = None, broken: bool = False) -> str:
    text = (
        "apiVersion: harmonia.dev/v1alpha1\nkind: Release\n"
        f"name: {name}\nnamespace: apps\nchartPath: charts/app\n"
        f"configValues:\n  setting: {name}\n  broken: {str(broken).lower()}\n"
    )
    return text + (f"dependencies:\n  hub: apps/{depends_on}\n" if depends_on else "")


def repository(root: Path) -> Path:
    """Twelve releases of one chart, three levels deep: a hub and its dependents, and a
    broken release with dependents of its own."""
    files = {
        **CHART,
        "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"
        f"kubeVersion: {KUBE_VERSION}\n",
        "releases/hub.yaml": release_file("hub"),
        "releases/broken.yaml": release_file("broken", broken=True),
        "releases/after-broken.yaml": release_file("after-broken", depends_on="broken"),
        "releases/last.yaml": release_file("last", depends_on="after-broken"),
    }
    for index in range(6):
        files[f"releases/solo-{index}.yaml"] = release_file(f"solo-{index}")
    for index in range(2):
        files[f"releases/spoke-{index}.yaml"] = release_file(f"spoke-{index}", depends_on="hub")
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def render_with(root: Path, helm: Path, cache: Path, *, workers: int) -> RepositoryRender:
    loaded, graph, policy, diagnostics = check_repository(root, policy=ALL_NAMESPACES)
    assert not diagnostics, diagnostics
    settings = RenderSettings(
        repository_root=root,
        repository=loaded.config or RepositoryConfig(),
        environment=RenderEnvironment(kube_version=KUBE_VERSION, api_versions=(), helm=helm),
        policy=policy,
        cache_dir=cache,
        render_workers=workers,
    )
    return render_repository(loaded.releases, graph, settings)


def test_a_level_rendered_in_parallel_gives_what_rendering_one_at_a_time_gives(
    helm_binary: Path, tmp_path: Path
) -> None:
    root = repository(tmp_path / "repo")
    one_at_a_time = render_with(root, helm_binary, tmp_path / "cache-1", workers=1)
    parallel = render_with(root, helm_binary, tmp_path / "cache-8", workers=8)

    assert list(parallel.rendered) == list(one_at_a_time.rendered)
    for key, rendered in one_at_a_time.rendered.items():
        assert parallel.rendered[key] == rendered
    assert parallel.failed == one_at_a_time.failed
    assert parallel.blocked == one_at_a_time.blocked
    assert parallel.engine_runs == one_at_a_time.engine_runs == 9

    broken = ReleaseKey("apps/broken")
    assert set(parallel.failed) == {broken}
    assert "broken on purpose" in parallel.failed[broken].message
    assert parallel.blocked == {
        ReleaseKey("apps/after-broken"): "dependency apps/broken failed to render",
        ReleaseKey("apps/last"): "dependency apps/after-broken is blocked: "
        "dependency apps/broken failed to render",
    }
    spoke = parallel.rendered[ReleaseKey("apps/spoke-0")]
    config_map = next(o for o in spoke.objects if o["kind"] == "ConfigMap")
    assert config_map["data"] == {"setting": "spoke-0", "hub": '{"endpoint":"hub.svc"}'}


def test_a_chart_that_cannot_be_read_fails_each_release_using_it_with_its_own_message(
    helm_binary: Path, tmp_path: Path
) -> None:
    root = repository(tmp_path / "repo")
    (root / "charts" / "app" / "values.yaml").write_text("setting: [unclosed\n")
    render = render_with(root, helm_binary, tmp_path / "cache", workers=4)

    assert render.rendered == {}
    for name in ("hub", "broken", *(f"solo-{index}" for index in range(6))):
        message = render.failed[ReleaseKey(f"apps/{name}")].message
        assert message.startswith(f"release apps/{name}: chart app: values.yaml:2:1: "), message
    assert set(render.blocked) == {
        ReleaseKey(f"apps/{name}") for name in ("after-broken", "last", "spoke-0", "spoke-1")
    }
