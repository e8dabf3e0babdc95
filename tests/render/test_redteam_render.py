"""Red team, blast radius in rendering: YAML that the reader's constructors refuse (an
integer of thousands of digits, `!!binary` that is not base64) in a rendered manifest, a
Chart.yaml or a requirements.yaml fails that release alone, with a message that does not
quote the value; before, the whole pass crashed with a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.types import ReleaseKey
from tests import manifests
from tests.render.test_pipeline import desired

DIGITS = "9" * 5000
CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  n: {value}\n"
CHART_YAML = "apiVersion: v2\nname: {name}\nversion: 1.0.0\n"


def write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)


def test_values_the_yaml_reader_refuses_fail_their_release_alone(
    tmp_path: Path, helm_binary: Path
) -> None:
    repository = tmp_path / "repository"
    charts: dict[str, dict[str, str]] = {
        "plain-int": {"objects.yaml": CONFIG_MAP.format(value=DIGITS)},
        "plain-binary": {"objects.yaml": CONFIG_MAP.format(value="!!binary '%%%'")},
        "plain-hex": {"objects.yaml": CONFIG_MAP.format(value="0x" + "f" * 5000)},
        "plain-hex-key": {"objects.yaml": CONFIG_MAP.format(value="{0x" + "f" * 5000 + ": a}")},
        "helm-int": {
            "Chart.yaml": CHART_YAML.format(name="helm-int"),
            "templates/cm.yaml": CONFIG_MAP.format(value=DIGITS),
        },
        "chart-yaml-int": {
            "Chart.yaml": f"apiVersion: v2\nname: chart-yaml-int\nversion: 1.0.0\nx: {DIGITS}\n",
            "templates/cm.yaml": CONFIG_MAP.format(value="'1'"),
        },
        "requirements-int": {
            "Chart.yaml": "apiVersion: v1\nname: requirements-int\nversion: 1.0.0\n",
            "requirements.yaml": f"dependencies:\n- name: a\n  version: {DIGITS}\n",
            "templates/cm.yaml": CONFIG_MAP.format(value="'1'"),
        },
        "chart-yaml-hex": {
            "Chart.yaml": "apiVersion: v2\nname: chart-yaml-hex\nversion: 0x" + "f" * 5000 + "\n",
            "templates/cm.yaml": CONFIG_MAP.format(value="'1'"),
        },
        "requirements-hex": {
            "Chart.yaml": "apiVersion: v1\nname: requirements-hex\nversion: 1.0.0\n",
            "requirements.yaml": "dependencies:\n- name: a\n  version: 0x" + "f" * 5000 + "\n",
            "templates/cm.yaml": CONFIG_MAP.format(value="'1'"),
        },
        "good": {"objects.yaml": CONFIG_MAP.format(value="'1'")},
    }
    write(repository, {"harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"})
    for name, files in charts.items():
        write(repository / "charts" / name, files)
        body = manifests.release("shop", name, chartPath=f"charts/{name}")
        write(repository, {f"releases/shop/{name}.yaml": json.dumps(body)})

    state = desired(repository, helm_binary, tmp_path / "cache")

    assert sorted(state.render.rendered) == [ReleaseKey("shop/good")]
    failed = state.render.failed
    assert sorted(failed) == sorted(ReleaseKey(f"shop/{name}") for name in charts if name != "good")
    for key, problem in failed.items():
        assert DIGITS[:50] not in problem.message, problem.message
        assert "%%%" not in problem.message, problem.message
        assert str(key) in problem.message or "charts/" in problem.message, problem.message


def test_a_hexadecimal_integer_of_thousands_of_digits_in_values_fails_its_release_alone(
    tmp_path: Path, helm_binary: Path
) -> None:
    repository = tmp_path / "repository"
    huge = "0x" + "f" * 5000
    write(
        repository,
        {
            "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
            "charts/ok/objects.yaml": CONFIG_MAP.format(value="'1'"),
            "charts/h/Chart.yaml": CHART_YAML.format(name="h"),
            "charts/h/values.yaml": f"n: {huge}\n",
            "charts/h/templates/cm.yaml": CONFIG_MAP.format(value="{{ .Values.n | quote }}"),
        },
    )
    for name, chart, values in (
        ("release-value", "ok", {"n": "HUGE"}),
        ("chart-value", "h", None),
        ("good", "ok", None),
    ):
        body = manifests.release("shop", name, chartPath=f"charts/{chart}")
        if values:
            body["configValues"] = values
        text = json.dumps(body).replace('"HUGE"', huge)
        write(repository, {f"releases/shop/{name}.yaml": text})

    state = desired(repository, helm_binary, tmp_path / "cache")

    assert sorted(state.render.rendered) == [ReleaseKey("shop/good")]
    assert "values.yaml:1:4: an integer of thousands of digits" in (
        state.render.failed[ReleaseKey("shop/chart-value")].message
    )
    assert [d.render().split(": ", 1)[1][:34] for d in state.diagnostics] == [
        "an integer of thousands of digits "
    ]
