"""Where decrypted SOPS values land outside a Secret's data, and SOPS objects opened after
their engine: pure functions, no sops run (tokens are written by hand)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from reconciler.cli.options import reconciler_policy
from reconciler.policy import Policy, effective_policy, load_policy
from reconciler.release_requests import RepositoryConfig
from reconciler.render.manifests.sops_manifests import opened_output
from reconciler.render.model import ChartOutput, Hook
from reconciler.render.secrets.landing import misplaced_values, names_an_object
from reconciler.types import JsonObject

TOKEN = "ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]"
PORT = "ENC[AES256_GCM,data:DDDD,iv:EEEE,tag:FFFF,type:int]"
PASSWORD = "s3cret-pass"
ORIGINS = {TOKEN: "values/web.yaml", PORT: "values/db.yaml"}
SOPS_METADATA = {"mac": "ENC[...]", "version": "3.13.3", "age": [{"recipient": "age1x"}]}


def config_map(data: JsonObject, *, annotations: JsonObject | None = None) -> JsonObject:
    metadata: JsonObject = {"name": "settings", "namespace": "shop"}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def secret(**fields: JsonObject) -> JsonObject:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        **fields,
    }


def test_a_value_equal_to_a_decrypted_one_in_a_config_map_is_named_by_object_and_path() -> None:
    found = misplaced_values([config_map({"dsn": PASSWORD})], {TOKEN: PASSWORD}, ORIGINS)
    assert found == (
        "ConfigMap/shop/settings data.dsn holds a value decrypted from values/web.yaml",
    )


def test_a_decrypted_value_inside_a_longer_text_lands_too_and_is_never_quoted() -> None:
    deployment: JsonObject = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "web", "env": [{"name": "DSN", "value": f"pg://u:{PASSWORD}@db"}]}
                    ]
                }
            }
        },
    }
    (found,) = misplaced_values([deployment], {TOKEN: PASSWORD}, ORIGINS)
    assert found == (
        "Deployment/shop/web spec.template.spec.containers.0.env.0.value holds a value "
        "decrypted from values/web.yaml"
    )
    assert PASSWORD not in found


@pytest.mark.parametrize(
    "disguised",
    [
        base64.b64encode(PASSWORD.encode()).decode(),  # `b64enc`, or a ConfigMap's binaryData
        PASSWORD.upper(),
        f"pg://u:{PASSWORD.upper()}@db",
    ],
)
def test_a_decrypted_value_a_chart_encoded_or_upper_cased_lands_too(disguised: str) -> None:
    found = misplaced_values([config_map({"dsn": disguised})], {TOKEN: PASSWORD}, ORIGINS)
    assert found == (
        "ConfigMap/shop/settings data.dsn holds a value decrypted from values/web.yaml",
    )


@pytest.mark.parametrize("field", ["name", "namespace"])
def test_an_object_named_after_a_decrypted_value_is_never_named_by_its_finding(field: str) -> None:
    obj = config_map({"mode": "slow"})
    obj["metadata"][field] = PASSWORD  # type: ignore[index]

    (found,) = misplaced_values([obj], {TOKEN: PASSWORD}, ORIGINS)

    assert PASSWORD not in found
    assert names_an_object(found)
    assert not names_an_object(
        misplaced_values([config_map({"dsn": PASSWORD})], {TOKEN: PASSWORD}, ORIGINS)[0]
    )


def test_a_secrets_data_and_string_data_are_where_decrypted_values_belong() -> None:
    encoded = base64.b64encode(PASSWORD.encode()).decode()
    objects = [secret(stringData={"password": PASSWORD}, data={"password": encoded})]
    assert misplaced_values(objects, {TOKEN: PASSWORD}, ORIGINS) == ()


def test_a_secrets_own_annotation_holding_a_decrypted_value_is_not_its_data() -> None:
    obj = secret(stringData={"password": PASSWORD})
    obj["metadata"] = {"name": "db", "namespace": "shop", "annotations": {"note": PASSWORD}}
    assert misplaced_values([obj], {TOKEN: PASSWORD}, ORIGINS) == (
        "Secret/shop/db metadata.annotations.note holds a value decrypted from values/web.yaml",
    )


def test_a_key_made_of_a_decrypted_value_is_masked_in_the_path() -> None:
    found = misplaced_values([config_map({PASSWORD: "x"})], {TOKEN: PASSWORD}, ORIGINS)
    assert found == (
        "ConfigMap/shop/settings data.*** holds a value decrypted from values/web.yaml",
    )


@pytest.mark.parametrize(
    ("value", "leaf", "lands"),
    [
        (5432, 5432, True),  # a decrypted number, whole
        (5432, "5432", True),  # written out as text
        (5432, "port 5432", False),  # short values only where the whole field is one
        ("abc", "abc", False),  # under 4 characters: matches ordinary words
        (True, True, False),  # a boolean hides nothing
        ("12345678", "x-12345678-y", True),  # from 8 characters, inside a text too
    ],
)
def test_what_counts_as_landing(value: object, leaf: object, lands: bool) -> None:
    found = misplaced_values([config_map({"field": leaf})], {PORT: value}, ORIGINS)  # type: ignore[dict-item]
    assert bool(found) is lands


def test_nothing_decrypted_nothing_reported() -> None:
    assert misplaced_values([config_map({"dsn": PASSWORD})], {}, ORIGINS) == ()


def test_a_sops_object_is_opened_and_loses_its_metadata_and_others_stay_as_they_are() -> None:
    sealed = secret(stringData={"password": TOKEN})
    sealed["sops"] = SOPS_METADATA
    plain = config_map({"mode": TOKEN})  # no SOPS metadata: not ours to open
    output = ChartOutput(
        objects=(sealed, plain), hooks=(Hook(object=dict(sealed), events=("pre-install",)),)
    )

    opened = opened_output(output, ((sealed, {TOKEN: PASSWORD}),))

    assert opened.objects[0] == secret(stringData={"password": PASSWORD})
    assert opened.objects[1] == plain
    assert opened.hooks[0].object == secret(stringData={"password": PASSWORD})
    assert opened.hooks[0].events == ("pre-install",)


def test_a_token_an_engine_moved_or_copied_into_another_object_stays_ciphertext() -> None:
    """What kustomize's patches and replacements can do to a SOPS manifest's output."""
    sealed = secret(stringData={"password": TOKEN})
    sealed["sops"] = SOPS_METADATA
    moved = secret(stringData={"other": TOKEN})  # the same kind and MAC, another path
    moved["sops"] = SOPS_METADATA
    dressed = config_map({"password": TOKEN})  # another kind, the MAC copied
    dressed["sops"] = SOPS_METADATA
    forged = secret(stringData={"password": TOKEN})  # a MAC no file has
    forged["sops"] = {**SOPS_METADATA, "mac": "forged"}

    opened = opened_output(
        ChartOutput(objects=(moved, dressed, forged), hooks=()), ((sealed, {TOKEN: PASSWORD}),)
    )

    assert PASSWORD not in str(opened.objects)


def test_strict_secrets_comes_from_the_flag_the_config_file_or_harmonia_yaml(
    tmp_path: Path,
) -> None:
    assert load_policy().strict_secrets is False
    config = tmp_path / "config.yaml"
    config.write_text(
        "apiVersion: harmonia.dev/v1alpha1\nkind: ReconcilerConfig\nstrictSecrets: true\n"
    )
    assert load_policy(config).strict_secrets is True
    assert reconciler_policy(None, (), False, False, True).strict_secrets is True
    narrowed, problems = effective_policy(Policy(), RepositoryConfig(strict_secrets=True))
    assert narrowed.strict_secrets is True and problems == ()
    # A repository cannot relax the reconciler's strictness.
    kept, _ = effective_policy(Policy(strict_secrets=True), RepositoryConfig(strict_secrets=False))
    assert kept.strict_secrets is True
