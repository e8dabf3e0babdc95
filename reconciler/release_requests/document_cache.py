"""Release files already read and checked against the schema, stored under a hash of
their bytes, so loading an unchanged repository skips both steps.

Reading YAML with the position of every value and validating it are most of the cost of
loading: about 0.6 s of CPU for 1000 release files, paid again by every pass although
the files rarely change. The render cache does the same for helm. Only a file that read
and validated cleanly is stored, so every problem is found afresh; building the release
(which depends on `harmonia.yaml`'s defaults) and the checks against the repository's
other files still run on every load. The key holds the file's bytes, the read limits,
Harmonia's version and the code and schemas that turn bytes into a checked document, so
an entry can only be found by what would have produced it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from reconciler import __version__
from reconciler.digest import sha256_hex
from reconciler.json_store import JsonStore
from reconciler.release_requests.diagnostics import NodeInfo, Position, SourceMap
from reconciler.release_requests.model import SourceFormat
from reconciler.release_requests.schema import schema_documents
from reconciler.release_requests.yaml_source import YamlLimits
from reconciler.types import JsonObject

_PRODUCING_MODULES = ("yaml_source.py", "walm.py", "schema.py", "loader.py", "document_cache.py")
"""The modules of this package whose code decides what a file's checked document is."""


@dataclass(frozen=True)
class CheckedDocument:
    """A release file that read and validated cleanly: its release document (a WALM
    request already translated), where each value was written, and the format it used."""

    data: JsonObject
    source: SourceMap
    source_format: SourceFormat


@functools.cache
def _code_fingerprint() -> bytes:
    """Read once per process: the code and schemas do not change while it runs."""
    digest = hashlib.sha256(f"{__version__}\0{yaml.__version__}\0".encode())
    package = resources.files(__package__)
    for name in _PRODUCING_MODULES:
        digest.update((package / name).read_bytes() + b"\0")
    digest.update(json.dumps(schema_documents(), sort_keys=True).encode())
    return digest.digest()


def _position(value: list[int] | None) -> Position | None:
    return Position(*value) if value is not None else None


def _pair(position: Position | None) -> list[int] | None:
    return [position.line, position.column] if position is not None else None


def _document_from_entry(entry: Any, *, file: str) -> CheckedDocument:
    """An entry read back; one of another shape raises (and is a miss)."""
    nodes = {
        tuple(path): NodeInfo(Position(*value), _position(key), scalar)
        for path, value, key, scalar in entry["nodes"]
    }
    if not isinstance(entry["data"], dict):
        raise TypeError("the stored data must be a mapping")
    return CheckedDocument(entry["data"], SourceMap(file, nodes), SourceFormat(entry["format"]))


class DocumentCache:
    def __init__(self, folder: Path, *, limits: YamlLimits) -> None:
        self.store = JsonStore(folder)
        self._prefix = _code_fingerprint() + repr(limits).encode()

    def key(self, raw: bytes) -> str:
        return sha256_hex(self._prefix + raw)

    def get(self, raw: bytes, *, file: str) -> CheckedDocument | None:
        """The checked document of a file with these bytes, positions under `file`."""
        return self.store.get(self.key(raw), functools.partial(_document_from_entry, file=file))

    def put(self, raw: bytes, document: CheckedDocument) -> None:
        nodes = [
            [list(path), _pair(info.value), _pair(info.key), info.scalar]
            for path, info in document.source.nodes.items()
        ]
        self.store.put(
            self.key(raw),
            {"format": str(document.source_format), "data": document.data, "nodes": nodes},
        )
