"""SOPS-encrypted manifests of plain and Kustomize charts, and decrypted values that land
outside a Secret, rendered with the real sops, age-keygen and `kubectl kustomize`.

No cluster: what the renderer gives the apply step, what the cache holds, and what a
release that cannot be decrypted or breaks strictSecrets reports.
"""

from __future__ import annotations

import base64
import dataclasses
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml

from devcluster.build import ensure_binaries
from reconciler.desired import DesiredState, Tools, compute_desired_state
from reconciler.policy import Policy
from reconciler.render.secrets.sops_decryption import SopsSettings
from reconciler.types import ReleaseKey
from tests.render.test_pipeline import offline_versions, write_repository
from tests.sops_files import AgeKey, age_key, encrypted, files_holding, sops_binary

PLAIN = ReleaseKey("shop/plain")
KUSTOMIZED = ReleaseKey("shop/kustomized")
OTHER = ReleaseKey("shop/other")
SECRET_FIELDS = "^(data|stringData)$"


def secret_manifest(password: str, token: str) -> str:
    return (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  labels: {tier: data}\n"
        f"type: Opaque\nstringData:\n  password: {password}\n"
        f"data:\n  token: {base64.b64encode(token.encode()).decode()}\n"
    )


CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: slow\n"


def release(name: str, chart: str, namespace: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "harmonia.dev/v1alpha1",
            "kind": "Release",
            "name": name,
            "namespace": namespace,
            "chartPath": f"charts/{chart}",
        }
    )


@dataclasses.dataclass(frozen=True)
class Canaries:
    password: str
    token: str

    @classmethod
    def fresh(cls) -> Canaries:
        return cls(f"pw-{secrets.token_hex(8)}", f"tok-{secrets.token_hex(8)}")


def repository(root: Path, key: AgeKey, canaries: Canaries, *, namespace: str = "shop") -> Path:
    """plain: an encrypted Secret in a plain chart; kustomized: one in a Kustomize chart
    with a namespace and a namePrefix; other: no SOPS at all."""
    secret = encrypted(
        secret_manifest(canaries.password, canaries.token), key, encrypted_regex=SECRET_FIELDS
    )
    return write_repository(
        root,
        {
            "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
            "charts/plain/secret.yaml": secret,
            "charts/plain/settings.yaml": CONFIG_MAP,
            "charts/kust/secret.yaml": secret,
            "charts/kust/settings.yaml": CONFIG_MAP,
            "charts/kust/kustomization.yaml": (
                f"namespace: {namespace}\nnamePrefix: app-\nlabels:\n- pairs: {{team: pay}}\n"
                "resources: [secret.yaml, settings.yaml]\n"
            ),
            "charts/bare/settings.yaml": CONFIG_MAP.replace("name: settings", "name: bare"),
            "releases/plain.yaml": release("plain", "plain", namespace),
            "releases/kustomized.yaml": release("kustomized", "kust", namespace),
            "releases/other.yaml": release("other", "bare", namespace),
        },
    )


def desired(
    root: Path,
    cache: Path,
    sops: SopsSettings | None,
    *,
    strict: bool = False,
) -> DesiredState:
    binaries = ensure_binaries()
    tools = Tools(
        helm=binaries["helm"],
        kubectl=binaries["kubectl"],
        cache_dir=cache,
        sops=sops,
        cache_secrets=True,  # even where the operator lets Secrets go to the disk cache
    )
    policy = Policy(allowed_namespaces=("*",), strict_secrets=strict)
    return compute_desired_state(root, policy=policy, versions_for=offline_versions, tools=tools)


def by_name(state: DesiredState, key: ReleaseKey) -> dict[str, Any]:
    return {o["metadata"]["name"]: o for o in state.render.rendered[key].objects}  # type: ignore[index]


def test_an_encrypted_secret_in_a_plain_or_kustomize_chart_is_decrypted_in_memory_only(
    tmp_path: Path, key: AgeKey
) -> None:
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries)
    cache = tmp_path / "cache"

    state = desired(root, cache, SopsSettings(sops_binary(), age_key_file=key.identity_file))

    assert not state.render.failed, state.render.failed
    token = base64.b64encode(canaries.token.encode()).decode()
    plain = by_name(state, PLAIN)["db"]
    assert plain["stringData"] == {"password": canaries.password}
    assert plain["data"] == {"token": token}
    assert "sops" not in plain
    kustomized = by_name(state, KUSTOMIZED)["app-db"]
    assert kustomized["metadata"]["namespace"] == "shop"
    assert kustomized["metadata"]["labels"]["team"] == "pay"
    assert kustomized["stringData"] == {"password": canaries.password}
    assert kustomized["data"] == {"token": token}
    assert "sops" not in kustomized
    assert {canaries.password, token} <= state.render.secrets
    for needle in (canaries.password, canaries.token, token):
        assert files_holding(cache, needle) == []
    for found in (PLAIN, KUSTOMIZED):
        assert state.render.rendered[found].warnings == ()


def test_the_input_hash_of_a_sops_manifest_follows_its_ciphertext(
    tmp_path: Path, key: AgeKey
) -> None:
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries)
    sops = SopsSettings(sops_binary(), age_key_file=key.identity_file)
    first = desired(root, tmp_path / "cache", sops).render.rendered

    repository(root, key, canaries)  # the same plaintext encrypted again
    again = desired(root, tmp_path / "cache", sops).render.rendered

    for found in (PLAIN, KUSTOMIZED):
        assert again[found].objects == first[found].objects
        assert again[found].input_hash != first[found].input_hash
    assert again[OTHER].input_hash == first[OTHER].input_hash


def test_without_a_key_a_sops_manifest_renders_placeholders_and_sops_never_runs(
    tmp_path: Path, key: AgeKey
) -> None:
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries)

    state = desired(root, tmp_path / "cache", None)

    assert not state.render.failed, state.render.failed
    for found, name in ((PLAIN, "db"), (KUSTOMIZED, "app-db")):
        secret = by_name(state, found)[name]
        assert secret["stringData"]["password"].startswith("sops:")
        assert secret["data"]["token"].startswith("sops:")
        assert "sops" not in secret
    assert (
        by_name(state, PLAIN)["db"]["stringData"]
        == by_name(state, KUSTOMIZED)["app-db"]["stringData"]
    )


FAILURES = {
    "wrong key": "no key could decrypt it; it is encrypted for age ",
    "tampered": "it was altered after encryption",
    "no sops": "sops not found",
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_a_sops_manifest_that_cannot_be_decrypted_fails_its_release_alone_naming_the_file(
    tmp_path: Path, key: AgeKey, case: str
) -> None:
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries)
    sops = SopsSettings(sops_binary(), age_key_file=key.identity_file)
    if case == "wrong key":
        sops = SopsSettings(sops_binary(), age_key_file=age_key(tmp_path, "other").identity_file)
    elif case == "tampered":
        for chart in ("plain", "kust"):
            path = root / f"charts/{chart}/secret.yaml"
            document = yaml.safe_load(path.read_text())
            document["metadata"]["name"] = "renamed"  # the MAC covers every value
            path.write_text(yaml.safe_dump(document))
    else:
        sops = dataclasses.replace(sops, binary=None)

    state = desired(root, tmp_path / "cache", sops)

    for found, chart in ((PLAIN, "plain"), (KUSTOMIZED, "kust")):
        message = state.render.failed[found].message
        assert message.startswith(
            f"release {found}: chart {chart}: secret.yaml could not be decrypted: "
        ), message
        assert FAILURES[case] in message
        if case != "no sops":
            assert key.recipient in message
        assert canaries.password not in message
    assert list(state.render.rendered) == [OTHER]


@pytest.mark.parametrize(
    ("entry", "what"),
    [
        ("secretGenerator:\n- name: gen\n  files: [secret.yaml]\n", "generator file"),
        ("secretGenerator:\n- name: gen\n  envs: [secret.env]\n", "generator env"),
        ("patches:\n- path: secret.yaml\n", "patch"),
    ],
)
def test_a_kustomize_chart_reading_an_encrypted_file_for_its_content_is_refused(
    tmp_path: Path, key: AgeKey, entry: str, what: str
) -> None:
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries)
    (root / "charts/kust/secret.env").write_text(
        encrypted(f"PASSWORD={canaries.password}\n", key, file_type="dotenv")
    )
    (root / "charts/kust/kustomization.yaml").write_text("resources: [settings.yaml]\n" + entry)

    state = desired(root, tmp_path / "cache", SopsSettings(sops_binary(), key.identity_file))

    message = state.render.failed[KUSTOMIZED].message
    file = "secret.env" if what == "generator env" else "secret.yaml"
    assert message.startswith(
        f"release {KUSTOMIZED}: chart kust: {file} is SOPS-encrypted and kustomize reads it "
        "for its content"
    ), message
    assert canaries.password not in message
    assert sorted(state.render.rendered) == [OTHER, PLAIN]


def test_a_sops_file_of_several_documents_is_refused_naming_it(tmp_path: Path, key: AgeKey) -> None:
    root = repository(tmp_path / "repo", key, Canaries.fresh())
    (root / "charts/plain/secret.yaml").write_text(
        encrypted(
            secret_manifest("a-password", "a-token") + "---\n" + CONFIG_MAP,
            key,
            encrypted_regex=SECRET_FIELDS,
        )
    )

    state = desired(root, tmp_path / "cache", SopsSettings(sops_binary(), key.identity_file))

    assert state.render.failed[PLAIN].message.startswith(
        f"release {PLAIN}: chart plain: secret.yaml: a SOPS file of 2 documents"
    )
    assert PLAIN not in state.render.rendered and KUSTOMIZED in state.render.rendered


def encrypted_config_map(root: Path, key: AgeKey, canaries: Canaries) -> None:
    """The plain chart's ConfigMap encrypted too: its decrypted value lands outside a Secret."""
    (root / "charts/plain/settings.yaml").write_text(
        encrypted(
            CONFIG_MAP + f"  dsn: postgres://app:{canaries.password}@db/app\n",
            key,
            encrypted_regex="^dsn$",
        )
    )


def test_a_decrypted_value_in_a_config_map_is_a_warning_naming_object_and_field(
    tmp_path: Path, key: AgeKey
) -> None:
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries)
    encrypted_config_map(root, key, canaries)

    state = desired(root, tmp_path / "cache", SopsSettings(sops_binary(), key.identity_file))

    assert not state.render.failed, state.render.failed
    assert state.render.rendered[PLAIN].warnings == (
        "ConfigMap/shop/settings data.dsn holds a value decrypted from "
        "settings.yaml of chart plain",
    )
    # Without the key the placeholder lands in the same place: the reviewer sees it too.
    review = desired(root, tmp_path / "cache", None)
    assert review.render.rendered[PLAIN].warnings == state.render.rendered[PLAIN].warnings


def test_under_strict_secrets_a_decrypted_value_outside_a_secret_fails_its_release_alone(
    tmp_path: Path, key: AgeKey
) -> None:
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries)
    encrypted_config_map(root, key, canaries)

    state = desired(
        root, tmp_path / "cache", SopsSettings(sops_binary(), key.identity_file), strict=True
    )

    problem = state.render.failed[PLAIN]
    assert problem.message == (
        f"release {PLAIN}: ConfigMap/shop/settings data.dsn holds a value decrypted from "
        "settings.yaml of chart plain (strictSecrets is on: decrypted values belong in a "
        "Secret's data)"
    )
    assert not problem.temporary
    assert sorted(state.render.rendered) == [KUSTOMIZED, OTHER]


def test_strict_secrets_in_harmonia_yaml_fails_the_release_as_the_flag_does(
    tmp_path: Path, key: AgeKey
) -> None:
    canaries = Canaries.fresh()
    root = repository(tmp_path / "repo", key, canaries)
    encrypted_config_map(root, key, canaries)
    (root / "harmonia.yaml").write_text(
        "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\nstrictSecrets: true\n"
    )

    state = desired(root, tmp_path / "cache", SopsSettings(sops_binary(), key.identity_file))

    assert "strictSecrets is on" in state.render.failed[PLAIN].message
    assert sorted(state.render.rendered) == [KUSTOMIZED, OTHER]
