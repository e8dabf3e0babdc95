"""SOPS-encrypted values files and release files, rendered with the real sops and helm.

Age keys are made by the real age-keygen for each test; no cluster. With the key the
engine gets the plaintext and nothing on disk holds it; without, placeholders; a file
that cannot be decrypted fails its release alone, saying which file and for whom.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.desired import DesiredState, Tools, compute_desired_state
from reconciler.render.secrets.sops_decryption import SopsSettings
from reconciler.sops import DEFAULT_KEY_TYPES
from reconciler.types import ReleaseKey
from tests.render.test_outbound_attacks import ConnectionCounter
from tests.render.test_pipeline import ALL_NAMESPACES, offline_versions, write_repository
from tests.sops_files import AgeKey, age_key, encrypted, files_holding, sops_binary

WEB = ReleaseKey("shop/web")
OTHER = ReleaseKey("shop/other")
CHART = {
    "Chart.yaml": "apiVersion: v2\nname: vault-app\nversion: 0.1.0\n",
    "values.yaml": "mode: slow\napiToken: none\nendpoint: none\n"
    "database:\n  password: none\n  port: 1\n",
    "templates/objects.yaml": """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-db
stringData:
  password: {{ .Values.database.password | quote }}
  apiToken: {{ .Values.apiToken | quote }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
data:
  port: {{ .Values.database.port | quote }}
---
apiVersion: harmonia.dev/v1alpha1
kind: ReleaseConfig
metadata:
  name: {{ .Release.Name }}
spec:
  outputConfig:
    port: {{ .Values.database.port }}
    endpoint: {{ .Values.endpoint | quote }}
    tls: true
""",
}


@dataclasses.dataclass(frozen=True)
class Canaries:
    token: str
    password: str

    @classmethod
    def fresh(cls) -> Canaries:
        return cls(f"tok-{secrets.token_hex(8)}", f"pw-{secrets.token_hex(8)}")


def release_file(
    name: str,
    *,
    namespace: str = "shop",
    values_files: tuple[str, ...] = (),
    password: str = "",
) -> str:
    body: dict[str, Any] = {
        "apiVersion": "harmonia.dev/v1alpha1",
        "kind": "Release",
        "name": name,
        "namespace": namespace,
        "chartPath": "charts/app",
        "valuesFiles": list(values_files),
        "configValues": {
            "database": {"port": 5432, **({"password": password} if password else {})}
        },
    }
    return yaml.safe_dump(body, sort_keys=False)


def repository(root: Path, key: AgeKey, canaries: Canaries, *, namespace: str = "shop") -> Path:
    """web: an encrypted values file and a release file whose password is encrypted in
    place; other: no SOPS at all."""
    files = {f"charts/app/{name}": text for name, text in CHART.items()}
    files["harmonia.yaml"] = "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"
    files["values/web.yaml"] = encrypted(
        f"apiToken: {canaries.token}\nendpoint: https://{canaries.password}.example\n"
        "feature: true\n",
        key,
    )
    files["releases/web.yaml"] = encrypted(
        release_file(
            "web",
            namespace=namespace,
            values_files=("values/web.yaml",),
            password=canaries.password,
        ),
        key,
        encrypted_regex="^password$",
    )
    files["releases/other.yaml"] = release_file("other", namespace=namespace)
    return write_repository(root, files)


def with_consumer(root: Path, field: str) -> None:
    """`shop/consumer`: a ConfigMap whose `field` holds web's `endpoint` output."""
    write_repository(
        root,
        {
            "charts/consumer/Chart.yaml": "apiVersion: v2\nname: consumer\nversion: 0.1.0\n",
            "charts/consumer/templates/settings.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: consumer\n"
                f"{field}:\n  endpoint: {{{{ .Values.dependencies.db.endpoint | quote }}}}\n"
            ),
            "releases/consumer.yaml": yaml.safe_dump(
                {
                    "apiVersion": "harmonia.dev/v1alpha1",
                    "kind": "Release",
                    "name": "consumer",
                    "namespace": "shop",
                    "chartPath": "charts/consumer",
                    "dependencies": {"db": "web"},
                }
            ),
        },
    )


def desired(
    root: Path, helm: Path, cache: Path, sops: SopsSettings | None, *, cache_secrets: bool = False
) -> DesiredState:
    tools = Tools(helm=helm, kubectl=None, cache_dir=cache, sops=sops, cache_secrets=cache_secrets)
    return compute_desired_state(
        root, policy=ALL_NAMESPACES, versions_for=offline_versions, tools=tools
    )


def objects_by_name(state: DesiredState, key: ReleaseKey) -> dict[str, Any]:
    return {o["metadata"]["name"]: o for o in state.render.rendered[key].objects}  # type: ignore[index]


def test_with_the_key_the_engine_gets_the_plaintext_and_no_cache_file_holds_it(
    helm_binary: Path, tmp_path: Path, key: AgeKey
) -> None:
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries)
    cache = tmp_path / "cache"
    sops = SopsSettings(sops_binary(), age_key_file=key.identity_file)

    # Even where the operator lets renders holding Secrets go to disk.
    state = desired(root, helm_binary, cache, sops, cache_secrets=True)

    assert not state.render.failed, state.render.failed
    secret = objects_by_name(state, WEB)["web-db"]
    assert secret["stringData"] == {"password": canaries.password, "apiToken": canaries.token}
    assert objects_by_name(state, WEB)["web-settings"]["data"] == {"port": "5432"}
    assert {canaries.token, canaries.password} <= state.render.secrets
    # An output equal to a decrypted value is a secret output, though no Secret holds it;
    # a decrypted boolean hides nothing, so `tls: true` stays shown.
    assert state.render.rendered[WEB].secret_outputs == {"endpoint"}
    assert "true" not in state.render.secrets
    for needle in (canaries.token, canaries.password):
        assert files_holding(cache, needle) == []
    assert len(files_holding(cache / "render", "other-db")) == 1  # the other one is there


def test_the_input_hash_is_computed_over_the_ciphertext_not_the_plaintext(
    helm_binary: Path, tmp_path: Path, key: AgeKey
) -> None:
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries)
    sops = SopsSettings(sops_binary(), age_key_file=key.identity_file)
    first = desired(root, helm_binary, tmp_path / "cache", sops).render.rendered[WEB]

    # The same plaintext encrypted again: new ciphertext, same objects.
    repository(root, key, canaries)
    again = desired(root, helm_binary, tmp_path / "cache", sops).render.rendered[WEB]

    assert again.objects == first.objects
    assert again.input_hash != first.input_hash


def test_without_a_key_the_values_are_placeholders_and_sops_never_runs(
    helm_binary: Path, tmp_path: Path, key: AgeKey
) -> None:
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries)

    state = desired(root, helm_binary, tmp_path / "cache", None)
    again = desired(root, helm_binary, tmp_path / "cache", None)

    assert not state.render.failed, state.render.failed
    values = objects_by_name(state, WEB)["web-db"]["stringData"]
    assert values["password"].startswith("sops:") and values["apiToken"].startswith("sops:")
    assert values["password"] != values["apiToken"]
    assert objects_by_name(again, WEB)["web-db"]["stringData"] == values
    assert canaries.password not in json.dumps(state.render.rendered[WEB].values)


FAILURES = {
    "no key": "no key could decrypt it; it is encrypted for age ",
    "wrong key": "no key could decrypt it; it is encrypted for age ",
    "tampered": "it was altered after encryption",
    "no sops": "sops not found",
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_a_file_that_cannot_be_decrypted_fails_its_release_alone_naming_file_and_recipients(
    helm_binary: Path, tmp_path: Path, key: AgeKey, case: str
) -> None:
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries)
    sops = SopsSettings(sops_binary(), age_key_file=key.identity_file)
    if case == "no key":
        sops = SopsSettings(sops_binary(), age_key_file=tmp_path / "keys" / "absent.txt")
    elif case == "wrong key":
        sops = SopsSettings(sops_binary(), age_key_file=age_key(tmp_path, "other").identity_file)
    elif case == "tampered":
        values = root / "values/web.yaml"
        document = yaml.safe_load(values.read_text())
        document["sops"]["mac"] = document["sops"]["mac"].replace("data:", "data:AAAA", 1)
        values.write_text(yaml.safe_dump(document))
    else:
        sops = dataclasses.replace(sops, binary=None)

    state = desired(root, helm_binary, tmp_path / "cache", sops)

    problem = state.render.failed[WEB]
    assert problem.message.startswith(
        "release shop/web: valuesFiles values/web.yaml could not be decrypted: "
    ), problem.message
    assert FAILURES[case] in problem.message
    if case != "no sops":
        assert key.recipient in problem.message
    assert not problem.temporary
    assert canaries.password not in problem.message and canaries.token not in problem.message
    assert list(state.render.rendered) == [OTHER]


def test_a_vault_address_in_a_file_is_never_contacted_unless_vault_keys_are_allowed(
    helm_binary: Path, tmp_path: Path, key: AgeKey
) -> None:
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries)
    listener = ConnectionCounter()
    try:
        values = root / "values/web.yaml"
        document = yaml.safe_load(values.read_text())
        document["sops"]["hc_vault"] = [
            {
                "vault_address": f"http://127.0.0.1:{listener.port}",
                "engine_path": "sops",
                "key_name": "harmonia",
                "created_at": "2026-12-06T20:00:00Z",
                "enc": "vault:v1:AAAA",
            }
        ]
        values.write_text(yaml.safe_dump(document))
        wrong = age_key(tmp_path, "other").identity_file  # age fails: sops tries the rest

        refused = desired(root, helm_binary, tmp_path / "c1", SopsSettings(sops_binary(), wrong))
        assert listener.connections == 0
        assert f"hc_vault http://127.0.0.1:{listener.port}" in refused.render.failed[WEB].message

        allowed = SopsSettings(sops_binary(), wrong, key_types=DEFAULT_KEY_TYPES | {"hc_vault"})
        desired(root, helm_binary, tmp_path / "c2", allowed)
        assert listener.connections > 0  # the check above would have seen it
    finally:
        listener.stop()


def test_the_key_types_left_out_do_not_stop_the_others_from_decrypting(
    helm_binary: Path, tmp_path: Path, key: AgeKey
) -> None:
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries)
    values = root / "values/web.yaml"
    document = yaml.safe_load(values.read_text())
    document["sops"]["azure_kv"] = [
        {"vault_url": "https://kv.example", "name": "k", "version": "1", "enc": "AAAA"}
    ]
    values.write_text(yaml.safe_dump(document))

    state = desired(
        root, helm_binary, tmp_path / "cache", SopsSettings(sops_binary(), key.identity_file)
    )

    assert objects_by_name(state, WEB)["web-db"]["stringData"]["apiToken"] == canaries.token


def test_an_encrypted_value_outside_config_values_is_an_error_at_its_line(
    helm_binary: Path, tmp_path: Path, key: AgeKey
) -> None:
    root = repository(tmp_path / "repo", key, Canaries.fresh())
    (root / "releases/web.yaml").write_text(
        encrypted(
            release_file("web").replace("chartPath:", "description: secret\nchartPath:"),
            key,
            encrypted_regex="^description$",
        )
    )

    state = desired(root, helm_binary, tmp_path / "cache", None)

    (problem,) = [d for d in state.diagnostics if d.file == "releases/web.yaml"]
    assert problem.line == 5
    assert "an encrypted value outside configValues" in problem.message
    assert list(state.render.rendered) == [OTHER]


def test_a_schema_error_in_a_partly_encrypted_release_file_names_its_line(
    helm_binary: Path, tmp_path: Path, key: AgeKey
) -> None:
    root = repository(tmp_path / "repo", key, Canaries.fresh())
    text = release_file("web", password="pw").replace(
        "kind: Release\n", "kind: Release\ntimeoutSec: soon\n"
    )
    (root / "releases/web.yaml").write_text(encrypted(text, key, encrypted_regex="^password$"))

    state = desired(root, helm_binary, tmp_path / "cache", None)

    (problem,) = [d for d in state.diagnostics if d.file == "releases/web.yaml"]
    assert problem.line == 3
    assert "timeoutSec" in problem.render()


def test_a_failure_message_quoting_a_decrypted_value_masks_it(
    helm_binary: Path, tmp_path: Path, key: AgeKey
) -> None:
    root = repository(tmp_path / "repo", key, Canaries.fresh())
    # Too short for helm's own masking of a plain-named value; a letter first, so YAML
    # never reads it as a number (`123456`, `1e5...`: a flaky test before).
    short = "x" + secrets.token_hex(3)
    (root / "values/web.yaml").write_text(encrypted(f"mode: {short}\n", key))
    (root / "charts/app/templates/fail.yaml").write_text(
        '{{ if ne .Values.mode "slow" }}{{ fail (printf "bad mode %s" .Values.mode) }}{{ end }}\n'
    )

    state = desired(
        root, helm_binary, tmp_path / "cache", SopsSettings(sops_binary(), key.identity_file)
    )

    problem = state.render.failed[WEB].message
    assert "bad mode ***" in problem, problem
    assert short not in problem


def test_a_dependent_given_a_decrypted_value_in_an_output_is_kept_off_the_disk_too(
    helm_binary: Path, tmp_path: Path, key: AgeKey
) -> None:
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries)
    with_consumer(root, "data")
    cache = tmp_path / "cache"
    sops = SopsSettings(sops_binary(), age_key_file=key.identity_file)

    state = desired(root, helm_binary, cache, sops, cache_secrets=True)

    consumer = objects_by_name(state, ReleaseKey("shop/consumer"))["consumer"]
    assert consumer["data"] == {"endpoint": f"https://{canaries.password}.example"}
    assert files_holding(cache, canaries.password) == []
    # A ConfigMap is no place for it: the warning names the file it was decrypted from.
    assert state.render.rendered[ReleaseKey("shop/consumer")].warnings == (
        "ConfigMap/shop/consumer data.endpoint holds a value decrypted from values/web.yaml",
    )


def test_a_dependent_given_a_decrypted_value_in_base64_is_kept_off_the_disk_too(
    helm_binary: Path, tmp_path: Path, key: AgeKey
) -> None:
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries)
    # No encrypted boolean: `true` would match the output `tls: true` and hide the case.
    (root / "values/web.yaml").write_text(
        encrypted(
            f"apiToken: {canaries.token}\nendpoint: https://{canaries.password}.example\n", key
        )
    )
    template = root / "charts/app/templates/objects.yaml"
    template.write_text(
        template.read_text().replace(
            "endpoint: {{ .Values.endpoint | quote }}", "endpoint: {{ .Values.endpoint | b64enc }}"
        )
    )
    with_consumer(root, "binaryData")
    cache = tmp_path / "cache"
    encoded = base64.b64encode(f"https://{canaries.password}.example".encode()).decode()

    state = desired(
        root, helm_binary, cache, SopsSettings(sops_binary(), age_key_file=key.identity_file)
    )

    consumer = objects_by_name(state, ReleaseKey("shop/consumer"))["consumer"]
    assert consumer["binaryData"] == {"endpoint": encoded}
    assert files_holding(cache, encoded) == []
    assert state.render.rendered[WEB].secret_outputs == {"endpoint"}


def test_a_sops_that_does_not_finish_in_time_is_a_temporary_failure_of_its_release(
    helm_binary: Path, tmp_path: Path, key: AgeKey
) -> None:
    root = repository(tmp_path / "repo", key, Canaries.fresh())
    stalled = tmp_path / "stalled-sops"
    stalled.write_text("#!/bin/sh\nexec sleep 30\n")
    stalled.chmod(0o755)
    sops = SopsSettings(stalled, age_key_file=key.identity_file, timeout=0.5)

    state = desired(root, helm_binary, tmp_path / "cache", sops)

    problem = state.render.failed[WEB]
    assert problem.message == (
        "release shop/web: valuesFiles values/web.yaml could not be decrypted: "
        "sops did not finish within 0.5s"
    )
    assert problem.temporary
    assert list(state.render.rendered) == [OTHER]


def test_a_running_reconcilers_next_pass_decrypts_only_the_files_or_keys_that_changed(
    helm_binary: Path, tmp_path: Path, key: AgeKey
) -> None:
    """Two SOPS files (the values file, the release file): sops runs for each once; the
    same files again are answered from memory; a new key file, or a file changed, runs
    sops again for what changed."""
    root = repository(tmp_path / "repo", key, Canaries.fresh())
    launches = tmp_path / "launches"
    counting = tmp_path / "counting-sops"
    counting.write_text(f'#!/bin/sh\necho run >> {launches}\nexec {sops_binary()} "$@"\n')
    counting.chmod(0o755)
    sops = SopsSettings(counting, age_key_file=key.identity_file)

    def passes() -> int:
        state = desired(root, helm_binary, tmp_path / "cache", sops)
        assert list(state.render.failed) == []
        return len(launches.read_text().splitlines())

    assert passes() == 2
    assert passes() == 2
    key.identity_file.write_text(key.identity_file.read_text() + "\n")
    assert passes() == 4
    values = root / "values/web.yaml"
    values.write_text(encrypted("apiToken: other\nendpoint: x\nfeature: true\n", key))
    assert passes() == 5
