"""`repoName`/`chartName`/`chartVersion` sources: a chart from a Helm chart repository.

The repository URL comes from `harmonia.yaml`'s `chartRepositories`. Its
`index.yaml` (http, https or file) names the archive and its sha256 digest; the
archive is verified, unpacked into the store, and found there by later passes
without any network. Credentials come from the environment and are sent only to
the repository's own host; they never appear in a message.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import yaml

from reconciler.release_requests.model import RepoChart
from reconciler.release_requests.yaml_source import holds_huge_integer
from reconciler.render.charts.archive import ChartLimits, unpack_chart_archive
from reconciler.render.charts.errors import (
    ChartIntegrityError,
    ChartNotFound,
    ChartUnavailable,
    InvalidChart,
    UnsafeChart,
)
from reconciler.render.charts.folder import LocalChart, load_local_chart
from reconciler.render.charts.store import filled_entry, store_entry, unpacked_root
from reconciler.render.charts.subcharts import require_vendored

SCHEMES = frozenset({"http", "https", "file"})
_RETRYABLE_STATUSES = frozenset({401, 403, 408, 425, 429})
_SHOWN_VERSIONS = 20


def credential_variables(repo_name: str) -> tuple[str, str, str]:
    """The variables holding a repository's token, or user name and password.

    `HARMONIA_CHART_REPOSITORY_<NAME>_TOKEN` (sent as a bearer token), else
    `..._USERNAME` and `..._PASSWORD` (HTTP basic); NAME is the repository's name in
    upper case with every other character than letters and digits made `_`.
    """
    stem = "HARMONIA_CHART_REPOSITORY_" + re.sub(r"[^A-Z0-9]", "_", repo_name.upper())
    return f"{stem}_TOKEN", f"{stem}_USERNAME", f"{stem}_PASSWORD"


def resolve_repo_chart(
    source: RepoChart,
    *,
    chart_repositories: Mapping[str, str],
    cache_dir: Path,
    environ: Mapping[str, str],
    limits: ChartLimits,
    timeout: float,
) -> LocalChart:
    subject = f"chart {source.repo_name}/{source.chart_name} {source.chart_version}"
    url = chart_repositories.get(source.repo_name)
    if url is None:
        known = ", ".join(sorted(chart_repositories)) or "none are declared"
        raise ChartNotFound(
            f"{subject}: no chart repository named {source.repo_name!r} in harmonia.yaml "
            f"chartRepositories (known: {known})"
        )
    if urlsplit(url).scheme not in SCHEMES:
        raise InvalidChart(
            f"{subject}: repository {_shown(url)} is not an http(s):// or file:// URL"
        )
    client = _RepositoryClient(
        url, headers=_auth_headers(source.repo_name, environ), subject=subject, timeout=timeout
    )
    identity = "\n".join([url, source.chart_name, source.chart_version])
    entry = filled_entry(
        store_entry(cache_dir, kind="repository", identity=identity),
        lambda folder: _download(source, client, folder, limits=limits),
    )
    root = unpacked_root(entry)
    require_vendored(root, subject=subject)
    return load_local_chart(root, subject=subject)


def _download(
    source: RepoChart, client: _RepositoryClient, entry: Path, *, limits: ChartLimits
) -> None:
    index_url = client.base + "index.yaml"
    index = _parse_index(client.get(index_url, limit=limits.max_download_bytes), client, index_url)
    archive_url, expected = _find_release(index, source, client)
    data = client.get(archive_url, limit=limits.max_download_bytes)
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ChartIntegrityError(
            f"{client.subject}: {_shown(archive_url)} has digest sha256:{actual}, "
            f"but the repository index promises sha256:{expected}"
        )
    archive = entry / "download.tgz"
    archive.write_bytes(data)
    unpack_chart_archive(archive, entry, subject=client.subject, limits=limits)
    archive.unlink()


def _parse_index(data: bytes, client: _RepositoryClient, index_url: str) -> Mapping[str, object]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        index = yaml.load(data, Loader=loader)
    except (yaml.YAMLError, RecursionError, ValueError) as error:
        raise InvalidChart(f"{client.subject}: {_shown(index_url)} is not YAML: {error}") from None
    if holds_huge_integer(index):
        raise InvalidChart(
            f"{client.subject}: {_shown(index_url)} holds an integer of thousands of digits"
        )
    if not isinstance(index, dict) or not isinstance(index.get("entries"), dict):
        raise InvalidChart(f"{client.subject}: {_shown(index_url)} is not a chart repository index")
    return index


def _find_release(
    index: Mapping[str, object], source: RepoChart, client: _RepositoryClient
) -> tuple[str, str]:
    """(absolute archive URL, expected sha256 hex) of the exact version asked for."""
    entries = index["entries"]
    assert isinstance(entries, dict)
    releases = entries.get(source.chart_name)
    where = f"repository {source.repo_name} ({_shown(client.base)})"
    if not isinstance(releases, list) or not releases:
        raise ChartNotFound(f"{client.subject}: {where} has no chart named {source.chart_name!r}")
    for release in releases:
        if isinstance(release, dict) and str(release.get("version")) == source.chart_version:
            return _archive_location(release, client)
    versions = list(dict.fromkeys(str(r.get("version")) for r in releases if isinstance(r, dict)))
    shown = ", ".join(versions[:_SHOWN_VERSIONS]) + (
        ", ..." if len(versions) > _SHOWN_VERSIONS else ""
    )
    raise ChartNotFound(
        f"{client.subject}: {where} has no version {source.chart_version} of "
        f"{source.chart_name}; available: {shown}"
    )


def _archive_location(release: Mapping[str, object], client: _RepositoryClient) -> tuple[str, str]:
    urls = release.get("urls")
    if not isinstance(urls, list) or not urls or not isinstance(urls[0], str):
        raise InvalidChart(f"{client.subject}: the repository index gives no URL for it")
    digest = release.get("digest")
    if not isinstance(digest, str) or not re.fullmatch(r"(sha256:)?[0-9a-f]{64}", digest):
        raise InvalidChart(
            f"{client.subject}: the repository index gives no sha256 digest for it, "
            "and Harmonia verifies every download"
        )
    return urljoin(client.base, urls[0]), digest.removeprefix("sha256:")


def _auth_headers(repo_name: str, environ: Mapping[str, str]) -> dict[str, str]:
    token_variable, user_variable, password_variable = credential_variables(repo_name)
    token = environ.get(token_variable)
    if token:
        return {"Authorization": f"Bearer {token}"}
    user = environ.get(user_variable)
    if user:
        pair = f"{user}:{environ.get(password_variable, '')}".encode()
        return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
    return {}


class _RepositoryClient:
    """GETs from one chart repository; credentials go to its own origin only."""

    def __init__(self, url: str, *, headers: Mapping[str, str], subject: str, timeout: float):
        self.base = url if url.endswith("/") else url + "/"
        self.subject = subject
        self._origin = _origin(url)
        self._headers = dict(headers)
        self._timeout = timeout

    def get(self, url: str, *, limit: int) -> bytes:
        scheme = urlsplit(url).scheme
        if scheme not in SCHEMES:
            raise InvalidChart(f"{self.subject}: {_shown(url)} is not an http(s):// or file:// URL")
        request = urllib.request.Request(url)
        if _origin(url) == self._origin:
            for name, value in self._headers.items():
                # Unredirected: a redirect to another host must not carry the credentials.
                request.add_unredirected_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                data: bytes = response.read(limit + 1)
        except urllib.error.HTTPError as error:
            error.close()
            status = f"{_shown(url)} answered HTTP {error.code} {error.reason}"
            if error.code in _RETRYABLE_STATUSES or error.code >= 500:
                raise ChartUnavailable(f"{self.subject}: {status}") from None
            raise ChartNotFound(f"{self.subject}: {status}") from None
        except urllib.error.URLError as error:
            if scheme == "file":
                raise ChartNotFound(f"{self.subject}: {_shown(url)}: {error.reason}") from None
            raise ChartUnavailable(
                f"{self.subject}: {_shown(url)} cannot be reached: {error.reason}"
            ) from None
        except (TimeoutError, ConnectionError, http.client.HTTPException) as error:
            raise ChartUnavailable(
                f"{self.subject}: {_shown(url)} cannot be reached: {error}"
            ) from None
        if len(data) > limit:
            raise UnsafeChart(f"{self.subject}: {_shown(url)} is larger than {limit} bytes")
        return data


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname or "", parts.port


def _shown(url: str) -> str:
    """The URL for messages: no user information, query or fragment (they may hold secrets)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
