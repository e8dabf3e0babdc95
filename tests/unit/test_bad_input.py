"""Hostile release files and harmonia.yaml: loading never raises, each problem names its
file, and the valid files beside a bad one still load.

Property-based first (generated documents of the real field names with values of the
wrong types, random text, random bytes), then each kind of hostile input by name, then
the chart files and rendered manifests a release brings with it.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.desired import check_repository
from reconciler.policy import Policy, effective_policy
from reconciler.release_requests import LoadedRepository, load_repository
from reconciler.release_requests.schema import Schema, schema_fields
from reconciler.render.chart_description import default_values
from reconciler.render.charts import InvalidChart
from reconciler.render.charts.folder import read_chart_yaml
from reconciler.render.manifests.parse import MAX_DEPTH, MAX_DOCUMENT_VALUES, parse_manifests
from reconciler.render.model import RenderError
from reconciler.types import ReleaseKey
from tests.unit.samples import release, write_repository
from tests.unit.test_mutations import JSON_VALUES, SNIPPETS

FUZZ_SETTINGS = settings(
    deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)
SIBLINGS: dict[str, str | bytes] = {
    "releases/sibling-a.yaml": release("sibling-a"),
    "releases/more/sibling-b.yaml": release("sibling-b"),
}
SIBLING_KEYS = {ReleaseKey("apps/sibling-a"), ReleaseKey("apps/sibling-b")}
RELEASE_FIELDS = sorted(schema_fields(Schema.RELEASE) | schema_fields(Schema.WALM_RELEASE_REQUEST))
# Where the releases are is harmonia.yaml's to say; moving them is not an attack on them.
REPOSITORY_FIELDS = sorted(schema_fields(Schema.REPOSITORY) - {"releasesDir"})
NAMES = st.sampled_from(["web", "kafka", "apps", "", "Web", "web_1", "..", ".", "a/b", "-x"])
RECONCILER_POLICY = Policy(allowed_namespaces=("apps",), allow_cluster_scoped=False)

ALIAS_BOMB = """\
a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: [*g, *g, *g, *g, *g, *g, *g, *g, *g]
"""
DEEP = "x: " + "[" * 500 + "]" * 500 + "\n"


# --- generated documents -----------------------------------------------------------


@st.composite
def wrong_typed_document(draw: st.DrawFn, fields: list[str]) -> bytes:
    """A mapping of real field names to values of any type, sometimes with a proper
    apiVersion, kind, name and namespace so validation reaches the deeper checks."""
    document = draw(st.dictionaries(st.sampled_from(fields), JSON_VALUES, max_size=6))
    if draw(st.booleans()):
        document = {"apiVersion": "harmonia.dev/v1alpha1", "kind": "Release", **document}
    if draw(st.booleans()):
        document["name"] = draw(NAMES | JSON_VALUES)
        document["namespace"] = draw(NAMES | JSON_VALUES)
    return yaml.safe_dump(document, allow_unicode=True).encode()


YAML_NOISE = st.lists(st.sampled_from(SNIPPETS) | st.text(max_size=6), max_size=30).map(
    lambda parts: "".join(parts).encode()
)


def hostile_file(fields: list[str]) -> st.SearchStrategy[bytes]:
    return (
        wrong_typed_document(fields)
        | st.text(max_size=200).map(str.encode)
        | st.binary(max_size=200)
        | YAML_NOISE
    )


def load_checked(files: dict[str, str | bytes], *, config: bytes | None = None) -> LoadedRepository:
    """Load a repository of `files` (and this harmonia.yaml) in a folder of its own, run the
    checks `harmonia validate` runs, and require every problem to be well formed: in a
    file that was written, at a real place, with a message and a hint."""
    with tempfile.TemporaryDirectory() as folder:
        root = write_repository(Path(folder), files)
        if config is not None:
            (root / "harmonia.yaml").write_bytes(config)
        loaded = load_repository(root)
        check_repository(root, policy=RECONCILER_POLICY)
    for problem in loaded.diagnostics:
        assert problem.file in {*files, "harmonia.yaml"}, problem
        assert problem.line >= 1 and problem.column >= 1, problem
        assert problem.message.strip() and problem.hint.strip(), problem
        json.dumps(problem.to_json())
    return loaded


def assert_siblings_loaded(loaded: LoadedRepository) -> None:
    assert set(loaded.releases) >= SIBLING_KEYS, [d.render() for d in loaded.errors]
    assert not SIBLING_KEYS & loaded.invalid_releases


@FUZZ_SETTINGS
@given(data=st.data())
def test_hostile_release_files_never_stop_their_valid_siblings(data: st.DataObject) -> None:
    hostile = {
        f"releases/hostile-{index}.yaml": data.draw(hostile_file(RELEASE_FIELDS))
        for index in range(data.draw(st.integers(1, 3)))
    }
    loaded = load_checked({**SIBLINGS, **hostile})
    assert_siblings_loaded(loaded)
    for problem in loaded.errors:
        # A bad file breaks the release it names, or is known to name none.
        assert problem.release in loaded.invalid_releases or (
            problem.release is None and problem.file in loaded.unclaimed_files
        ), problem


@FUZZ_SETTINGS
@given(config=hostile_file(REPOSITORY_FIELDS))
def test_a_hostile_harmonia_yaml_is_reported_and_never_widens_the_policy(config: bytes) -> None:
    loaded = load_checked(dict(SIBLINGS), config=config)
    assert_siblings_loaded(loaded)
    if loaded.config is None:
        assert any(problem.file == "harmonia.yaml" for problem in loaded.errors)
    narrowed, _problems = effective_policy(RECONCILER_POLICY, loaded.config)
    assert set(narrowed.allowed_namespaces) <= {"apps"}
    assert narrowed.allow_cluster_scoped is False


# --- each hostile input by name ----------------------------------------------------


def outside_folder(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    (outside / "chart").mkdir(parents=True)
    (outside / "chart" / "configmap.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n")
    (outside / "values.yaml").write_text("stolen: true\n")
    return outside


def web(**fields: str) -> str:
    """The release apps/web, its chartPath replaced when `fields` names one."""
    text = release("web", **fields)
    return text.replace("chartPath: charts/web\n", "", 1) if "chartPath" in fields else text


@pytest.mark.parametrize(
    ("content", "place", "message"),
    [
        (ALIAS_BOMB, (1, 29), "aliases expand the document by more than 10000 values"),
        (DEEP, (1, 103), "nested deeper than 100 levels"),
        ("name: web\ndescription: " + "x" * (1 << 20) + "\n", (1, 1), "file is larger than"),
        (b"\x7fELF\x02\x01\x01\x00", (1, 8), "binary file (it contains NUL bytes)"),
        (b"name: web\nnamespace: apps\ndescription: caf\xe9\n", (3, 17), "not UTF-8 text"),
        ("name: web\n  namespace: apps\n", (2, 12), "YAML syntax error"),
    ],
    ids=["alias-bomb", "deep-nesting", "huge", "binary", "invalid-utf8", "syntax"],
)
def test_an_unreadable_release_file_is_an_error_at_its_place_and_names_no_release(
    tmp_path: Path, content: str | bytes, place: tuple[int, int], message: str
) -> None:
    loaded = load_checked({**SIBLINGS, "releases/web.yaml": content})
    ((problem,),) = [loaded.errors]
    assert (problem.file, (problem.line, problem.column)) == ("releases/web.yaml", place)
    assert problem.message.startswith(message), problem.message
    assert loaded.unclaimed_files == ("releases/web.yaml",)
    assert_siblings_loaded(loaded)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"chartPath": "../outside/chart"}, '"../outside/chart" is not a valid path inside'),
        ({"chartPath": "/etc"}, '"/etc" is not a valid path inside the repository'),
        ({"valuesFiles": "[../outside/values.yaml]"}, '"../outside/values.yaml" is not a valid'),
        ({"valuesFiles": "[/etc/passwd]"}, '"/etc/passwd" is not a valid path inside'),
        ({"chartPath": "charts/linked"}, "no chart folder or .tgz at 'charts/linked' (it leads"),
        (
            {"valuesFiles": "[values/linked.yaml]"},
            "values file 'values/linked.yaml' leads outside the repository",
        ),
    ],
    ids=[
        "chart-dotdot",
        "chart-absolute",
        "values-dotdot",
        "values-absolute",
        "chart-link",
        "values-link",
    ],
)
def test_a_path_leading_out_of_the_repository_fails_only_its_release(
    tmp_path: Path, fields: dict[str, str], message: str
) -> None:
    outside = outside_folder(tmp_path)
    root = write_repository(tmp_path / "repo", {**SIBLINGS, "releases/web.yaml": web(**fields)})
    (root / "charts/linked").symlink_to(outside / "chart")
    (root / "values/linked.yaml").symlink_to(outside / "values.yaml")
    loaded = load_repository(root)
    ((problem,),) = [loaded.errors]
    assert problem.file == "releases/web.yaml" and problem.line == 5 + ("valuesFiles" in fields)
    assert problem.message.startswith(message), problem.message
    assert loaded.invalid_releases == {"apps/web"}
    assert_siblings_loaded(loaded)


@pytest.mark.parametrize(
    ("name", "namespace"), [("..", ".."), ("web", ".."), ("Web", "apps"), ("web", "a/b")]
)
def test_a_name_or_namespace_that_is_not_a_dns_label_claims_no_release(
    name: str, namespace: str
) -> None:
    text = f"apiVersion: harmonia.dev/v1alpha1\nkind: Release\nname: '{name}'\n"
    text += f"namespace: '{namespace}'\nchartPath: charts/web\n"
    loaded = load_checked({**SIBLINGS, "releases/web.yaml": text})
    assert loaded.errors and all(problem.release is None for problem in loaded.errors)
    assert loaded.invalid_releases == set()
    assert loaded.unclaimed_files == ("releases/web.yaml",)
    assert_siblings_loaded(loaded)


@pytest.mark.parametrize(
    "config",
    [ALIAS_BOMB.encode(), DEEP.encode(), b"\x00\x01", b"kind: Repository\nx: \xff\n"],
    ids=["alias-bomb", "deep-nesting", "binary", "invalid-utf8"],
)
def test_an_unreadable_harmonia_yaml_leaves_no_config_and_the_releases_still_load(
    config: bytes,
) -> None:
    loaded = load_checked(dict(SIBLINGS), config=config)
    assert loaded.config is None
    assert [problem.file for problem in loaded.errors] == ["harmonia.yaml"]
    assert_siblings_loaded(loaded)


# --- what a release brings with it: chart files and rendered manifests ---------------


def test_a_chart_yaml_nested_too_deeply_is_an_invalid_chart_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "Chart.yaml").write_text("name: c\nversion: 1.0.0\nx: " + "[" * 5000 + "]" * 5000)
    with pytest.raises(InvalidChart, match=r"chart c: Chart\.yaml is nested too deeply to read"):
        read_chart_yaml(tmp_path, subject="chart c")


@pytest.mark.parametrize(
    ("content", "message"),
    [(ALIAS_BOMB, "aliases expand the document"), (DEEP, "nested deeper than 100 levels")],
    ids=["alias-bomb", "deep-nesting"],
)
def test_a_chart_values_yaml_is_read_with_the_limits_of_release_files(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "values.yaml").write_text(content)
    with pytest.raises(RenderError, match=f"chart c: values.yaml:1:[0-9]+: {message}"):
        default_values(tmp_path, subject="chart c")


def test_a_manifest_nested_too_deeply_is_a_render_error_not_a_crash() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  x: " + "{a: " * 3000 + "1" + "}" * 3000
    with pytest.raises(RenderError, match=r"chart c: cm\.yaml: rendered .* nested too deeply"):
        parse_manifests(text + "\n", subject="chart c: cm.yaml")


def test_a_manifest_alias_bomb_is_refused_before_it_expands() -> None:
    bomb = "".join(f"  {line}\n" for line in ALIAS_BOMB.splitlines())
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata:\n{bomb}"
    with pytest.raises(RenderError, match=f"over {MAX_DOCUMENT_VALUES} values"):
        parse_manifests(text, subject="chart c: cm.yaml")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 999, 1000, 5000])
def test_a_manifest_over_the_depth_limit_is_refused_in_harmonias_words(depth: int) -> None:
    # Below libyaml's own limit (1000 since PyYAML 6.0.4) the document parses and the
    # conversion refuses it; at or above, the parser fails and the refusal is the same.
    text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  x: " + "[" * depth + "]" * depth
    with pytest.raises(
        RenderError,
        match=rf"^chart c: rendered YAML nested too deeply \(over {MAX_DEPTH} levels\)$",
    ):
        parse_manifests(text + "\n", subject="chart c")


def test_a_manifest_at_the_depth_limit_is_read() -> None:
    depth = MAX_DEPTH - 2
    text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  x: " + "[" * depth + "]" * depth
    (configmap,) = parse_manifests(text + "\n", subject="chart c")
    assert configmap["kind"] == "ConfigMap"
