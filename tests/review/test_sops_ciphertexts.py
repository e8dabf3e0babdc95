"""What the real sops does to a file's ciphertexts, checked: the facts review without the
key stands on (docs/secrets-review.md).

A value's placeholder is derived from its ciphertext, so a review shows a value as
changed exactly when its ciphertext changed. These tests pin when sops keeps a
ciphertext (an edit of another value, `set` of another value, `updatekeys`) and when it
makes all of them new (`rotate`, a fresh `encrypt`), and that the data's length is the
plaintext's (AES-GCM is a stream mode).
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from reconciler.sops import ENCRYPTED_TOKEN
from tests.sops_files import AgeKey, age_key, encrypted, run_sops

PLAIN = "alpha: one\nbeta: two\ngamma: 3\n"


def ciphertexts(path: Path) -> dict[str, str]:
    return {k: v for k, v in yaml.safe_load(path.read_text()).items() if k != "sops"}


def metadata(path: Path) -> dict[str, object]:
    found: dict[str, object] = yaml.safe_load(path.read_text())["sops"]
    return found


def wrapped_keys(path: Path) -> list[str]:
    return [entry["enc"] for entry in metadata(path)["age"]]  # type: ignore[attr-defined]


def iv(token: str) -> str:
    return token.split(",iv:", 1)[1].split(",", 1)[0]


@pytest.fixture()
def file(tmp_path: Path) -> tuple[Path, AgeKey]:
    key = age_key(tmp_path / "keys")
    path = tmp_path / "secrets.yaml"
    path.write_text(encrypted(PLAIN, key))
    return path, key


def test_sops_edit_keeps_the_ciphertext_of_the_values_it_did_not_touch(
    file: tuple[Path, AgeKey], tmp_path: Path
) -> None:
    path, key = file
    before, meta = ciphertexts(path), metadata(path)
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nsed -i "s/^alpha: one$/alpha: uno/" "$1"\n')
    editor.chmod(0o755)

    run_sops(tmp_path, "edit", path.name, keys=(key,), editor=editor)

    after, new_meta = ciphertexts(path), metadata(path)
    assert after["alpha"] != before["alpha"]
    assert {k: after[k] for k in ("beta", "gamma")} == {k: before[k] for k in ("beta", "gamma")}
    assert new_meta["age"] == meta["age"]  # the data key and its wrapping are kept
    assert new_meta["mac"] != meta["mac"]
    assert str(new_meta["lastmodified"]) >= str(meta["lastmodified"])


def test_sops_set_keeps_the_ciphertext_of_the_other_values(
    file: tuple[Path, AgeKey], tmp_path: Path
) -> None:
    path, key = file
    before, meta = ciphertexts(path), metadata(path)

    run_sops(tmp_path, "set", path.name, '["beta"]', '"deux"', keys=(key,))

    after = ciphertexts(path)
    assert after["beta"] != before["beta"]
    assert {k: after[k] for k in ("alpha", "gamma")} == {k: before[k] for k in ("alpha", "gamma")}
    assert metadata(path)["age"] == meta["age"]
    assert metadata(path)["mac"] != meta["mac"]


def test_sops_rotate_makes_every_ciphertext_new_with_a_new_data_key(
    file: tuple[Path, AgeKey], tmp_path: Path
) -> None:
    path, key = file
    before, meta, wrapped = ciphertexts(path), metadata(path), wrapped_keys(path)

    run_sops(tmp_path, "rotate", "-i", path.name, keys=(key,))

    after = ciphertexts(path)
    assert all(after[name] != before[name] for name in before)
    # The values are the same: sops keeps each value's IV, under the new data key.
    assert all(iv(after[name]) == iv(before[name]) for name in before)
    assert set(wrapped_keys(path)).isdisjoint(wrapped)
    assert metadata(path)["mac"] != meta["mac"]


def test_sops_updatekeys_rewraps_the_data_key_and_keeps_every_ciphertext_and_the_mac(
    file: tuple[Path, AgeKey], tmp_path: Path
) -> None:
    path, key = file
    other = age_key(tmp_path / "keys", "other")
    before, meta, wrapped = ciphertexts(path), metadata(path), wrapped_keys(path)
    rules = tmp_path / ".sops.yaml"

    rules.write_text(f"creation_rules:\n  - age: {key.recipient},{other.recipient}\n")
    run_sops(tmp_path, "updatekeys", "-y", path.name, keys=(key,))
    added = wrapped_keys(path)
    rules.write_text(f"creation_rules:\n  - age: {other.recipient}\n")
    run_sops(tmp_path, "updatekeys", "-y", path.name, keys=(key,))

    assert ciphertexts(path) == before
    assert metadata(path)["mac"] == meta["mac"]
    assert metadata(path)["lastmodified"] == meta["lastmodified"]
    assert len(added) == 2 and set(added).isdisjoint(wrapped)  # every recipient re-wrapped
    assert set(wrapped_keys(path)).isdisjoint(added)


def test_a_fresh_encryption_of_the_same_plaintext_shares_nothing_with_the_old_file(
    file: tuple[Path, AgeKey],
) -> None:
    path, key = file
    again = encrypted(PLAIN, key)
    fresh = path.with_name("fresh.yaml")
    fresh.write_text(again)

    old, new = ciphertexts(path), ciphertexts(fresh)
    assert all(new[name] != old[name] and iv(new[name]) != iv(old[name]) for name in old)
    assert set(wrapped_keys(fresh)).isdisjoint(wrapped_keys(path))
    assert metadata(fresh)["mac"] != metadata(path)["mac"]


@pytest.mark.parametrize("plaintext", ["x", "four", "a" * 33, "é"])
def test_the_ciphertext_is_exactly_as_long_as_the_plaintext(plaintext: str, tmp_path: Path) -> None:
    key = age_key(tmp_path / "keys")
    token = yaml.safe_load(encrypted(f"value: {plaintext!r}\n", key))["value"]

    found = ENCRYPTED_TOKEN.fullmatch(token)
    assert found is not None
    data = token.split("data:", 1)[1].split(",", 1)[0]
    assert len(base64.b64decode(data)) == len(plaintext.encode())


def test_an_empty_string_is_left_in_the_clear(tmp_path: Path) -> None:
    key = age_key(tmp_path / "keys")

    assert yaml.safe_load(encrypted("value: ''\nother: x\n", key))["value"] == ""


def test_an_encrypted_boolean_can_be_read_from_its_length(tmp_path: Path) -> None:
    key = age_key(tmp_path / "keys")
    document = yaml.safe_load(encrypted("yes: true\nno: false\n", key))

    lengths = {
        name: len(base64.b64decode(document[name].split("data:", 1)[1].split(",", 1)[0]))
        for name in ("yes", "no")
    }

    assert lengths == {"yes": len("True"), "no": len("False")}
