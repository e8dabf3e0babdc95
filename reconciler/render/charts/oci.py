"""`chartImage` sources: a chart in an OCI registry, pulled by the real `helm pull`.

The reference pins a tag or a digest; the pulled archive is unpacked into the
store keyed by the reference, so a later pass touches no registry (pin a digest
where a tag may be moved). Registries speaking plain HTTP are used only when
listed in `plain_http_registries`, never by guessing.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from reconciler.release_requests.model import ChartImage
from reconciler.render.charts.archive import ChartLimits, unpack_chart_archive
from reconciler.render.charts.errors import (
    ChartNotFound,
    ChartSourceError,
    ChartUnavailable,
    InvalidChart,
)
from reconciler.render.charts.folder import LocalChart, load_local_chart
from reconciler.render.charts.store import filled_entry, store_entry, unpacked_root
from reconciler.render.charts.subcharts import require_vendored
from reconciler.render.helm.process import run_helm

SCHEME = "oci://"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}")
_NOT_FOUND = re.compile(r"not found|manifest unknown|name unknown", re.IGNORECASE)
_PLAIN_HTTP_ANSWER = "server gave HTTP response to HTTPS client"


@dataclass(frozen=True)
class OciReference:
    """`oci://REGISTRY/REPOSITORY[:TAG][@DIGEST]`, taken apart."""

    registry: str
    """`host[:port]`, as `plain_http_registries` lists it."""
    repository: str
    tag: str | None
    digest: str | None

    def pull_arguments(self) -> list[str]:
        """What `helm pull` is given to fetch exactly this chart; a digest wins over a tag."""
        location = f"{SCHEME}{self.registry}/{self.repository}"
        if self.digest is not None:
            return [f"{location}@{self.digest}"]
        return [location, "--version", str(self.tag)]


def parse_chart_image(reference: str, *, subject: str) -> OciReference:
    if not reference.startswith(SCHEME):
        raise InvalidChart(f"{subject}: a chart image reference starts with {SCHEME}")
    rest, _, digest = reference.removeprefix(SCHEME).partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        raise InvalidChart(f"{subject}: {digest!r} is not a sha256:<64 hex digits> digest")
    registry, _, path = rest.partition("/")
    head, _, last = path.rpartition("/")
    name, _, tag = last.partition(":")
    if not registry or not name:
        raise InvalidChart(f"{subject}: expected oci://REGISTRY/REPOSITORY/CHART:TAG")
    if tag and not _TAG.fullmatch(tag):
        raise InvalidChart(f"{subject}: {tag!r} is not a valid tag")
    if not tag and not digest:
        raise InvalidChart(
            f"{subject}: pin the chart with a tag (:1.2.3) or a digest (@sha256:...)"
        )
    repository = f"{head}/{name}" if head else name
    return OciReference(registry, repository, tag or None, digest or None)


def resolve_chart_image(
    source: ChartImage,
    *,
    cache_dir: Path,
    helm: Path | None,
    plain_http_registries: Collection[str],
    limits: ChartLimits,
    timeout: float,
) -> LocalChart:
    subject = f"chart {source.reference}"
    reference = parse_chart_image(source.reference, subject=subject)
    plain_http = reference.registry in plain_http_registries

    def pull(entry: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="harmonia-pull-") as download:
            arguments = ["pull", *reference.pull_arguments(), "--destination", download]
            run = run_helm(
                helm, [*arguments, *(["--plain-http"] if plain_http else [])], timeout=timeout
            )
            if not run.ok:
                raise _pull_error(run.error, subject=subject, registry=reference.registry)
            archives = sorted(Path(download).glob("*.tgz"))
            if len(archives) != 1:
                raise InvalidChart(f"{subject}: helm pull did not leave one chart archive")
            unpack_chart_archive(archives[0], entry, subject=subject, limits=limits)

    entry = filled_entry(store_entry(cache_dir, kind="oci", identity=source.reference), pull)
    root = unpacked_root(entry)
    require_vendored(root, subject=subject)
    return load_local_chart(root, subject=subject)


def _pull_error(message: str, *, subject: str, registry: str) -> ChartSourceError:
    if _NOT_FOUND.search(message):
        return ChartNotFound(f"{subject}: not in the registry: {message}")
    if _PLAIN_HTTP_ANSWER in message:
        return ChartSourceError(
            f"{subject}: registry {registry} speaks plain HTTP; to allow that, list it in "
            f"plain_http_registries: {message}"
        )
    return ChartUnavailable(f"{subject}: helm pull failed: {message}")
