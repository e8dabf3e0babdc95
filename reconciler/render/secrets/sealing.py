"""Hashes of renders that hold decrypted SOPS values, computed over the ciphertext.

A release's input hash is recorded in its inventory record; one computed over plaintext
would let anyone who reads the record test guesses against it. For a render that used
decrypted values, every decrypted value in it (whole, inside a text, or inside a
Secret's base64 `data`) is put back as its ciphertext token before hashing, and the
tokens are hashed too: the hash still changes exactly when a value does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from reconciler.secret_data import decoded_data
from reconciler.types import JsonValue


def sealed_digest(rendered: JsonValue, decrypted: Mapping[str, JsonValue]) -> str:
    """sha256 of `rendered` with the values of `decrypted` (token -> value) sealed."""
    reverse = {as_text(value): token for token, value in decrypted.items() if as_text(value)}
    sealed = _sealed(rendered, sorted(reverse.items(), key=lambda pair: -len(pair[0])))
    canonical = json.dumps(
        {"rendered": sealed, "tokens": sorted(decrypted)},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _sealed(value: JsonValue, reverse: list[tuple[str, str]]) -> JsonValue:
    if isinstance(value, dict):
        sealed = {key: _sealed(item, reverse) for key, item in value.items()}
        data = value.get("data")
        if value.get("kind") == "Secret" and isinstance(data, dict):
            sealed["data"] = {key: _sealed_base64(item, reverse) for key, item in data.items()}
        return sealed
    if isinstance(value, list):
        return [_sealed(item, reverse) for item in value]
    if value is None:
        return value
    return _sealedas_text(value if isinstance(value, str) else as_text(value), reverse)


def _sealed_base64(value: JsonValue, reverse: list[tuple[str, str]]) -> JsonValue:
    decoded = decoded_data(value) if isinstance(value, str) else None
    if decoded is None:
        return _sealed(value, reverse)
    return "decoded:" + _sealedas_text(decoded, reverse)


def _sealedas_text(text: str, reverse: list[tuple[str, str]]) -> str:
    """Every decrypted value in `text` replaced by its token, longest first; short ones
    too: this text is only hashed, never shown, so garbling it costs nothing."""
    for plaintext, token in reverse:
        if plaintext in text:
            text = text.replace(plaintext, token)
    return text


def as_text(value: JsonValue) -> str:
    """How a value reads once a template writes it out (and as the redaction set holds it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)
