"""Random mutations of valid files load as a valid release or as clean problems, never a crash.

Mangled text and changed fields of releases, WALM bodies and harmonia.yaml, through the CLI's path.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.graph import build_graph, render_dot, render_json, render_mermaid, render_text
from reconciler.policy import Policy, effective_policy, namespace_problems
from reconciler.release_requests import LoadedRepository, load_repository
from reconciler.release_requests.schema import Schema, schema_fields
from reconciler.release_requests.yaml_source import parse_yaml_text
from reconciler.types import JsonValue
from tests.unit.samples import FULL_RELEASE, REPOSITORY, WALM_BODY, release, write_repository

MUTATION_SETTINGS = settings(
    deadline=None, max_examples=120, suppress_health_check=[HealthCheck.too_slow]
)
VALID_RELEASES = [FULL_RELEASE, WALM_BODY, release("web", dependencies="{db: db}")]
SNIPPETS = [
    *":-[]{}&*!|>'\"#%@`,? \t\n",
    "\x07",
    "\u2028",
    "é",
    "&a ",
    "*a",
    "<<: ",
    "---\n",
    "!!binary ",
    "!!set ",
    "!!int ",
    "!!bool ",
    "!!float ",
    "!!str ",
    "!Tag ",
    "~",
    "null",
    ".inf",
    "1e999",
    "0x1F",
    "2026-01-01",
    "? ",
    "  ",
]
RAW_BYTES = [b"\x00", b"\xff", b"\xc3", b"\xef\xbb\xbf", b"\r"]
FIELD_NAMES = sorted(
    schema_fields(Schema.RELEASE)
    | schema_fields(Schema.WALM_RELEASE_REQUEST)
    | schema_fields(Schema.REPOSITORY)
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["kafka", "apps/web", "charts/web", "1.0.0", "oci://r.example/c/web:1"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def mutated_text(draw: st.DrawFn, original: str) -> bytes:
    text = original
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 12)))
        operation = draw(st.sampled_from(["insert", "delete", "replace", "repeat"]))
        if operation == "insert":
            text = text[:start] + draw(st.sampled_from(SNIPPETS)) + text[start:]
        elif operation == "delete":
            text = text[:start] + text[end:]
        elif operation == "replace":
            text = text[:start] + draw(st.sampled_from(SNIPPETS)) + text[end:]
        else:
            text = text[:start] + text[start:end] * 2 + text[end:]
    raw = text.encode()
    if draw(st.booleans()):
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from(RAW_BYTES)) + raw[at:]
    return raw


def _paths(value: JsonValue, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


@st.composite
def mutated_document(draw: st.DrawFn, original: str) -> bytes:
    read = parse_yaml_text(original, display_name="original")
    assert read.document is not None
    data: JsonValue = copy.deepcopy(read.document.data)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(data))))
        parent: JsonValue = data
        for key in path[:-1]:
            parent = parent[key]  # type: ignore[index]
        operation = draw(st.sampled_from(["replace", "delete", "add"]))
        if not path:
            if isinstance(data, dict) and operation == "add":
                data[draw(st.sampled_from(FIELD_NAMES))] = draw(JSON_VALUES)
            continue
        if operation == "replace":
            parent[path[-1]] = draw(JSON_VALUES)  # type: ignore[index]
        elif operation == "delete":
            del parent[path[-1]]  # type: ignore[arg-type,union-attr]
        else:
            target = parent[path[-1]]  # type: ignore[index]
            if isinstance(target, dict):
                target[draw(st.sampled_from(FIELD_NAMES) | st.text(max_size=8))] = draw(JSON_VALUES)
            elif isinstance(target, list):
                target.append(draw(JSON_VALUES))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_repository(tmp_path_factory.mktemp("mutations"), {})


def load_with(root: Path, harmonia_yaml: bytes, release_file: bytes) -> LoadedRepository:
    (root / "harmonia.yaml").write_bytes(harmonia_yaml)
    (root / "releases/mutated.yaml").write_bytes(release_file)
    return load_repository(root)


def assert_clean(loaded: LoadedRepository) -> None:
    """Every problem is well formed, and everything downstream copes with what loaded."""
    for problem in loaded.diagnostics:
        assert problem.file in ("harmonia.yaml", "releases/mutated.yaml"), problem
        assert problem.line >= 1 and problem.column >= 1, problem
        assert problem.path.startswith("$"), problem
        assert problem.message.strip() and problem.hint.strip(), problem
        json.dumps(problem.to_json())
    for item in loaded.releases.values():
        json.dumps([item.config_values, [plugin.args for plugin in item.plugins]])
    narrowed, _ = effective_policy(Policy(("apps", "stream*")), loaded.config)
    namespace_problems(narrowed, loaded.releases)
    graph = build_graph(loaded.releases, invalid=loaded.invalid_releases)
    for render in (render_text, render_mermaid, render_dot, render_json):
        render(graph)


def assert_release_loaded_or_reported(loaded: LoadedRepository) -> None:
    problems = [d for d in loaded.errors if d.file == "releases/mutated.yaml"]
    assert bool(problems) != bool(loaded.releases), (problems, loaded.releases)
    claimed = {problem.release for problem in problems} - {None}
    assert claimed <= loaded.invalid_releases


@MUTATION_SETTINGS
@given(data=st.data(), original=st.sampled_from(VALID_RELEASES))
def test_a_release_file_with_mangled_text_loads_or_is_reported(
    repository: Path, data: st.DataObject, original: str
) -> None:
    loaded = load_with(repository, REPOSITORY.encode(), data.draw(mutated_text(original)))
    assert_clean(loaded)
    assert_release_loaded_or_reported(loaded)


@MUTATION_SETTINGS
@given(data=st.data(), original=st.sampled_from(VALID_RELEASES))
def test_a_release_file_with_changed_fields_loads_or_is_reported(
    repository: Path, data: st.DataObject, original: str
) -> None:
    loaded = load_with(repository, REPOSITORY.encode(), data.draw(mutated_document(original)))
    assert_clean(loaded)
    assert_release_loaded_or_reported(loaded)


@MUTATION_SETTINGS
@given(data=st.data(), text_level=st.booleans())
def test_a_mutated_harmonia_yaml_loads_or_is_reported(
    repository: Path, data: st.DataObject, text_level: bool
) -> None:
    mutate = mutated_text if text_level else mutated_document
    loaded = load_with(repository, data.draw(mutate(REPOSITORY)), release("web").encode())
    assert_clean(loaded)
    if loaded.config is None:
        assert any(problem.file == "harmonia.yaml" for problem in loaded.errors)
