"""A chart's values.schema.json never makes a render reach outside the chart: the real helm
would fetch what a schema names (a loopback listener logged `GET /ssrf-probe.json`) or open
a host file, so such a chart fails its release before helm runs, and a schema that names
only itself is still checked by helm.
"""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.release_requests.model import ChartPath
from reconciler.render.charts import resolve_chart
from reconciler.render.helm.engine import render_helm
from reconciler.render.model import ChartOutput, RenderError
from reconciler.types import JsonObject, JsonValue
from tests.render.conftest import recording_listener
from tests.render.servers import ChartRepositoryServer
from tests.render.test_helm_render import as_resolved, environment

SUBJECT = "release shop/web: chart c 1.0.0"
TEMPLATE = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: {{ .Values.a | quote }}\n"
)
STRING_SCHEMA: JsonObject = {"type": "string"}


@pytest.fixture()
def listener(tmp_path: Path) -> Iterator[ChartRepositoryServer]:
    """An HTTP server on loopback that records every request; it serves a valid schema at
    /ssrf-probe.json, so a fetch would succeed and the render would pass."""
    schema = json.dumps(STRING_SCHEMA)
    with recording_listener(tmp_path / "served", "ssrf-probe.json", schema) as server:
        yield server


def address(server: ChartRepositoryServer, path: str) -> str:
    return server.url.removesuffix("/charts") + path


def write_chart(folder: Path, schema: JsonValue, *, name: str = "c") -> Path:
    (folder / "templates").mkdir(parents=True)
    (folder / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: 1.0.0\n")
    (folder / "templates" / "cm.yaml").write_text(TEMPLATE)
    if schema is not None:
        (folder / "values.schema.json").write_text(json.dumps(schema))
    return folder


def packed(folder: Path, archive: Path) -> None:
    """`folder` as a chart archive (what `helm dependency build` leaves in charts/)."""
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                member = tarfile.TarInfo(f"{folder.name}/{path.relative_to(folder).as_posix()}")
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))


def render(repository: Path, helm: Path, values: JsonObject) -> ChartOutput:
    chart = resolve_chart(
        ChartPath("charts/c"),
        repository_root=repository,
        chart_repositories={},
        cache_dir=repository.parent / "cache",
        helm=helm,
    )
    return render_helm(
        as_resolved(chart),
        release_name="web",
        namespace="shop",
        values=values,
        env=environment(helm),
    )


def render_error(repository: Path, helm: Path, values: JsonObject) -> str:
    with pytest.raises(RenderError) as caught:
        render(repository, helm, values)
    return str(caught.value)


PROBE = "{probe}"
"""Stands for the listener's /ssrf-probe.json address in the cases below."""


@pytest.mark.parametrize(
    ("placement", "where", "named"),
    [
        ("ref", "values.schema.json", f"$ref '{PROBE}' at #/properties/a"),
        ("dynamic-ref", "values.schema.json", f"$dynamicRef '{PROBE}' at #/properties/a"),
        ("schema", "values.schema.json", f"$schema '{PROBE}' at #"),
        ("id-with-query", "values.schema.json", f"$id '{PROBE}?' at #"),
        ("sub-chart-folder", "charts/sub/values.schema.json", f"$ref '{PROBE}' at #/properties/a"),
        (
            "sub-chart-archive",
            "charts/sub-1.0.0.tgz: sub/values.schema.json",
            f"$ref '{PROBE}' at #/properties/a",
        ),
        (
            "archive-in-archive",
            "charts/sub-1.0.0.tgz: sub/charts/inner-1.0.0.tgz: inner/values.schema.json",
            f"$ref '{PROBE}' at #/properties/a",
        ),
    ],
)
def test_a_schema_naming_a_url_fails_the_release_and_nothing_is_fetched(
    tmp_path: Path,
    helm_binary: Path,
    listener: ChartRepositoryServer,
    placement: str,
    where: str,
    named: str,
) -> None:
    probe = address(listener, "/ssrf-probe.json")
    schemas: dict[str, JsonObject] = {
        "ref": {"properties": {"a": {"$ref": probe}}},
        "dynamic-ref": {"properties": {"a": {"$dynamicRef": probe}}},
        "schema": {"$schema": probe},
        # A fragment reference under this $id is fetched by helm: its URL handling drops
        # the empty query, so the document is no longer found under its own name.
        "id-with-query": {"$id": f"{probe}?", "properties": {"a": {"$ref": "#/$defs/s"}}},
    }
    repository = tmp_path / "repository"
    chart = write_chart(repository / "charts" / "c", schemas.get(placement))
    values: JsonObject = {"a": "x"}
    reaching: JsonObject = {"properties": {"a": {"$ref": probe}}}
    if placement.startswith("sub-chart"):
        sub = write_chart(tmp_path / "sub", reaching, name="sub")
        (chart / "charts").mkdir()
        if placement == "sub-chart-folder":
            sub.rename(chart / "charts" / "sub")
        else:
            packed(sub, chart / "charts" / "sub-1.0.0.tgz")
        values = {"a": "x", "sub": {"a": "x"}}
    if placement == "archive-in-archive":
        inner = write_chart(tmp_path / "inner", reaching, name="inner")
        sub = write_chart(tmp_path / "sub", None, name="sub")
        (sub / "charts").mkdir()
        packed(inner, sub / "charts" / "inner-1.0.0.tgz")
        (chart / "charts").mkdir()
        packed(sub, chart / "charts" / "sub-1.0.0.tgz")
        values = {"a": "x", "sub": {"inner": {"a": "x"}}}

    message = render_error(repository, helm_binary, values)

    assert listener.requests == []
    assert message.startswith(f"{SUBJECT}: {where}: {named.replace(PROBE, probe)} ")


@pytest.mark.parametrize("naming", ["ref", "id"])
def test_a_schema_naming_a_host_file_fails_the_release_and_the_file_is_never_read(
    tmp_path: Path, helm_binary: Path, naming: str
) -> None:
    marker = f"host-only-{uuid.uuid4().hex}"
    host_file = tmp_path / "host" / "secret.json"
    host_file.parent.mkdir()
    # Read by helm, this schema would fail the value and quote the marker in the error.
    host_file.write_text(json.dumps({"enum": [marker]}))
    schema: JsonObject = (
        {"properties": {"a": {"$ref": f"file://{host_file}"}}}
        if naming == "ref"
        else {"$id": f"file:{host_file}", "properties": {"a": {"$ref": "#"}}}
    )
    repository = tmp_path / "repository"
    write_chart(repository / "charts" / "c", schema)

    message = render_error(repository, helm_binary, {"a": "x"})

    assert message.startswith(f"{SUBJECT}: values.schema.json: ")
    assert "leads outside the chart" in message or "is not a plain" in message
    assert marker not in message


@pytest.mark.parametrize("own_id", [PROBE, "urn:example:web-values", "defs/values.json"])
def test_a_schema_naming_only_itself_still_checks_the_values_and_fetches_nothing(
    tmp_path: Path, helm_binary: Path, listener: ChartRepositoryServer, own_id: str
) -> None:
    schema: JsonObject = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        # Helm finds the document under its own plain $id, so it fetches nothing (a relative
        # one would be opened as file:///defs/values.json, and fail the render).
        "$id": own_id.replace(PROBE, address(listener, "/ssrf-probe.json")),
        "properties": {"a": {"$ref": "#/definitions/name"}},
        "definitions": {"name": {"type": "string", "pattern": "^[a-z]+$"}},
    }
    repository = tmp_path / "repository"
    write_chart(repository / "charts" / "c", schema)

    output = render(repository, helm_binary, {"a": "web"})
    message = render_error(repository, helm_binary, {"a": "Not-A-Name"})

    assert [o["data"] for o in output.objects] == [{"a": "web"}]
    assert message.startswith(f"{SUBJECT}: helm template failed: ")
    assert "/a" in message
    assert listener.requests == []
