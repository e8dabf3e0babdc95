"""Hashes of renders that hold decrypted SOPS values, computed over the ciphertext.

A release's input hash is recorded in its inventory record; one computed over plaintext
would let anyone who reads the record test guesses against it. For a render that used
decrypted values, every decrypted value in it (whole, inside a text, or inside a
Secret's base64 `data`; as written or in the forms `disguises` lists, such as a chart's
`b64enc` into a ConfigMap) is put back as its ciphertext token before hashing, and the
tokens are hashed too: the hash still changes exactly when a value does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from reconciler.render.secrets.redaction import disguises
from reconciler.secret_data import decoded_data
from reconciler.types import JsonValue


def sealed_digest(rendered: JsonValue, decrypted: Mapping[str, JsonValue]) -> str:
    """sha256 of `rendered` with the values of `decrypted` (token -> value) sealed."""
    canonical = json.dumps(
        {"rendered": sealed(rendered, decrypted), "tokens": sorted(decrypted)},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def sealed(value: JsonValue, decrypted: Mapping[str, JsonValue]) -> JsonValue:
    """`value` with every value of `decrypted` in it, as written or disguised (base64,
    upper case: `disguises`), replaced by its token: only to be hashed (short values are
    replaced inside any text, which garbles it)."""
    reverse = {
        disguise: token
        for token, plain in decrypted.items()
        if as_text(plain)
        for disguise in disguises(as_text(plain))
    }
    return _Sealer(reverse).value(value)


class _Sealer:
    def __init__(self, reverse: Mapping[str, str]) -> None:
        self.reverse = reverse
        self.longest_first = sorted(reverse.items(), key=lambda pair: -len(pair[0]))

    def value(self, value: JsonValue) -> JsonValue:
        if isinstance(value, dict):
            found = {key: self.value(item) for key, item in value.items()}
            data = value.get("data")
            if value.get("kind") == "Secret" and isinstance(data, dict):
                found["data"] = {key: self.base64(item) for key, item in data.items()}
            return found
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        token = self.reverse.get(as_text(value)) if value is not None else None
        # Kept apart from a string holding the same token: 5432 and "5432" hash apart.
        return value if token is None else f"sealed-{type(value).__name__}:{token}"

    def base64(self, value: JsonValue) -> JsonValue:
        decoded = decoded_data(value) if isinstance(value, str) else None
        return self.value(value) if decoded is None else "decoded:" + self.text(decoded)

    def text(self, text: str) -> str:
        """Every decrypted value in `text` replaced by its token, longest first; short
        ones too: this text is only hashed, never shown, so garbling it costs nothing."""
        for plaintext, token in self.longest_first:
            if plaintext in text:
                text = text.replace(plaintext, token)
        return text


def as_text(value: JsonValue) -> str:
    """How a value reads once a template writes it out (and as the redaction set holds it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)
