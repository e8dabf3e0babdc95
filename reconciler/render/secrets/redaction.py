"""The plaintext a pass puts into Secrets, and the texts and outputs that must hide it.

Computed once at the end of rendering, from every Secret the repository renders, and
used wherever text leaves the process: failure messages (helm's, the YAML reader's, the
API server's), the outputs recorded in inventory records and shown by `status`, the
status files and the JSON API. An output that any release (its publisher or a
dependent) places in a Secret, whole or inside a longer text, is a secret output: its
value is shown as `***`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet

from reconciler.render.model import KubeObject, OutputValue, RenderedRelease
from reconciler.render.secrets.masking import MASK, SECRET_VALUE_FIELDS, is_secret
from reconciler.secret_data import decoded_data
from reconciler.types import JsonValue

MIN_REDACTED_LENGTH = 4
"""Shorter Secret values (`true`, `80`) are not cut out of messages: they would garble
every such word while revealing nothing a guess would not."""
MIN_EMBEDDED_SECRET = 8
"""A Secret value at least this long is masked inside longer text too (a URL, a message),
and a string at least this long is secret when a Secret value holds it (a password the
chart put into a connection string); shorter ones only where a whole string equals a
Secret value, so `1` or `true` do not garble text."""


def values_of_secrets(objects: Iterable[KubeObject]) -> frozenset[str]:
    """The `stringData` values of the v1 Secrets among `objects`, and their `data` values
    both as written (base64) and decoded."""
    found: set[str] = set()
    for obj in filter(is_secret, objects):
        for field in SECRET_VALUE_FIELDS:
            values = obj.get(field)
            for value in values.values() if isinstance(values, dict) else ():
                if isinstance(value, dict | list) or value is None or value == "":
                    continue
                found.add(str(value))
                decoded = (
                    decoded_data(value) if field == "data" and isinstance(value, str) else None
                )
                if decoded is not None:
                    found.add(decoded)
    return frozenset(found)


def disguises(plaintext: str) -> frozenset[str]:
    """`plaintext` and the forms a tool or a template gives it in an error text: escaped
    by JSON or Go's `%q`, by a schema error's single quotes, base64 (`b64enc`), upper and
    lower case, and each line of a multi-line value. A chart can always encode a value
    some other way (hex, reversed): it sees the plaintext, and is trusted as far as that."""
    escaped_backslashes = plaintext.replace("\\", "\\\\")
    # Error texts are kept line by line, stripped, blank lines dropped: each line of a
    # multi-line value (a private key) long enough to mean something stands on its own.
    lines = {
        line.strip() for line in plaintext.splitlines() if len(line.strip()) >= MIN_EMBEDDED_SECRET
    }
    return frozenset(
        {
            *(lines if len(lines) > 1 else ()),
            plaintext,
            json.dumps(plaintext)[1:-1],
            json.dumps(plaintext, ensure_ascii=False)[1:-1],
            escaped_backslashes,
            escaped_backslashes.replace("'", "\\'"),
            base64.b64encode(plaintext.encode()).decode(),
            plaintext.upper(),
            plaintext.lower(),
        }
    )


def redacted(text: str, secrets: frozenset[str]) -> str:
    """`text` with every secret value in it replaced by `***`, longest first (so a value
    that contains another is hidden whole)."""
    found = (s for s in secrets if len(s) >= MIN_REDACTED_LENGTH and s in text)
    for secret in sorted(found, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def masked_values(value: JsonValue, secrets: frozenset[str]) -> JsonValue:
    """`value` (a release's computed values) with every string or number holding one of
    `secrets` reading `***` (`redacted`, keys too): what may be recorded and shown (the
    JSON API's `computedValues`) of values the engine got decrypted."""
    if isinstance(value, dict):
        return {redacted(key, secrets): masked_values(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [masked_values(item, secrets) for item in value]
    if isinstance(value, str):
        return redacted(value, secrets)
    if isinstance(value, bool) or value is None:
        return value
    return MASK if str(value) in secrets else value


def secret_output_names(
    outputs: Mapping[str, OutputValue], secrets: frozenset[str]
) -> frozenset[str]:
    """The outputs whose value some Secret of the pass holds, whole or, when it is long
    enough, inside its text (a dependent's `DATABASE_URL` holding the password)."""
    return frozenset(name for name, value in outputs.items() if _held(_shown(value), secrets))


def _held(text: str, secrets: frozenset[str]) -> bool:
    if text in secrets:
        return True
    return len(text) >= MIN_EMBEDDED_SECRET and any(text in secret for secret in secrets)


def public_outputs(
    rendered: RenderedRelease, *, masked_before: Mapping[str, object] | None = None
) -> dict[str, OutputValue]:
    """The release's outputs as they may be recorded and shown: a secret output reads
    `***`, and so does one the previous record (`masked_before`) showed as `***`, for as
    long as it is published: once secret, an output stays hidden."""
    hidden = rendered.secret_outputs | {
        name for name, value in (masked_before or {}).items() if value == MASK
    }
    return hidden_outputs(rendered.outputs, hidden)


def hidden_outputs(
    outputs: Mapping[str, OutputValue], hidden: AbstractSet[str]
) -> dict[str, OutputValue]:
    """`outputs` with those named in `hidden` reading `***`."""
    return {name: MASK if name in hidden else value for name, value in outputs.items()}


def withheld_secret_outputs(recorded: Mapping[str, OutputValue]) -> dict[str, OutputValue]:
    """A record's outputs without those it shows as `***`: a dependent in another
    repository cannot have them (it would be rendered with the mask as the value)."""
    return {name: value for name, value in recorded.items() if value != MASK}


def _shown(value: OutputValue) -> str:
    """How a value reads once a template puts it into a Secret's text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
