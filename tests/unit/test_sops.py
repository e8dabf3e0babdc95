"""The pure side of SOPS files (reconciler/sops.py, render/secrets/sealing.py)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from reconciler.release_requests import ChartPath, Release, SourceMap
from reconciler.release_requests.document import release_document
from reconciler.render.secrets.sealing import sealed_digest
from reconciler.sops import (
    EncryptedLeaf,
    MismatchedTree,
    decrypted_tokens,
    encrypted_leaves,
    is_sops_document,
    placeholder,
    placeholder_tokens,
    recipients,
    substituted,
    with_key_types,
    without_metadata,
)
from reconciler.types import JsonObject


def token(data: str, kind: str = "str") -> str:
    return f"ENC[AES256_GCM,data:{data},iv:aXY=,tag:dGFn,type:{kind}]"


PASSWORD, PORT, ENABLED = token("cGFzcw=="), token("NTQzMg==", "int"), token("dA==", "bool")
METADATA: JsonObject = {
    "age": [{"recipient": "age1alice", "enc": "..."}],
    "hc_vault": [{"vault_address": "http://evil.example:8200", "enc": "..."}],
    "key_groups": [
        {"pgp": [{"fp": "F00D"}], "azure_kv": [{"vault_url": "https://kv.example"}]},
    ],
    "lastmodified": "2026-12-06T20:18:35Z",
    "mac": token("bWFj"),
    "version": "3.13.3",
}
DOCUMENT: JsonObject = {
    "name": "web",
    "configValues": {"database": {"password": PASSWORD, "port": PORT}, "hosts": ["a", ENABLED]},
    "sops": METADATA,
}


def test_a_document_is_sops_only_with_a_sops_mapping_holding_mac_and_version() -> None:
    assert is_sops_document(DOCUMENT)
    assert not is_sops_document({"sops": {"version": "3"}})
    assert not is_sops_document({"sops": "mac version"})
    assert not is_sops_document(["sops"])


def test_encrypted_leaves_are_listed_with_their_paths_and_types_and_the_mac_is_not() -> None:
    assert encrypted_leaves(DOCUMENT) == (
        EncryptedLeaf(("configValues", "database", "password"), PASSWORD, "str"),
        EncryptedLeaf(("configValues", "database", "port"), PORT, "int"),
        EncryptedLeaf(("configValues", "hosts", 1), ENABLED, "bool"),
    )


def test_recipients_name_every_key_entry_flat_or_in_key_groups() -> None:
    assert recipients(DOCUMENT) == (
        "age age1alice",
        "hc_vault http://evil.example:8200",
        "pgp F00D",
        "azure_kv https://kv.example",
    )


def test_key_types_not_enabled_leave_the_metadata_and_the_rest_stays() -> None:
    trimmed = with_key_types(DOCUMENT, frozenset({"age", "pgp"}))

    assert recipients(trimmed) == ("age age1alice", "pgp F00D")
    assert trimmed["sops"]["mac"] == METADATA["mac"]  # type: ignore[index]
    assert without_metadata(trimmed) == without_metadata(DOCUMENT)
    assert recipients(DOCUMENT)[1].startswith("hc_vault")  # the input is not changed


def test_key_groups_of_a_type_harmonia_does_not_know_never_reach_sops() -> None:
    # sops 3.13 reads `hckms` (HuaweiCloud KMS: its credential chain asks the instance
    # metadata service); a later sops may read types that name any URL.
    unknown = [{"key_id": "eu-west-101:0000", "enc": "..."}]
    metadata: JsonObject = {
        **METADATA,
        "hckms": unknown,
        "key_groups": [{"age": [{"recipient": "age1bob"}], "future_kms": unknown}],
        "encrypted_regex": "^password$",
        "shamir_threshold": 1,
    }

    trimmed = with_key_types({**DOCUMENT, "sops": metadata}, frozenset({"age"}))

    assert trimmed["sops"] == {  # type: ignore[comparison-overlap]
        "age": METADATA["age"],
        "key_groups": [{"age": [{"recipient": "age1bob"}]}],
        "lastmodified": METADATA["lastmodified"],
        "mac": METADATA["mac"],
        "version": METADATA["version"],
        "encrypted_regex": "^password$",
        "shamir_threshold": 1,
    }


def test_placeholders_are_stable_typed_and_differ_when_the_ciphertext_differs() -> None:
    first = placeholder_tokens(DOCUMENT)
    again = placeholder_tokens(DOCUMENT)
    other = placeholder(EncryptedLeaf((), token("b3RoZXI="), "str"))

    assert first == again
    assert isinstance(first[PASSWORD], str) and first[PASSWORD].startswith("sops:")
    assert len(str(first[PASSWORD])) == len("sops:") + 16
    assert other != first[PASSWORD]
    assert isinstance(first[PORT], int) and not isinstance(first[PORT], bool)
    assert first[PORT] != placeholder(EncryptedLeaf((), token("NTQzMw==", "int"), "int"))
    assert first[ENABLED] is False
    assert isinstance(placeholder(EncryptedLeaf((), token("MS41", "float"), "float")), float)


def test_substitution_replaces_whole_leaves_equal_to_a_token_and_nothing_else() -> None:
    tokens = {PASSWORD: "hunter22", PORT: 5432}
    value = {"a": [PASSWORD, f"x{PASSWORD}"], "b": {"c": PORT}, "d": ENABLED}

    assert substituted(value, tokens) == {
        "a": ["hunter22", f"x{PASSWORD}"],
        "b": {"c": 5432},
        "d": ENABLED,
    }


def test_the_token_map_pairs_each_token_with_the_value_in_its_place() -> None:
    decrypted = {
        "name": "web",
        "configValues": {"database": {"password": "hunter22", "port": 5432}, "hosts": ["a", True]},
    }

    assert decrypted_tokens(DOCUMENT, decrypted) == {
        PASSWORD: "hunter22",
        PORT: 5432,
        ENABLED: True,
    }


@pytest.mark.parametrize(
    "decrypted",
    [
        {"name": "web"},
        {"name": "web", "configValues": {"database": [], "hosts": ["a", True]}},
        {"name": "web", "configValues": {"database": {"password": "p", "port": 1}, "hosts": []}},
    ],
)
def test_a_decryption_of_another_shape_is_refused(decrypted: JsonObject) -> None:
    with pytest.raises(MismatchedTree):
        decrypted_tokens(DOCUMENT, decrypted)


def rendered(password: str) -> JsonObject:
    encoded = base64.b64encode(f"user:{password}".encode()).decode()
    return {
        "objects": [
            {"apiVersion": "v1", "kind": "Secret", "data": {"auth": encoded}},
            {"kind": "ConfigMap", "data": {"url": f"postgres://u:{password}@db", "port": "5432"}},
        ]
    }


def test_a_sealed_digest_is_the_same_for_any_plaintext_behind_the_same_tokens() -> None:
    # Whoever reads the hash cannot test a guess of the password against it.
    first = sealed_digest(rendered("hunter22"), {PASSWORD: "hunter22"})
    guessed = sealed_digest(rendered("letmein1"), {PASSWORD: "letmein1"})

    assert first == guessed


@pytest.mark.parametrize(
    "disguise",
    [lambda text: base64.b64encode(text.encode()).decode(), str.upper],
    ids=["base64 in a ConfigMap", "upper case"],
)
def test_a_sealed_digest_hides_a_value_a_chart_disguised_outside_a_secret(
    disguise: Callable[[str], str],
) -> None:
    def with_config_map(password: str) -> JsonObject:
        found = rendered(password)
        found["objects"][1]["binaryData"] = {"key": disguise(password)}  # type: ignore[index]
        return found

    first = sealed_digest(with_config_map("hunter22"), {PASSWORD: "hunter22"})
    guessed = sealed_digest(with_config_map("letmein1"), {PASSWORD: "letmein1"})

    assert first == guessed


def test_a_sealed_digest_changes_with_the_tokens_and_with_the_rest_of_the_render() -> None:
    first = sealed_digest(rendered("hunter22"), {PASSWORD: "hunter22"})
    reencrypted = sealed_digest(rendered("hunter22"), {token("bmV3"): "hunter22"})
    other = rendered("hunter22")
    other["objects"][1]["data"]["port"] = "5433"  # type: ignore[index]

    assert reencrypted != first
    assert sealed_digest(other, {PASSWORD: "hunter22"}) != first


def test_a_partly_encrypted_release_is_shown_with_ciphertext_and_without_sops_metadata() -> None:
    release = Release(
        name="web",
        namespace="shop",
        chart=ChartPath("charts/app"),
        source=SourceMap("releases/web.yaml", {}),
        config_values={"database": {"password": PASSWORD}},
        encrypted=DOCUMENT,
    )

    shown = release_document(release)

    assert shown["configValues"] == {"database": {"password": PASSWORD}}
    assert "encrypted" not in shown and "sops" not in shown
