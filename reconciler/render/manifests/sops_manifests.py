"""SOPS-encrypted manifests of plain and Kustomize charts: found before the engine, opened after.

The release renderer opens each document's token map like a values file's
(`render/release.py`); the engine reads the files as they are (ciphertext), and the
tokens are put in place in what it returned, each SOPS object losing its `sops` key.
kustomize passes a resource's `sops` field and `ENC[...]` strings through its namespace,
name-prefix and label transformers untouched; a file it reads for its content (a
generator's input, a patch) would need the plaintext on disk, so an encrypted one is
refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path

from reconciler.render.manifests.kustomization import check_kustomization
from reconciler.render.manifests.parse import parse_manifests
from reconciler.render.model import (
    ChartKind,
    ChartOutput,
    KubeObject,
    RenderError,
    SopsManifest,
)
from reconciler.sops import (
    METADATA_KEY,
    TokenMap,
    is_sops_document,
    opened_where_encrypted,
    without_metadata,
)
from reconciler.types import JsonObject, JsonValue

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
ENCRYPTED_MARK = b"ENC[AES256_GCM,"
"""Every SOPS format (YAML, JSON, dotenv, INI, binary) writes its values so: a file
without it holds nothing to decrypt, and is not parsed here."""


def manifest_files(chart_root: Path) -> list[Path]:
    """A plain chart's manifest files, in path order (its values.yaml aside)."""
    return sorted(
        path
        for path in chart_root.rglob("*")
        if path.is_file() and path.suffix in MANIFEST_SUFFIXES and path.name != "values.yaml"
    )


def sops_manifests(root: Path, kind: ChartKind, *, subject: str) -> tuple[SopsManifest, ...]:
    """The SOPS documents a plain or Kustomize chart's engine will read; a RenderError
    for an encrypted file kustomize would read for its content, or a SOPS file of
    several documents (its MAC covers them all, and each is decrypted alone)."""
    if kind is ChartKind.PLAIN:
        resources: Sequence[Path] = manifest_files(root)
    elif kind is ChartKind.KUSTOMIZE:
        reached = check_kustomization(root, subject=subject)
        for path in reached.data:
            if ENCRYPTED_MARK in _read(path, root=root, subject=subject):
                raise RenderError(
                    f"{subject}: {_relative(path, root)} is SOPS-encrypted and kustomize reads "
                    "it for its content (a generator's input, a patch, a configuration), which "
                    "would need the plaintext on disk; encrypt a resource instead (a Secret "
                    "whose data or stringData is encrypted)"
                )
        resources = reached.resources
    else:
        return ()
    return tuple(_found(resources, root=root, subject=subject))


def _found(files: Sequence[Path], *, root: Path, subject: str) -> Iterator[SopsManifest]:
    for path in files:
        raw = _read(path, root=root, subject=subject)
        if ENCRYPTED_MARK not in raw:
            continue
        where = f"{subject}: {_relative(path, root)}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise RenderError(f"{where}: not UTF-8 text") from None
        documents = parse_manifests(text, subject=where)
        found = [document for document in documents if is_sops_document(document)]
        if found and len(documents) > 1:
            raise RenderError(
                f"{where}: a SOPS file of {len(documents)} documents (sops's MAC covers them "
                "all, and Harmonia decrypts one object at a time); put each in its own file"
            )
        yield from (SopsManifest(_relative(path, root), document) for document in found)


OpenedManifests = tuple[tuple[JsonObject, TokenMap], ...]
"""Each SOPS manifest of a chart as found in its file, with its token map."""


def opened_output(output: ChartOutput, manifests: OpenedManifests) -> ChartOutput:
    """The engine's output with the SOPS objects' tokens put in place, their `sops`
    key dropped (hooks too)."""
    return ChartOutput(
        objects=tuple(_opened(obj, manifests) for obj in output.objects),
        hooks=tuple(
            dataclasses.replace(hook, object=_opened(hook.object, manifests))
            for hook in output.hooks
        ),
    )


def _opened(obj: KubeObject, manifests: OpenedManifests) -> KubeObject:
    """An object opened by the manifest it comes from: the same kind and MAC (kustomize
    changes names, namespaces and labels, never those), each token only at its own key
    path. Any other object wearing SOPS metadata (a patch can add it) is left as it is:
    a token copied into it stays ciphertext."""
    if not is_sops_document(obj):
        return obj
    for document, tokens in manifests:
        if obj.get("kind") == document.get("kind") and _mac(obj) == _mac(document):
            return opened_where_encrypted(without_metadata(obj), document, tokens)
    return obj


def _mac(document: JsonObject) -> JsonValue:
    metadata = document.get(METADATA_KEY)
    return metadata.get("mac") if isinstance(metadata, dict) else None


def _read(path: Path, *, root: Path, subject: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise RenderError(f"{subject}: {_relative(path, root)} cannot be read") from None


def _relative(path: Path, root: Path) -> str:
    resolved = root.resolve()
    return path.relative_to(resolved if path.is_relative_to(resolved) else root).as_posix()
