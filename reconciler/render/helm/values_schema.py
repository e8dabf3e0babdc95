"""A Helm chart's values.schema.json files, checked before helm reads them: they must
stand alone, so that checking the values never makes helm fetch a URL or open a host file.

Sits in the Helm engine, just before `helm template`. Helm validates the values against
the schema of the chart and of every sub-chart, and its validator (santhosh-tekuri's
jsonschema) loads whatever a schema names: `http(s)` URLs from the network, `file:` URLs
from the host's disk. So a chart may name only what lies inside its own schema document.

Why a check of the text and not a resolver's verdict (`referencing` with a refusing
`retrieve`): whether a reference stays inside the document is decided by helm's URL
arithmetic, not Python's. An `$id` ending in `?`, or a `file:/path` without `//`, sends a
plain `#/$defs/x` to a fetch in helm while any Python resolver finds the document itself.
Hence rules helm cannot read otherwise: references within the document (`#...`), a draft
helm carries, and `$id`s in a plain form that helm's URL handling keeps as written.
"""

from __future__ import annotations

import functools
import io
import json
import re
import tarfile
import zlib
from collections import deque
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from reconciler.render.model import RenderError
from reconciler.types import JsonValue

SCHEMA_FILE = "values.schema.json"
SUBCHARTS = "charts"
ARCHIVE_SUFFIX = ".tgz"
"""The only sub-chart archives helm loads from `charts/`."""
MAX_SCHEMA_BYTES = 5 * 1024 * 1024
"""Helm's own cap on one file of a chart archive."""
MAX_ARCHIVE_BYTES = 100 * 1024 * 1024
"""Helm's own cap on a chart archive, unpacked."""
MAX_ARCHIVE_DEPTH = 8
"""Sub-charts packed inside sub-charts, deeper than any real chart nests them."""

REFERENCE_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")
KNOWN_DRAFTS = frozenset(
    {
        "json-schema.org/schema",
        "json-schema.org/draft/2020-12/schema",
        "json-schema.org/draft/2019-09/schema",
        "json-schema.org/draft-07/schema",
        "json-schema.org/draft-06/schema",
        "json-schema.org/draft-04/schema",
    }
)
"""The drafts helm's validator carries; any other `$schema` it fetches (as `http://` or
`https://`, with nothing or an empty fragment after `#`)."""
DRAFT_04 = "json-schema.org/draft-04/schema"

_SEGMENT = r"(?!\.\.?(?:/|$))[A-Za-z0-9._~-]+"
_PATH = rf"{_SEGMENT}(?:/{_SEGMENT})*/?"
_PLAIN_ID = re.compile(
    rf"(?:https?://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]+)?(?:/(?:{_PATH})?)?"
    rf"|urn:[A-Za-z0-9][A-Za-z0-9-]*:[A-Za-z0-9._~:/-]+"
    rf"|/?{_PATH})?"
)
"""An `$id` (before any `#`) that helm's URL handling keeps as written: a plain http(s) URL,
a URN, or a relative path; no query, no escapes, no `.` or `..` segments."""


class _Unreadable(Exception):
    """A schema or sub-chart archive that cannot be read: "where: why"."""


def check_values_schemas(root: Path, *, digest: str, subject: str) -> None:
    """Refuse the chart at `root` if a values.schema.json in it, or in a sub-chart, would
    make helm reach outside the chart. `digest` (the chart's content) keys a memo."""
    problem = _schema_problem(root, digest)
    if problem is not None:
        raise RenderError(f"{subject}: {problem}")


@functools.lru_cache(maxsize=256)
def _schema_problem(root: Path, digest: str) -> str | None:
    """The first problem of the chart's schemas, "where: what"; None when they stand alone.

    Memoised by content (`digest`): a pass renders one chart for many releases."""
    try:
        for where, content in _schema_documents(root):
            problem = schema_problem(content)
            if problem is not None:
                return f"{where}: {problem}"
    except _Unreadable as error:
        return str(error)
    return None


def _schema_documents(root: Path) -> Iterator[tuple[str, bytes]]:
    """(where, content) of each schema helm may read: the chart's, and every sub-chart's
    in `charts/`, as folders or `.tgz` archives."""
    schema = root / SCHEMA_FILE
    if schema.is_file():
        yield SCHEMA_FILE, _read_capped(schema, where=SCHEMA_FILE)
    subcharts = root / SUBCHARTS
    if not subcharts.is_dir():
        return
    for entry in sorted(subcharts.iterdir()):
        where = f"{SUBCHARTS}/{entry.name}"
        if entry.is_dir():
            for inner, content in _schema_documents(entry):
                yield f"{where}/{inner}", content
        elif entry.is_file() and entry.name.endswith(ARCHIVE_SUFFIX):
            yield from _archive_schemas(_read(entry, where=where), where=where, depth=1)


def _archive_schemas(archive: bytes, *, where: str, depth: int) -> Iterator[tuple[str, bytes]]:
    """Every member of a packed sub-chart helm could read as a schema or a sub-chart archive.

    More than helm reads (any member so named, at any depth): what is checked and not
    read costs nothing, what is read and not checked could reach out.
    """
    if depth > MAX_ARCHIVE_DEPTH:
        raise _Unreadable(f"{where}: sub-charts nested over {MAX_ARCHIVE_DEPTH} archives deep")
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
            for member in tar:
                name = member.name.replace("\\", "/")
                path = PurePosixPath(name)
                is_schema = path.name == SCHEMA_FILE
                is_archive = path.name.endswith(ARCHIVE_SUFFIX) and path.parent.name == SUBCHARTS
                if not member.isfile() or not (is_schema or is_archive):
                    continue
                inside = f"{where}: {name}"
                cap = MAX_SCHEMA_BYTES if is_schema else MAX_ARCHIVE_BYTES
                if member.size > cap:
                    raise _Unreadable(f"{inside}: larger than {cap} bytes")
                source = tar.extractfile(member)
                content = source.read() if source is not None else b""
                if is_schema:
                    yield inside, content
                else:
                    yield from _archive_schemas(content, where=inside, depth=depth + 1)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise _Unreadable(f"{where}: not a readable chart archive: {error}") from None


def _read_capped(path: Path, *, where: str) -> bytes:
    content = _read(path, where=where)
    if len(content) > MAX_SCHEMA_BYTES:
        raise _Unreadable(f"{where}: larger than {MAX_SCHEMA_BYTES} bytes")
    return content


def _read(path: Path, *, where: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise _Unreadable(f"{where}: cannot be read: {error.strerror}") from None


def schema_problem(content: bytes) -> str | None:
    """Why helm could reach outside the chart while reading this schema; None if it cannot."""
    try:
        document: JsonValue = json.loads(content)
    except (ValueError, UnicodeDecodeError) as error:
        return f"not a JSON document: {error}"
    except RecursionError:
        return "nested too deeply to read"
    found = list(_keyword_strings(document))
    draft_04 = any(
        keyword == "$schema" and _draft(value) == DRAFT_04 for _, keyword, value in found
    )
    for pointer, keyword, value in found:
        problem = _keyword_problem(keyword, value, draft_04=draft_04)
        if problem is not None:
            return f"{keyword} {value!r} at #{pointer} {problem}"
    return None


def _keyword_problem(keyword: str, value: str, *, draft_04: bool) -> str | None:
    if keyword in REFERENCE_KEYWORDS:
        if value == "" or value.startswith("#"):
            return None
        return (
            "leads outside the chart: helm would fetch it to check the values; copy what it "
            "names into this file (under $defs) and refer to it as '#/$defs/...'"
        )
    if keyword == "$schema":
        if _draft(value) in KNOWN_DRAFTS:
            return None
        return (
            "is not a JSON Schema draft helm carries (draft-04, -06, -07, 2019-09, 2020-12): "
            "helm would fetch it"
        )
    if keyword == "$id" or draft_04:
        if _PLAIN_ID.fullmatch(value.partition("#")[0]):
            return None
        return (
            "is not a plain http(s) URL, URN or relative path (without '?', '%', '.' or '..' "
            "segments): helm's URL handling could turn a reference under it into a fetch"
        )
    return None


def _draft(value: str) -> str | None:
    """A `$schema` as helm compares it with its drafts: without `http://` or `https://`
    and an empty fragment; None with a fragment (never a draft)."""
    address, _, fragment = value.partition("#")
    if fragment:
        return None
    if address.startswith("http://"):
        return address.removeprefix("http://")
    return address.removeprefix("https://")


def _keyword_strings(document: JsonValue) -> Iterator[tuple[str, str, str]]:
    """(JSON pointer of the object, keyword, value) for every string under a keyword helm
    may load from, anywhere in the document: more places than helm reads a schema at."""
    pending: deque[tuple[str, JsonValue]] = deque([("", document)])
    while pending:
        pointer, value = pending.popleft()
        if isinstance(value, dict):
            for key, item in value.items():
                if key in (*REFERENCE_KEYWORDS, "$schema", "$id", "id") and isinstance(item, str):
                    yield pointer, key, item
                pending.append((f"{pointer}/{_escaped(key)}", item))
        elif isinstance(value, list):
            pending.extend((f"{pointer}/{index}", item) for index, item in enumerate(value))


def _escaped(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
