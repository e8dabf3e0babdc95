"""Plain-layout Jsonnet charts and the evaluation core: imports confined to the chart and
its library folders, WALM's native functions, errors with file:line, determinism.

Charts are the fixtures under tests/fixtures/charts/jsonnet-*, or small ones written
into a temporary folder by the test. Only gotmplRender runs a program (the real helm).
"""

from __future__ import annotations

import hashlib
import json
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.desired import Tools, compute_desired_state
from reconciler.policy import Policy
from reconciler.render.charts.folder import chart_identity
from reconciler.render.environment import choose_versions
from reconciler.render.jsonnet.engine import is_plain_jsonnet_chart, render_jsonnet
from reconciler.render.model import (
    ChartKind,
    ChartOutput,
    KubeObject,
    RenderEnvironment,
    RenderError,
    ResolvedChart,
)
from reconciler.render.values.merge import ReleaseIdentity, compute_values, reserved_values
from reconciler.types import JsonObject, ReleaseKey

FIXTURES = Path(__file__).parent.parent / "fixtures"
CHARTS = FIXTURES / "charts"
LIBRARY = FIXTURES / "jsonnet-lib"
NO_HELM = Path("/nonexistent/helm")
"""For renders that call no program: a chart that needed helm would fail loudly."""


def environment(
    *, helm: Path = NO_HELM, library_dirs: tuple[Path, ...] = (LIBRARY,)
) -> RenderEnvironment:
    return RenderEnvironment(
        kube_version="v1.36.3", api_versions=(), helm=helm, library_dirs=library_dirs
    )


def resolved(root: Path, kind: ChartKind = ChartKind.JSONNET) -> ResolvedChart:
    name, version = chart_identity(root, subject=str(root))
    values_file = root / "values.yaml"
    defaults = yaml.safe_load(values_file.read_text()) if values_file.is_file() else None
    return ResolvedChart(
        root=root,
        kind=kind,
        name=name,
        version=version,
        digest="test",
        default_values=defaults or {},
    )


def release_values(
    chart: ResolvedChart, *, name: str, namespace: str, config: JsonObject | None = None
) -> JsonObject:
    """The values Harmonia renders a Jsonnet chart with: defaults < config < reserved keys."""
    metadata = (
        yaml.safe_load((chart.root / "Chart.yaml").read_text())
        if (chart.root / "Chart.yaml").is_file()
        else {}
    )
    identity = ReleaseIdentity(
        name=name,
        namespace=namespace,
        chart_name=chart.name,
        chart_version=chart.version,
        chart_app_version=str(metadata.get("appVersion", "")),
        dependencies={"zookeeper": f"{namespace}/zookeeper"},
    )
    return compute_values(
        chart_defaults=chart.default_values,
        values_files=[],
        dependency_outputs={},
        config_values=config or {},
        meta_info_values={},
        reserved=reserved_values(identity),
    )


def render(
    root: Path,
    *,
    config: JsonObject | None = None,
    env: RenderEnvironment | None = None,
    name: str = "demo",
    namespace: str = "apps",
) -> ChartOutput:
    chart = resolved(root)
    values = release_values(chart, name=name, namespace=namespace, config=config)
    return render_jsonnet(
        chart, release_name=name, namespace=namespace, values=values, env=env or environment()
    )


def write_chart(root: Path, files: dict[str, str], *, name: str = "scratch") -> Path:
    """A chart folder holding `files` (Chart.yaml added unless given)."""
    files = {"Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: 1.0.0\n", **files}
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def rendered_error(
    root: Path, *, config: JsonObject | None = None, env: RenderEnvironment | None = None
) -> str:
    with pytest.raises(RenderError) as caught:
        render(root, config=config, env=env)
    return str(caught.value)


def loose(objects: tuple[KubeObject, ...]) -> list[Any]:
    """The objects untyped, to read nested fields in assertions."""
    return list(objects)


def names(objects: tuple[KubeObject, ...]) -> list[tuple[str, str]]:
    return [(item["kind"], item["metadata"]["name"]) for item in loose(objects)]


SUBJECT = "release apps/demo: chart scratch 1.0.0"


# --- the plain layout -------------------------------------------------------------------


def test_a_chart_returning_a_list_renders_its_objects_in_list_order() -> None:
    output = render(CHARTS / "jsonnet-list", config={"greeting": "hi"})
    assert names(output.objects) == [("ConfigMap", "demo-greeting"), ("Deployment", "demo")]
    configmap, deployment = loose(output.objects)
    assert configmap["data"] == {"greeting": "hi"}
    assert configmap["metadata"] == {"name": "demo-greeting", "namespace": "apps"}
    assert deployment["spec"]["replicas"] == 1
    assert output.hooks == ()


def test_a_chart_returning_file_names_renders_by_file_name_then_position() -> None:
    output = render(CHARTS / "jsonnet-files", config={"workers": 3})
    assert names(output.objects) == [
        ("ConfigMap", "demo-settings"),
        ("Service", "demo"),
        ("ConfigMap", "demo-worker-1"),
        ("ConfigMap", "demo-worker-2"),
        ("ConfigMap", "demo-worker-3"),
    ]
    assert output.objects[0]["data"] == {"mode": "fast", "retries": "3"}


def test_the_main_file_is_main_jsonnet_before_the_one_named_after_the_chart(tmp_path: Path) -> None:
    chart = write_chart(
        tmp_path,
        {
            "main.jsonnet": "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'main'}}",
            "scratch.jsonnet": "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'named'}}",
        },
    )
    assert names(render(chart).objects) == [("ConfigMap", "main")]
    (chart / "main.jsonnet").unlink()
    assert names(render(chart).objects) == [("ConfigMap", "named")]


def test_a_chart_without_a_main_file_is_refused(tmp_path: Path) -> None:
    chart = write_chart(tmp_path, {"other.jsonnet": "{}"})
    message = rendered_error(chart)
    assert message.startswith(SUBJECT)
    assert "main.jsonnet or scratch.jsonnet" in message


def test_the_values_reach_the_chart_as_argument_and_as_external_variable(tmp_path: Path) -> None:
    chart = write_chart(
        tmp_path,
        {
            "main.jsonnet": """\
                function(values) {
                  apiVersion: 'v1', kind: 'ConfigMap',
                  metadata: {name: std.extVar('releaseName'), namespace: std.extVar('namespace')},
                  data: {
                    argument: values.colour,
                    external: std.extVar('values').colour,
                    release: values.helmReleaseName + '/' + values.helmReleaseNamespace,
                  },
                }
            """,
        },
    )
    (configmap,) = render(chart, config={"colour": "teal"}).objects
    assert configmap["metadata"] == {"name": "demo", "namespace": "apps"}
    assert configmap["data"] == {"argument": "teal", "external": "teal", "release": "demo/apps"}


def test_one_object_with_kind_is_rendered_as_one_object(tmp_path: Path) -> None:
    chart = write_chart(
        tmp_path, {"main.jsonnet": "{apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'x'}}"}
    )
    assert names(render(chart).objects) == [("Namespace", "x")]


@pytest.mark.parametrize(
    ("result", "named"),
    [
        ("[{apiVersion: 'v1', kind: 'ConfigMap'}, 42]", "item 1 is a number"),
        ("[null]", "item 0 is null"),
        ("{'a.json': 'text'}", "a.json is a string"),
        (
            "{'b.json': [{apiVersion: 'v1', kind: 'X'}, {name: 'no kind'}]}",
            "b.json[1] is an object without",
        ),
        ("{'c.json': [[{apiVersion: 'v1', kind: 'X'}]]}", "c.json[0] is a list"),
        ("'just text'", "the main file returned a string"),
        ("{apiVersion: 'v1', kind: 7}", "the result is an object without a string apiVersion"),
    ],
)
def test_results_that_are_not_kubernetes_objects_are_refused(
    tmp_path: Path, result: str, named: str
) -> None:
    chart = write_chart(tmp_path, {"main.jsonnet": result})
    message = rendered_error(chart)
    assert message.startswith(SUBJECT)
    assert named in message


def test_values_jsonnet_cannot_hold_are_refused(tmp_path: Path) -> None:
    chart = write_chart(tmp_path, {"main.jsonnet": "function(values) []"})
    message = rendered_error(chart, config={"ratio": float("nan")})
    assert message.startswith(SUBJECT)
    assert "cannot be given to Jsonnet" in message


def test_plain_charts_are_told_apart_from_others() -> None:
    assert is_plain_jsonnet_chart(CHARTS / "jsonnet-list")
    assert is_plain_jsonnet_chart(CHARTS / "jsonnet-files")
    assert not is_plain_jsonnet_chart(CHARTS / "walm-zookeeper")
    assert not is_plain_jsonnet_chart(CHARTS / "helm-common")


# --- imports stay inside the chart and its library folders ------------------------------


def test_a_library_folder_is_searched_after_the_importing_files_folder(tmp_path: Path) -> None:
    chart = write_chart(
        tmp_path / "chart",
        {
            "main.jsonnet": "local k = import 'ksonnet.beta.2/k.libsonnet';\n"
            "[k.core.v1.configMap.new('from-library'), (import 'local.libsonnet')]",
            "local.libsonnet": "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'local'}}",
        },
    )
    assert names(render(chart).objects) == [("ConfigMap", "from-library"), ("ConfigMap", "local")]
    message = rendered_error(chart, env=environment(library_dirs=()))
    assert "main.jsonnet:1:" in message
    assert "ksonnet.beta.2/k.libsonnet" in message
    assert "no such file in the chart or its library folders" in message


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../../etc/passwd", "it leads outside the chart and its library folders"),
        ("../outside.libsonnet", "it leads outside the chart and its library folders"),
        ("/etc/passwd", "an absolute path"),
        ("sub/../../../etc/hostname", "it leads outside the chart and its library folders"),
    ],
)
def test_an_import_leaving_the_chart_is_refused(tmp_path: Path, path: str, reason: str) -> None:
    (tmp_path / "outside.libsonnet").write_text("{}")
    chart = write_chart(
        tmp_path / "chart", {"main.jsonnet": f"// line 1\nlocal x = importstr '{path}';\n[x]"}
    )
    message = rendered_error(chart)
    assert message.startswith(f"{SUBJECT}: main.jsonnet:2: ")
    assert f'"{path}"' in message
    assert reason in message


def test_a_symbolic_link_leading_out_of_the_chart_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for charts")
    (tmp_path / "elsewhere").mkdir()
    chart = write_chart(tmp_path / "chart", {"main.jsonnet": "[importstr 'files/link.txt']"})
    (chart / "files").mkdir()
    (chart / "files" / "link.txt").symlink_to(secret)
    (chart / "linked-folder").symlink_to(tmp_path / "elsewhere")
    message = rendered_error(chart)
    assert message.startswith(f"{SUBJECT}: main.jsonnet:1: ")
    assert "files/link.txt is a symbolic link leading outside the chart" in message
    assert "not for charts" not in message

    (chart / "main.jsonnet").write_text("[importstr 'linked-folder/anything.txt']")
    message = rendered_error(chart)
    assert "linked-folder is a symbolic link leading outside the chart" in message


def test_a_main_file_linked_from_outside_the_chart_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.jsonnet").write_text("[]")
    chart = write_chart(tmp_path / "chart", {})
    (chart / "main.jsonnet").symlink_to(tmp_path / "elsewhere.jsonnet")
    message = rendered_error(chart)
    assert message == (
        f"{SUBJECT}: the main file: main.jsonnet is a symbolic link leading outside the chart"
    )


def test_a_symbolic_link_inside_the_chart_is_followed(tmp_path: Path) -> None:
    chart = write_chart(
        tmp_path,
        {
            "main.jsonnet": "[import 'alias.libsonnet']",
            "real.libsonnet": "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'real'}}",
        },
    )
    (chart / "alias.libsonnet").symlink_to(chart / "real.libsonnet")
    assert names(render(chart).objects) == [("ConfigMap", "real")]


def test_a_library_file_cannot_climb_out_of_its_folder(tmp_path: Path) -> None:
    library = tmp_path / "lib"
    library.mkdir()
    (library / "sneaky.libsonnet").write_text("importstr '../../etc/passwd'")
    chart = write_chart(tmp_path / "chart", {"main.jsonnet": "[import 'sneaky.libsonnet']"})
    message = rendered_error(chart, env=environment(library_dirs=(library,)))
    assert message.startswith(f"{SUBJECT}: lib/sneaky.libsonnet:1: ")
    assert "it leads outside the chart and its library folders" in message


# --- errors -----------------------------------------------------------------------------


def test_a_runtime_error_names_release_chart_file_and_line(tmp_path: Path) -> None:
    chart = write_chart(
        tmp_path,
        {
            "main.jsonnet": "local lib = import 'lib/checks.libsonnet';\n[lib.need(null)]",
            "lib/checks.libsonnet": """\
                {
                  need(x)::
                    if x == null then error 'a value is needed' else x,
                }
            """,
        },
    )
    message = rendered_error(chart)
    first_line = message.splitlines()[0]
    assert first_line == f"{SUBJECT}: lib/checks.libsonnet:3: RUNTIME ERROR: a value is needed"
    assert "main.jsonnet:2" in message  # the stack trace follows


def test_a_static_error_names_release_chart_file_and_line(tmp_path: Path) -> None:
    chart = write_chart(tmp_path, {"main.jsonnet": "// fine\n// fine\n{ a: }\n"})
    message = rendered_error(chart)
    assert message.startswith(f"{SUBJECT}: main.jsonnet:3: STATIC ERROR: ")


def test_an_error_on_the_first_line_of_a_file_calling_natives_keeps_its_columns(
    tmp_path: Path,
) -> None:
    chart = write_chart(tmp_path, {"main.jsonnet": "std.native('parseYaml')('a: 1') + 1\n"})
    message = rendered_error(chart)
    assert message.startswith(f"{SUBJECT}: main.jsonnet:1: RUNTIME ERROR: ")
    assert "main.jsonnet:1:1-" in message


def test_a_top_level_argument_the_main_function_lacks_is_reported(tmp_path: Path) -> None:
    chart = write_chart(tmp_path, {"main.jsonnet": "function(config) []"})
    message = rendered_error(chart)
    assert message.startswith(
        f"{SUBJECT}: main.jsonnet: RUNTIME ERROR: function has no parameter values"
    )


# --- WALM's native functions ------------------------------------------------------------


def native_result(
    tmp_path: Path, expression: str, *, env: RenderEnvironment | None = None
) -> object:
    """The value of `expression`, carried out of the chart in a ConfigMap."""
    chart = write_chart(
        tmp_path,
        {
            "main.jsonnet": "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'probe'},\n"
            f" data: {{value: std.manifestJsonMinified({expression})}}}}\n",
            "files/app.conf": "port=8080\n",
        },
    )
    (configmap,) = loose(render(chart, env=env).objects)
    return json.loads(configmap["data"]["value"])


def test_parse_yaml_reads_every_document_as_walms_go_decoder_did(tmp_path: Path) -> None:
    stream = (
        "a: y\\nb: 1e3\\nc: 2001-12-14\\nd: 1:20\\ne: 0x1F\\nf: on\\ng: ~\\n"
        "---\\n# only a comment\\n---\\n---\\n- 1\\n- two\\n"
    )
    assert native_result(tmp_path, f"std.native('parseYaml')('{stream}')") == [
        {"a": True, "b": 1000, "c": "2001-12-14", "d": "1:20", "e": 31, "f": True, "g": None},
        None,
        [1, "two"],
    ]


def test_parse_yaml_refuses_broken_yaml_at_the_call(tmp_path: Path) -> None:
    chart = write_chart(tmp_path, {"main.jsonnet": "\n[std.native('parseYaml')('a: [')]"})
    message = rendered_error(chart)
    assert message.startswith(f"{SUBJECT}: main.jsonnet:2: RUNTIME ERROR: parseYaml: ")


def test_load_config_files_reads_files_beside_the_calling_file(tmp_path: Path) -> None:
    result = native_result(
        tmp_path,
        "std.native('loadConfigFiles')('conf', '/etc/app', [{configMapKey: 'app.conf', "
        "fileLocation: 'files/app.conf', volConfigMapSubPath: 'app.conf'}, {configMapKey: "
        "'inline', fileData: 'x=1', volConfigMapMode: 256}], std.thisFile)",
    )
    assert result == {
        "name": "conf",
        "configMapsData": {"app.conf": "port=8080\n", "inline": "x=1"},
        "volumes": [
            {"key": "app.conf", "path": "app.conf", "mode": 420},
            {"key": "inline", "path": "", "mode": 256},
        ],
        "volumeMount": {"name": "conf", "mountPath": "/etc/app"},
        "volumeMounts": [{"name": "conf", "mountPath": "/etc/app", "subPath": ""}],
        "md5Checksum": hashlib.md5(b"port=8080\nx=1").hexdigest(),
    }


@pytest.mark.parametrize(
    ("volume", "problem"),
    [
        ("{configMapKey: 'k', fileLocation: '../../etc/passwd'}", "it leads outside the chart"),
        ("{configMapKey: 'k', fileLocation: 'missing.conf'}", "no such file"),
        ("{configMapKey: 7}", "configMapKey must be a str"),
        ("'not an object'", "each of volConfigs must be an object"),
    ],
)
def test_load_config_files_refuses_what_it_cannot_read(
    tmp_path: Path, volume: str, problem: str
) -> None:
    chart = write_chart(
        tmp_path,
        {"main.jsonnet": f"[std.native('loadConfigFiles')('c', '/m', [{volume}], std.thisFile)]"},
    )
    message = rendered_error(chart)
    assert message.startswith(f"{SUBJECT}: main.jsonnet:1: RUNTIME ERROR: loadConfigFiles: ")
    assert problem in message
    assert "main.jsonnet:1 (std.native)" in message  # not a column inside Harmonia's prelude


def test_gotmpl_render_runs_go_templates_as_text_or_yaml(tmp_path: Path, helm_binary: Path) -> None:
    env = environment(helm=helm_binary)
    text = native_result(
        tmp_path,
        "std.native('gotmplRender')('{{ .name }} has {{ len .members }}: "
        "{{ range .members }}{{ . }},{{ end }}', {name: 'zk', members: ['a', 'b']}, 'string')",
        env=env,
    )
    assert text == "zk has 2: a,b,"
    parsed = native_result(
        tmp_path,
        "std.native('gotmplRender')('port: {{ .port }}\\nhosts: [{{ .host }}]', "
        "{port: 2181, host: 'zk-0'}, 'json')",
        env=env,
    )
    assert parsed == {"port": 2181, "hosts": ["zk-0"]}


def test_gotmpl_render_reports_a_broken_template(tmp_path: Path, helm_binary: Path) -> None:
    chart = write_chart(
        tmp_path, {"main.jsonnet": "[std.native('gotmplRender')('{{ .x', {}, 'string')]"}
    )
    message = rendered_error(chart, env=environment(helm=helm_binary))
    assert message.startswith(f"{SUBJECT}: main.jsonnet:1: RUNTIME ERROR: gotmplRender: ")
    assert "unclosed action" in message


def test_render_confd_files_is_refused_with_a_reason(tmp_path: Path) -> None:
    chart = write_chart(
        tmp_path, {"main.jsonnet": "[std.native('renderConfdFiles')('c', {}, [], std.thisFile)]"}
    )
    message = rendered_error(chart)
    assert "renderConfdFiles is not supported" in message


# --- determinism ------------------------------------------------------------------------


@pytest.mark.parametrize("chart", ["jsonnet-list", "jsonnet-files"])
def test_rendering_twice_gives_byte_identical_objects(chart: str) -> None:
    first = json.dumps(render(CHARTS / chart).objects)
    second = json.dumps(render(CHARTS / chart).objects)
    assert first == second


def test_a_chart_folder_linked_to_a_host_folder_is_refused_without_naming_what_is_in_it(
    tmp_path: Path, helm_binary: Path
) -> None:
    marker = f"host-only-{uuid.uuid4().hex}"
    host = tmp_path / "host-etc"
    (host / marker).mkdir(parents=True)
    (host / marker / "settings.conf").write_text("from the host")
    (host / f"{marker}.conf").symlink_to(host / "gone")
    repository = tmp_path / "repository"
    write_chart(repository / "charts" / "j", {"main.jsonnet": "[]"})
    (repository / "charts" / "j" / "etc").symlink_to(host)
    (repository / "harmonia.yaml").write_text(
        "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\nkubeVersion: v1.36.3\n"
    )
    release = repository / "releases" / "shop" / "j.yaml"
    release.parent.mkdir(parents=True)
    release.write_text(
        "apiVersion: harmonia.dev/v1alpha1\nkind: Release\nname: j\nnamespace: shop\n"
        "chartPath: charts/j\n"
    )

    state = compute_desired_state(
        repository,
        policy=Policy(allowed_namespaces=("*",), allow_cluster_scoped=False),
        versions_for=lambda config: choose_versions(config, cluster=None),
        tools=Tools(helm=helm_binary, kubectl=None, cache_dir=tmp_path / "cache"),
    )

    message = state.render.failed[ReleaseKey("shop/j")].message
    assert message == (
        "release shop/j: chart charts/j: etc is a symbolic link to outside the repository"
    )
    assert marker not in message
