"""Encrypted values in a review without the key: which fields of a rendered object hold a
SOPS placeholder, and whether their ciphertext changed or their file was encrypted again.

`revisions.object_changes` seals both sides of an object here before the diff stage
compares them: every field holding a placeholder (`reconciler.sops.placeholder`, also
inside a Secret's base64) reads `(encrypted)` on both sides, so no diff shows a
placeholder, and each such field whose ciphertext differs becomes one line,
`Secret/shop/db: data.password changed (encrypted)`. Pure.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from reconciler.objects import ObjectRef
from reconciler.render.model import KubeObject
from reconciler.render.secrets.masking import is_secret
from reconciler.sops import (
    METADATA_KEY,
    PLACEHOLDER_PREFIX,
    encrypted_leaves,
    is_sops_document,
    placeholder,
)
from reconciler.types import JsonValue

MARKER = "(encrypted)"
"""What a field holding an encrypted value reads in a review's diff, at both sides."""
_STRING_PLACEHOLDER = re.compile(re.escape(PLACEHOLDER_PREFIX) + r"[0-9a-f]{16}")
_NUMBER = re.compile(r"(?<![0-9.])[0-9]+(?:\.[0-9]+)?(?:e\+[0-9]+)?(?![0-9])")
_WRAPPED_KEY_FIELD = "enc"

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class SopsFile:
    """One SOPS file of a revision: its ciphertexts and its wrapped data keys."""

    tokens: frozenset[str]
    wrapped_keys: frozenset[str]
    """The `enc` blobs of its key groups: the data key, encrypted for each recipient."""

    def same_data_key(self, other: SopsFile) -> bool:
        """Whether both are provably encrypted with one data key: they share a ciphertext
        (only that key opens it) or a wrapped key. `sops edit` and `set` keep the wrapped
        keys; `updatekeys` re-wraps them but keeps every ciphertext; `rotate` and a fresh
        `encrypt` keep neither (tests/review/test_sops_ciphertexts.py)."""
        return bool(self.tokens & other.tokens or self.wrapped_keys & other.wrapped_keys)


@dataclass(frozen=True)
class Ciphertexts:
    """The SOPS files of one revision, and which file each placeholder comes from."""

    files: Mapping[str, SopsFile] = field(default_factory=dict)
    origins: Mapping[str, str] = field(default_factory=dict)
    """Placeholder text (a number's in decimal) -> the file holding its ciphertext."""

    @classmethod
    def of(cls, documents: Mapping[str, JsonValue]) -> Ciphertexts:
        """From the repository's documents by file (those without SOPS metadata skipped)."""
        files: dict[str, SopsFile] = {}
        origins: dict[str, str] = {}
        for name, document in documents.items():
            if not isinstance(document, dict) or not is_sops_document(document):
                continue
            leaves = encrypted_leaves(document)
            files[name] = SopsFile(
                frozenset(leaf.token for leaf in leaves),
                frozenset(_wrapped_keys(document.get(METADATA_KEY))),
            )
            for leaf in leaves:
                stand_in = placeholder(leaf)
                origins.update(dict.fromkeys(_spellings(stand_in), name))
        return cls(files, origins)


@dataclass(frozen=True)
class EncryptedSides:
    """The SOPS files of both revisions a review compares."""

    base: Ciphertexts = Ciphertexts()
    head: Ciphertexts = Ciphertexts()

    @functools.cached_property
    def re_encrypted(self) -> frozenset[str]:
        """The files at both sides whose head is encrypted with another data key: every
        ciphertext in them changed, whether or not the values did."""
        return frozenset(
            name
            for name, after in self.head.files.items()
            if name in self.base.files and not after.same_data_key(self.base.files[name])
        )

    @property
    def has_placeholders(self) -> bool:
        """Whether a placeholder may appear in either side's objects."""
        return bool(self.base.origins or self.head.origins)


NO_SOPS_FILES = EncryptedSides()
"""Neither side has a SOPS file: nothing is sealed."""


def _wrapped_keys(metadata: JsonValue) -> Iterator[str]:
    if isinstance(metadata, dict):
        for key, value in metadata.items():
            if key == _WRAPPED_KEY_FIELD and isinstance(value, str):
                yield value
            else:
                yield from _wrapped_keys(value)
    elif isinstance(metadata, list):
        for item in metadata:
            yield from _wrapped_keys(item)


@dataclass(frozen=True)
class EncryptedField:
    """A field holding one or more encrypted values."""

    placeholders: frozenset[str]
    rest: str
    """The field's text with each placeholder replaced by the marker: what else it says."""


@dataclass(frozen=True)
class SealedObject:
    obj: KubeObject
    """The object with each encrypted field reading the marker."""
    fields: Mapping[Path, EncryptedField]


def sealed(obj: KubeObject, ciphertexts: Ciphertexts) -> SealedObject:
    """`obj` with every field that holds a placeholder of `ciphertexts` replaced by the
    marker (a Secret's `data` value is read, and replaced, as base64)."""
    if not ciphertexts.origins:
        return SealedObject(obj, {})
    fields: dict[Path, EncryptedField] = {}
    secret = is_secret(obj)
    copied = {
        key: _seal(value, (key,), ciphertexts, fields, secret=secret) for key, value in obj.items()
    }
    return SealedObject(copied, fields)


def _seal(
    value: JsonValue,
    path: Path,
    ciphertexts: Ciphertexts,
    fields: dict[Path, EncryptedField],
    *,
    secret: bool,
) -> JsonValue:
    if isinstance(value, dict):
        return {
            k: _seal(v, (*path, k), ciphertexts, fields, secret=secret) for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _seal(v, (*path, i), ciphertexts, fields, secret=secret) for i, v in enumerate(value)
        ]
    in_base64 = secret and len(path) == 2 and path[0] == "data" and isinstance(value, str)
    text = _decoded(value) if in_base64 else _text(value)
    if text is None:
        return value
    found = _placeholders_in(text, ciphertexts)
    if not found:
        return value
    rest = text
    for stand_in in sorted(found, key=len, reverse=True):
        rest = rest.replace(stand_in, MARKER)
    fields[path] = EncryptedField(frozenset(found), rest)
    return base64.b64encode(MARKER.encode()).decode() if in_base64 else MARKER


def _spellings(stand_in: JsonValue) -> tuple[str, ...]:
    """How a placeholder may read once rendered: a string as it is; a number also as Go's
    templates print a float64 (`3.583927111e+09`: Helm reads values as JSON). None for a
    boolean: false stands for every one."""
    text = _text(stand_in)
    if text is None:
        return ()
    if not isinstance(stand_in, int | float):
        return (text,)
    digits = text.rstrip("0")
    mantissa = digits[0] + (f".{digits[1:]}" if len(digits) > 1 else "")
    return (text, f"{mantissa}e+{len(text) - 1:02d}")


def _text(value: JsonValue) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _decoded(value: JsonValue) -> str | None:
    try:
        return base64.b64decode(str(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def _placeholders_in(text: str, ciphertexts: Ciphertexts) -> set[str]:
    found = {m for m in _STRING_PLACEHOLDER.findall(text) if m in ciphertexts.origins}
    for number in _NUMBER.findall(text):
        if number in ciphertexts.origins:
            found.add(number)
    return found


@dataclass(frozen=True)
class EncryptedChange:
    """An encrypted field whose ciphertext differs between the base and the head."""

    path: Path
    re_encrypted: bool
    """Its file was encrypted again with a new data key: the value may be the same."""

    @property
    def pointer(self) -> str:
        return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in self.path)

    def describe(self, ref: ObjectRef) -> str:
        verb = "re-encrypted" if self.re_encrypted else "changed"
        return f"{ref}: {'.'.join(str(part) for part in self.path)} {verb} (encrypted)"


def encrypted_changes(
    before: SealedObject, after: SealedObject, sides: EncryptedSides
) -> tuple[EncryptedChange, ...]:
    """The encrypted fields at both sides whose ciphertext (or what else they say)
    differs, in the head's order. A field is re-encrypted when it says nothing else new
    and every ciphertext that differs lies in a file encrypted again."""
    found = []
    for path, new in after.fields.items():
        old = before.fields.get(path)
        if old is None or old == new:
            continue
        moved = {sides.head.origins.get(item) for item in new.placeholders - old.placeholders}
        moved |= {sides.base.origins.get(item) for item in old.placeholders - new.placeholders}
        again = old.rest == new.rest and bool(moved) and moved <= sides.re_encrypted
        found.append(EncryptedChange(path, re_encrypted=again))
    return tuple(found)
