"""A hostile chart making helm's error text quote a decrypted value, with the real sops and helm.

A failure message goes to the log, the status file committed to Git and the JSON API:
a decrypted value must not reach it as written, nor as the tools quote it (JSON or Go
escapes, a schema error's quotes), nor in the common encodings a template applies
(base64, upper or lower case). No cluster.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest
import yaml

from reconciler.render.secrets.sops_decryption import SopsSettings
from tests.render.test_pipeline import write_repository
from tests.render.test_sops_render import WEB, desired, release_file
from tests.render.test_sops_token_attacks import LEAKING_CHART
from tests.sops_files import AgeKey, encrypted, sops_binary

SCHEMA = json.dumps({"properties": {"apiToken": {"type": "string", "pattern": "^nomatch$"}}})
TEMPLATES = {
    "Go-quoted": '{{ fail (printf "bad %q" .Values.apiToken) }}',
    "in JSON": "{{ fail (toJson .Values) }}",
    "base64": "{{ fail (b64enc .Values.apiToken) }}",
    "upper case": "{{ fail (upper .Values.apiToken) }}",
    "lower case": "{{ fail (lower .Values.apiToken) }}",
    "quoted by a schema error": "",
}


def _failure_of(template: str, password: str, helm: Path, tmp_path: Path, key: AgeKey) -> str:
    files = {f"charts/app/{name}": text for name, text in LEAKING_CHART.items()}
    if template:
        files["charts/app/templates/fail.yaml"] = template
    else:
        files["charts/app/values.schema.json"] = SCHEMA
    files.update(
        {
            "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
            "values/web.yaml": encrypted(yaml.safe_dump({"apiToken": password}), key),
            "releases/web.yaml": release_file("web", values_files=("values/web.yaml",)),
        }
    )
    root = write_repository(tmp_path / "repo", files)
    state = desired(root, helm, tmp_path / "cache", SopsSettings(sops_binary(), key.identity_file))
    return state.render.failed[WEB].message


@pytest.mark.parametrize("case", sorted(TEMPLATES))
def test_a_decrypted_value_a_chart_quotes_in_its_error_is_masked_as_written_escaped_or_encoded(
    helm_binary: Path, tmp_path: Path, key: AgeKey, case: str
) -> None:
    secret = 'Pw"q\\z-' + secrets.token_hex(6)

    message = _failure_of(TEMPLATES[case], secret, helm_binary, tmp_path, key)

    assert "helm template failed" in message and "***" in message, message
    # The random part is in every form the value could take but base64's.
    assert secret[-12:] not in message.lower(), message
    assert base64.b64encode(secret.encode()).decode() not in message, message


def test_a_decrypted_value_naming_an_object_fails_its_release_without_strict_secrets(
    helm_binary: Path, tmp_path: Path, key: AgeKey
) -> None:
    secret = "name-" + secrets.token_hex(6)
    named = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.apiToken }}\n"
        "data:\n  mode: slow\n"
    )

    message = _failure_of(named, secret, helm_binary, tmp_path, key)

    assert message == (
        "release shop/web: ConfigMap/shop/*** metadata.name holds a value decrypted from "
        "values/web.yaml (an object's name or namespace is written in logs, records and "
        "status files: a decrypted value cannot be one)"
    )


def test_the_computed_values_a_render_records_never_hold_a_decrypted_value(
    helm_binary: Path, tmp_path: Path, key: AgeKey
) -> None:
    """The JSON API shows them as a release's `computedValues`: a decrypted value the
    chart puts into no Secret (or ignores) would be there in the clear."""
    canaries = [f"dsn-{secrets.token_hex(6)}", f"unused-{secrets.token_hex(6)}"]
    files = {f"charts/app/{name}": text for name, text in LEAKING_CHART.items()}
    files.update(
        {
            "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
            "values/web.yaml": encrypted(
                yaml.safe_dump({"leak": canaries[0], "elsewhere": {"note": canaries[1]}}), key
            ),
            "releases/web.yaml": release_file("web", values_files=("values/web.yaml",)),
        }
    )
    root = write_repository(tmp_path / "repo", files)

    state = desired(
        root, helm_binary, tmp_path / "cache", SopsSettings(sops_binary(), key.identity_file)
    )

    rendered = state.render.rendered[WEB]
    config_map = next(o for o in rendered.objects if o["kind"] == "ConfigMap")
    assert config_map["data"] == {"leak": canaries[0]}  # the chart's business, warned about
    assert rendered.values["leak"] == "***"
    assert rendered.values["elsewhere"] == {"note": "***"}
    assert not any(canary in json.dumps(rendered.values) for canary in canaries)


def test_a_multi_line_decrypted_value_in_an_error_is_masked_line_by_line(
    helm_binary: Path, tmp_path: Path, key: AgeKey
) -> None:
    """helm's error text is kept line by line, each line stripped and blank ones dropped:
    a private key quoted whole no longer equals the value, but each of its lines does."""
    lines = [secrets.token_urlsafe(48) for _ in range(3)]
    private_key = (
        "-----BEGIN PRIVATE KEY-----\n  " + "\n\n  ".join(lines) + "\n-----END PRIVATE KEY-----\n"
    )

    message = _failure_of("{{ fail .Values.apiToken }}", private_key, helm_binary, tmp_path, key)

    assert "helm template failed" in message, message
    assert not [line for line in lines if line in message], message
