"""Where a release's decrypted SOPS values landed, when not in a Secret's data.

Checked at the end of rendering each release (`render/release.py`): a Secret's `data`
(decoded from base64) and `stringData` are where plaintext belongs, the only place the
cluster and Harmonia treat as secret; anywhere else (a ConfigMap, an env `value`, an
annotation, a Secret's own labels) it is shown in diffs and stored in the clear. Each
finding names the object, the field path and the file the value came from, never the
value. A value lands when a field equals it (4 characters or more, as redaction counts:
shorter ones would match ordinary words and numbers) or, from 8 characters, holds it
inside a longer text; as written or in the forms `disguises` lists (base64, upper
case, escaped), so a chart's `b64enc` does not slip past strictSecrets. A finding never
quotes the value, not even as the object's name; one in an object's name or namespace
fails the release whatever strictSecrets says (`names_an_object`). Pure.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from reconciler.objects import MalformedObject, ref_of
from reconciler.render.model import KubeObject
from reconciler.render.secrets.masking import MASK, SECRET_VALUE_FIELDS, is_secret
from reconciler.render.secrets.redaction import (
    MIN_EMBEDDED_SECRET,
    MIN_REDACTED_LENGTH,
    disguises,
    redacted,
)
from reconciler.render.secrets.sealing import as_text
from reconciler.types import JsonValue

LANDED = "holds a value decrypted from"
"""The words of every finding: what tells a warning about plaintext from the others."""


NAMES_AN_OBJECT = (
    " (an object's name or namespace is written in logs, records and status files: a "
    "decrypted value cannot be one)"
)
"""The end of a finding in an object's name or namespace: those fail the release."""
_IDENTITY = (("metadata", "name"), ("metadata", "namespace"))


def names_an_object(finding: str) -> bool:
    """Whether a finding of `misplaced_values` is a decrypted value in an object's name
    or namespace, which no setting allows."""
    return finding.endswith(NAMES_AN_OBJECT)


def is_misplaced_value(warning: str) -> bool:
    """Whether a release's warning is a finding of `misplaced_values`."""
    return f" {LANDED} " in warning


def misplaced_values(
    objects: Sequence[KubeObject],
    opened: Mapping[str, JsonValue],
    origins: Mapping[str, str],
) -> tuple[str, ...]:
    """One line per field outside a Secret's data that holds a value of `opened` (token
    -> value), naming the object, the path and `origins[token]`, e.g.
    `ConfigMap/shop/settings data.dsn holds a value decrypted from values/web.yaml`."""
    plaintexts: dict[str, str] = {}
    for token, value in opened.items():
        text = as_text(value)
        if not isinstance(value, bool) and value is not None and len(text) >= MIN_REDACTED_LENGTH:
            for disguise in disguises(text):
                plaintexts.setdefault(disguise, origins.get(token, "a SOPS file"))
    if not plaintexts:
        return ()
    found: list[str] = []
    for obj in objects:
        try:
            subject = redacted(str(ref_of(obj)), frozenset(plaintexts))
        except MalformedObject:
            subject = str(obj.get("kind", "object"))
        secret = is_secret(obj)
        fields = {k: v for k, v in obj.items() if not (secret and k in SECRET_VALUE_FIELDS)}
        for path, text in _leaves(fields, ()):
            origin = _origin(text, plaintexts)
            if origin is not None:
                shown = ".".join(_shown(part, plaintexts) for part in path)
                named = NAMES_AN_OBJECT if path in _IDENTITY else ""
                found.append(f"{subject} {shown} {LANDED} {origin}{named}")
    return tuple(found)


def _origin(text: str, plaintexts: Mapping[str, str]) -> str | None:
    exact = plaintexts.get(text)
    if exact is not None:
        return exact
    return next(
        (
            origin
            for plaintext, origin in plaintexts.items()
            if len(plaintext) >= MIN_EMBEDDED_SECRET and plaintext in text
        ),
        None,
    )


def _shown(part: str | int, plaintexts: Mapping[str, str]) -> str:
    """A path segment, masked when it is itself a decrypted value (a key made of one)."""
    text = str(part)
    return MASK if _origin(text, plaintexts) is not None else text


Path = tuple[str | int, ...]


def _leaves(value: JsonValue, path: Path) -> Iterator[tuple[Path, str]]:
    """Every scalar leaf as text, and every mapping key as a leaf of its own (a value
    used as a key lands too); booleans and nulls hide nothing."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key), key
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    elif value is not None and not isinstance(value, bool):
        yield path, as_text(value)
