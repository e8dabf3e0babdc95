"""Encrypted values in a review without the key (reconciler.review.encrypted, pure): a
field holding a placeholder is sealed, and a change of its ciphertext is one line, changed
or re-encrypted. SOPS documents are written by hand here; tests/review uses the real sops."""

from __future__ import annotations

import base64

from reconciler.diff import Action
from reconciler.render.model import KubeObject
from reconciler.review.encrypted import MARKER, Ciphertexts, EncryptedSides
from reconciler.review.revisions import object_changes
from reconciler.sops import EncryptedLeaf, placeholder
from reconciler.types import JsonObject, ReleaseKey

WEB = ReleaseKey("shop/web")


def token(data: str, kind: str = "str") -> str:
    return f"ENC[AES256_GCM,data:{data},iv:aXY{data}=,tag:dGFn{data}==,type:{kind}]"


def sops_file(values: dict[str, str], *, wrapped: str = "key-1") -> JsonObject:
    return {
        **values,
        "sops": {"age": [{"recipient": "age1x", "enc": wrapped}], "mac": "m", "version": "3"},
    }


def stand_in(data: str, kind: str = "str") -> str:
    return str(placeholder(EncryptedLeaf((), token(data, kind), kind)))


def config_map(**data: str) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "web-settings", "namespace": "shop"},
        "data": dict(data),
    }


def secret(**string_data: str) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "web-db", "namespace": "shop"},
        "stringData": dict(string_data),
    }


def texts(base: KubeObject, head: KubeObject, sides: EncryptedSides) -> list[str]:
    changes = object_changes(WEB, (base,), (head,), encrypted=sides)
    return [change.diff_text or "" for change in changes.changes if change.is_change]


def test_a_changed_ciphertext_in_a_config_map_is_one_line_without_its_placeholder() -> None:
    sides = EncryptedSides(
        Ciphertexts.of({"values/web.yaml": sops_file({"host": token("AAAA"), "b": token("BB")})}),
        Ciphertexts.of({"values/web.yaml": sops_file({"host": token("CCCC"), "b": token("BB")})}),
    )
    base = config_map(endpoint=f"https://{stand_in('AAAA')}.example", other=stand_in("BB"))
    head = config_map(endpoint=f"https://{stand_in('CCCC')}.example", other=stand_in("BB"))

    changes = object_changes(WEB, (base,), (head,), encrypted=sides)

    (change,) = changes.changes
    assert change.action is Action.CONFIGURED
    assert change.changed_paths == ("/data/endpoint",)
    assert change.diff_text == "# ConfigMap/shop/web-settings: data.endpoint changed (encrypted)\n"


def test_an_unchanged_ciphertext_shows_nothing_and_a_plain_change_beside_it_shows_sealed() -> None:
    ciphertexts = Ciphertexts.of({"v.yaml": sops_file({"host": token("AAAA")})})
    sides = EncryptedSides(ciphertexts, ciphertexts)
    base = config_map(endpoint=stand_in("AAAA"), mode="slow")
    head = config_map(endpoint=stand_in("AAAA"), mode="fast")

    (text,) = texts(base, head, sides)

    assert not text.startswith("# ")  # no encrypted change line
    assert f"   endpoint: '{MARKER}'" in text or f"   endpoint: {MARKER}" in text
    assert "+  mode: fast" in text
    assert "sops:" not in text


def test_a_secrets_base64_value_is_read_for_its_placeholder() -> None:
    sides = EncryptedSides(
        Ciphertexts.of({"v.yaml": sops_file({"token": token("AAAA")})}),
        Ciphertexts.of({"v.yaml": sops_file({"token": token("CCCC")})}),
    )
    encoded = {
        data: base64.b64encode(stand_in(data).encode()).decode() for data in ("AAAA", "CCCC")
    }
    base: KubeObject = {**secret(), "data": {"token": encoded["AAAA"]}}
    head: KubeObject = {**secret(), "data": {"token": encoded["CCCC"]}}

    (text,) = texts(base, head, sides)

    assert text == "# Secret/shop/web-db: data.token changed (encrypted)\n"


def test_string_data_is_named_as_the_data_field_it_becomes() -> None:
    sides = EncryptedSides(
        Ciphertexts.of({"v.yaml": sops_file({"password": token("AAAA")})}),
        Ciphertexts.of({"v.yaml": sops_file({"password": token("CCCC")})}),
    )

    (text,) = texts(secret(password=stand_in("AAAA")), secret(password=stand_in("CCCC")), sides)

    assert text == "# Secret/shop/web-db: data.password changed (encrypted)\n"


def test_a_file_sharing_no_ciphertext_and_no_wrapped_key_is_re_encrypted() -> None:
    sides = EncryptedSides(
        Ciphertexts.of({"v.yaml": sops_file({"a": token("AAAA")}, wrapped="key-1")}),
        Ciphertexts.of({"v.yaml": sops_file({"a": token("CCCC")}, wrapped="key-2")}),
    )

    (text,) = texts(config_map(a=stand_in("AAAA")), config_map(a=stand_in("CCCC")), sides)

    assert text == "# ConfigMap/shop/web-settings: data.a re-encrypted (encrypted)\n"
    assert sides.re_encrypted == {"v.yaml"}


def test_a_file_sharing_a_ciphertext_or_a_wrapped_key_keeps_its_data_key() -> None:
    base = Ciphertexts.of(
        {
            "same-key.yaml": sops_file({"a": token("AAAA")}, wrapped="key-1"),
            "same-value.yaml": sops_file({"a": token("DDDD"), "b": token("EE")}, wrapped="k"),
        }
    )
    head = Ciphertexts.of(
        {
            "same-key.yaml": sops_file({"a": token("CCCC")}, wrapped="key-1"),
            "same-value.yaml": sops_file({"a": token("FFFF"), "b": token("EE")}, wrapped="k2"),
        }
    )

    assert EncryptedSides(base, head).re_encrypted == frozenset()


def test_a_re_encrypted_field_whose_plain_part_changed_too_is_changed() -> None:
    sides = EncryptedSides(
        Ciphertexts.of({"v.yaml": sops_file({"a": token("AAAA")}, wrapped="key-1")}),
        Ciphertexts.of({"v.yaml": sops_file({"a": token("CCCC")}, wrapped="key-2")}),
    )
    base = config_map(url=f"https://{stand_in('AAAA')}.example")
    head = config_map(url=f"https://{stand_in('CCCC')}.example.org")

    (text,) = texts(base, head, sides)

    assert text == "# ConfigMap/shop/web-settings: data.url changed (encrypted)\n"


def test_a_number_placeholder_is_found_as_go_templates_print_it() -> None:
    number = placeholder(EncryptedLeaf((), token("BA==", "int"), "int"))
    other = placeholder(EncryptedLeaf((), token("Bg==", "int"), "int"))
    assert isinstance(number, int) and isinstance(other, int)
    sides = EncryptedSides(
        Ciphertexts.of({"v.yaml": sops_file({"port": token("BA==", "int")})}),
        Ciphertexts.of({"v.yaml": sops_file({"port": token("Bg==", "int")})}),
    )

    def go(value: int) -> str:
        digits = str(value).rstrip("0")
        return f"{digits[0]}.{digits[1:]}e+{len(str(value)) - 1:02d}"

    quoted = texts(config_map(port=go(number)), config_map(port=go(other)), sides)
    plain = object_changes(
        WEB,
        ({**config_map(), "spec": {"port": number}},),
        ({**config_map(), "spec": {"port": other}},),
        encrypted=sides,
    )

    assert quoted == ["# ConfigMap/shop/web-settings: data.port changed (encrypted)\n"]
    assert [change.diff_text for change in plain.changes] == [
        "# ConfigMap/shop/web-settings: spec.port changed (encrypted)\n"
    ]


def test_without_sops_files_objects_are_compared_as_ever() -> None:
    changes = object_changes(WEB, (config_map(a="sops:0123456789abcdef"),), (config_map(a="x"),))

    (change,) = changes.changes
    assert "-  a: sops:0123456789abcdef" in (change.diff_text or "")
