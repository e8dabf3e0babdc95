"""SOPS files read as plain data: what is encrypted, for whom, and the values put in place.

A repository file is SOPS when it carries SOPS's metadata (a top-level `sops` mapping
with `mac` and `version`); its encrypted leaves are `ENC[AES256_GCM,...]` tokens. Every
reader (release files, values files, later manifests) resolves them the same way: a
token map (token -> value, decrypted by `render.secrets.sops_decryption` or a
placeholder when there is no key) applied by `substituted`. No I/O here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from reconciler.types import JsonObject, JsonValue

METADATA_KEY = "sops"
ENCRYPTED_TOKEN = re.compile(
    r"ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,"
    r"type:(?P<type>str|int|float|bool|bytes)\]"
)
PLACEHOLDER_PREFIX = "sops:"

KEY_TYPES = ("age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault")
"""SOPS's key group entries, as its metadata names them."""
DEFAULT_KEY_TYPES = frozenset({"age", "pgp", "kms", "gcp_kms"})
"""Enabled unless the operator says otherwise: their endpoints are local or fixed. Vault
and Azure Key Vault entries name any URL, so a commit could send the reconciler's
credentials to a host of its choosing: they are opt-in."""
OPT_IN_KEY_TYPES = frozenset(KEY_TYPES) - DEFAULT_KEY_TYPES

_RECIPIENT_FIELDS = {
    "age": "recipient",
    "pgp": "fp",
    "kms": "arn",
    "gcp_kms": "resource_id",
    "azure_kv": "vault_url",
    "hc_vault": "vault_address",
}

TokenMap = Mapping[str, JsonValue]
"""ENC token -> the value it stands for (decrypted, or a placeholder)."""


@dataclass(frozen=True)
class EncryptedLeaf:
    path: tuple[str | int, ...]
    token: str
    type: str
    """SOPS's `type:` of the value: str, int, float, bool or bytes."""


def is_sops_document(document: JsonValue) -> bool:
    """Whether `document` carries SOPS's metadata."""
    if not isinstance(document, dict):
        return False
    metadata = document.get(METADATA_KEY)
    return isinstance(metadata, dict) and "mac" in metadata and "version" in metadata


def without_metadata(document: JsonObject) -> JsonObject:
    """The document's content: its `sops` metadata left out."""
    return {key: value for key, value in document.items() if key != METADATA_KEY}


def encrypted_leaves(document: JsonValue) -> tuple[EncryptedLeaf, ...]:
    """Every encrypted value of the document (its metadata aside), with its key path."""
    content = without_metadata(document) if isinstance(document, dict) else document
    return tuple(_leaves(content, ()))


def _leaves(value: JsonValue, path: tuple[str | int, ...]) -> Iterator[EncryptedLeaf]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    elif isinstance(value, str):
        found = ENCRYPTED_TOKEN.fullmatch(value)
        if found:
            yield EncryptedLeaf(path, value, found["type"])


def recipients(document: JsonObject) -> tuple[str, ...]:
    """Who can decrypt the document, for error messages: `age age1...`, `pgp <fp>`,
    `kms <arn>`, ... from its key groups (flat or under `key_groups`)."""
    return tuple(
        f"{kind} {entry.get(_RECIPIENT_FIELDS[kind], '?')}"
        for kind, entry in _key_entries(document.get(METADATA_KEY))
    )


def _key_entries(metadata: JsonValue) -> Iterator[tuple[str, JsonObject]]:
    if not isinstance(metadata, dict):
        return
    groups = metadata.get("key_groups")
    for group in [metadata, *(groups if isinstance(groups, list) else [])]:
        if not isinstance(group, dict):
            continue
        for kind in KEY_TYPES:
            entries = group.get(kind)
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict):
                    yield kind, entry


def with_key_types(document: JsonObject, enabled: frozenset[str]) -> JsonObject:
    """The document with the key entries of types not `enabled` taken out of its metadata:
    sops never tries them. A list of key entries under a name Harmonia does not know
    (sops 3.13's `hckms`, whatever a later sops reads) goes too: only what is enabled
    reaches sops. The MAC covers the values, not the key groups, so the rest still
    decrypts."""
    metadata = document.get(METADATA_KEY)
    if not isinstance(metadata, dict):
        return document
    trimmed = _trimmed_group(metadata, enabled)
    groups = metadata.get("key_groups")
    if isinstance(groups, list):
        trimmed["key_groups"] = [
            _trimmed_group(group, enabled) if isinstance(group, dict) else group for group in groups
        ]
    return {**document, METADATA_KEY: trimmed}


def _trimmed_group(group: JsonObject, enabled: frozenset[str]) -> JsonObject:
    return {
        key: value
        for key, value in group.items()
        if key in enabled or (key not in KEY_TYPES and not _key_entry_list(value))
    }


def _key_entry_list(value: JsonValue) -> bool:
    """Whether `value` reads as key entries (a list of mappings), whatever its name."""
    return isinstance(value, list) and any(isinstance(item, dict) for item in value)


def placeholder(leaf: EncryptedLeaf) -> JsonValue:
    """A stable stand-in derived from the ciphertext, for review without the key: a
    string reads `sops:` and 16 hex digits of sha256(token); an int or float the number
    those first 8 hex digits make (so a changed ciphertext shows as a change); a bool is
    always false (two values cannot tell ciphertexts apart)."""
    digest = hashlib.sha256(leaf.token.encode()).hexdigest()
    if leaf.type == "int":
        return int(digest[:8], 16)
    if leaf.type == "float":
        return float(int(digest[:8], 16))
    if leaf.type == "bool":
        return False
    return PLACEHOLDER_PREFIX + digest[:16]


def placeholder_tokens(document: JsonValue) -> dict[str, JsonValue]:
    """The token map of a document read without the key: each token to its placeholder."""
    return {leaf.token: placeholder(leaf) for leaf in encrypted_leaves(document)}


class MismatchedTree(ValueError):
    """The decrypted document does not have the encrypted one's shape."""


def decrypted_tokens(encrypted: JsonValue, decrypted: JsonValue) -> dict[str, JsonValue]:
    """The token map of a document, from the encrypted tree and sops's decryption of it
    (the same shape, metadata aside): each token to the value in its place."""
    found: dict[str, JsonValue] = {}
    content = without_metadata(encrypted) if isinstance(encrypted, dict) else encrypted
    _pair_leaves(content, decrypted, found, ())
    return found


def _pair_leaves(
    encrypted: JsonValue,
    decrypted: JsonValue,
    found: dict[str, JsonValue],
    path: tuple[str | int, ...],
) -> None:
    if isinstance(encrypted, dict):
        if not isinstance(decrypted, dict) or decrypted.keys() != encrypted.keys():
            raise MismatchedTree(_dotted(path))
        for key, item in encrypted.items():
            _pair_leaves(item, decrypted[key], found, (*path, key))
    elif isinstance(encrypted, list):
        if not isinstance(decrypted, list) or len(decrypted) != len(encrypted):
            raise MismatchedTree(_dotted(path))
        for index, item in enumerate(encrypted):
            _pair_leaves(item, decrypted[index], found, (*path, index))
    elif isinstance(encrypted, str) and ENCRYPTED_TOKEN.fullmatch(encrypted):
        found[encrypted] = decrypted


def substituted(value: JsonValue, tokens: TokenMap) -> JsonValue:
    """`value` with every leaf equal to a known token replaced by what it stands for."""
    if isinstance(value, dict):
        return {key: substituted(item, tokens) for key, item in value.items()}
    if isinstance(value, list):
        return [substituted(item, tokens) for item in value]
    if isinstance(value, str) and value in tokens:
        return tokens[value]
    return value


def opened_where_encrypted(value: JsonObject, document: JsonObject, tokens: TokenMap) -> JsonObject:
    """`value` (an engine's copy of `document`, its metadata dropped) with each token put
    in place only at the key path where `document` holds it, as sops decrypted it: a
    token an engine moved or copied elsewhere stays ciphertext."""
    placed = {leaf.path: leaf.token for leaf in encrypted_leaves(document)}
    opened = _opened_at(value, (), placed, tokens)
    return opened if isinstance(opened, dict) else value


def _opened_at(
    value: JsonValue,
    path: tuple[str | int, ...],
    placed: Mapping[tuple[str | int, ...], str],
    tokens: TokenMap,
) -> JsonValue:
    if isinstance(value, dict):
        return {key: _opened_at(item, (*path, key), placed, tokens) for key, item in value.items()}
    if isinstance(value, list):
        return [
            _opened_at(item, (*path, index), placed, tokens) for index, item in enumerate(value)
        ]
    if isinstance(value, str) and placed.get(path) == value and value in tokens:
        return tokens[value]
    return value


def substituted_object(value: JsonObject, tokens: TokenMap) -> JsonObject:
    """`substituted` for a mapping, typed as one."""
    return {key: substituted(item, tokens) for key, item in value.items()}


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in path) or "(the document)"
