"""Issue 24's figures for the web UI: `python -m bench.ui --releases 1000`.

The releases page, the graph page and the JSON API they are built from, served by the real
HTTP server (`ObservabilityServer`, its routes, threads and page functions) over a list of
N generated release summaries shaped as the API makes them (state, message, revision and
its commit link, age, labels, dependsOn, outputsTaken). Two figures: the server's time per
request (median and p95 over `--requests` sequential GETs) and, in Debian's headless
Chromium, the page's first contentful paint and its domInteractive, DOMContentLoaded and
load (Performance API), the JSON API's answer timed the same way in the same run as the
baseline. Results go to `bench/results/ui-<timestamp>.md|.json`.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from selenium import webdriver

from bench.browser import headless_chromium
from bench.run import RESULTS_DIR, _commit, log
from reconciler import __version__
from reconciler.loop.metrics import Metrics
from reconciler.loop.server import Endpoints, ObservabilityServer
from reconciler.types import JsonObject, JsonValue

PATHS = ("/", "/graph", "/api/v1/releases")
"""The pages, then the JSON API they are built from (the baseline)."""
STATES = ("Ready", "Ready", "Ready", "Progressing", "Failed", "Blocked")
NAVIGATION_TIMING = """
const [entry] = performance.getEntriesByType("navigation");
const paint = performance.getEntriesByName("first-contentful-paint")[0];
return {
  responseEnd: entry.responseEnd,
  firstContentfulPaint: paint ? paint.startTime : null,
  domInteractive: entry.domInteractive,
  domContentLoaded: entry.domContentLoadedEventEnd,
  load: entry.loadEventEnd,
  bytes: entry.transferSize,
};
"""
BROWSER_FIGURES = (
    "responseEnd",
    "firstContentfulPaint",
    "domInteractive",
    "domContentLoaded",
    "load",
)


def release_summaries(count: int) -> list[JsonValue]:
    """`count` summaries over 20 namespaces, each release after the first of a namespace
    depending on the one before it (taking two outputs), as `release_summary` shapes them,
    with a commit link and an age."""
    summaries: list[JsonValue] = []
    for index in range(count):
        namespace, position = f"bench-{index % 20:02d}", index // 20
        revision, depended = f"{index:040x}", f"{namespace}/release-{position - 1:04d}"
        summaries.append(
            {
                "name": f"release-{position:04d}",
                "namespace": namespace,
                "labels": {"team": f"team-{index % 7}"},
                "chart": {"path": "charts/app"},
                "state": STATES[index % len(STATES)],
                "message": f"all {index % 9 + 1} resources are Ready",
                "revision": revision,
                "revisionUrl": f"https://forge.example/shop/deploy/commit/{revision}",
                "installed": "2026-12-01T10:00:00Z",
                "lastApplied": "2026-12-06T10:00:00Z",
                "outcome": "Applied",
                "dependsOn": [depended] if position else [],
                "outputsTaken": [{"alias": "up", "release": depended, "outputs": ["host", "port"]}]
                if position
                else [],
            }
        )
    return summaries


def listing(summaries: list[JsonValue]) -> Callable[[Mapping[str, str]], JsonObject]:
    """The API's list provider over `summaries`, narrowed by `namespace` as the API does."""

    def releases(query: Mapping[str, str]) -> JsonObject:
        namespace = query.get("namespace")
        chosen: list[JsonValue] = [
            item
            for item in summaries
            if isinstance(item, dict) and namespace in (None, item["namespace"])
        ]
        return {"releases": chosen, "count": len(chosen), "problems": [], "source": None}

    return releases


@contextmanager
def serving(count: int) -> Iterator[int]:
    """The real server over `count` releases on a free loopback port (yielded)."""
    endpoints = Endpoints(
        metrics=Metrics(),
        readiness=lambda: (True, "ok"),
        releases=listing(release_summaries(count)),
        release=lambda namespace, name: {},
    )
    with ObservabilityServer("127.0.0.1:0", endpoints) as server:
        yield server.port


def server_times(port: int, path: str, requests: int) -> list[float]:
    """Seconds per GET of `path`, from sending the request to the last byte."""
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as answer:
            answer.read()
        samples.append(time.perf_counter() - started)
    return samples


def browser_times(driver: webdriver.Chrome, port: int, path: str, loads: int) -> list[JsonObject]:
    """The Performance API's figures (milliseconds from navigation start) of `loads` loads."""
    samples: list[JsonObject] = []
    for _ in range(loads):
        driver.get("about:blank")
        driver.get(f"http://127.0.0.1:{port}{path}")
        time.sleep(0.2)  # loadEventEnd is written after `get` returns on load
        samples.append(driver.execute_script(NAVIGATION_TIMING))
    return samples


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report(results: JsonObject) -> str:
    """The Markdown of one run."""
    lines = [
        f"# Web UI, {results['releases']} releases ({results['started']})",
        "",
        f"Harmonia {results['version']} at `{results['commit']}`; {results['machine']}.",
        "",
        f"## The server's time per request ({results['requests']} requests each, ms)",
        "",
        "| path | median | p95 | bytes |",
        "| --- | ---: | ---: | ---: |",
    ]
    server: Any = results["server"]
    for path in PATHS:
        figure = server[path]
        lines.append(
            f"| `{path}` | {figure['median']:.1f} | {figure['p95']:.1f} | {figure['bytes']} |"
        )
    lines += [
        "",
        f"## In headless Chromium (median of {results['loads']} loads, ms from navigation start)",
        "",
        "| path | " + " | ".join(BROWSER_FIGURES) + " | slowest load |",
        "| --- |" + " ---: |" * (len(BROWSER_FIGURES) + 1),
    ]
    browser: Any = results["browser"]
    for path in PATHS:
        cells = [
            "-" if browser[path][name] is None else f"{browser[path][name]:.0f}"
            for name in BROWSER_FIGURES
        ]
        slowest = max(float(sample["load"]) for sample in browser[path]["samples"])
        lines.append(f"| `{path}` | " + " | ".join(cells) + f" | {slowest:.0f} |")
    return "\n".join(lines) + "\n"


def medians(samples: list[JsonObject]) -> JsonObject:
    figures: JsonObject = {}
    for name in BROWSER_FIGURES:
        values = [float(str(sample[name])) for sample in samples if sample.get(name) is not None]
        figures[name] = statistics.median(values) if values else None
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--releases", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    arguments = parser.parse_args(argv)
    started = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results: JsonObject = {
        "releases": arguments.releases,
        "requests": arguments.requests,
        "loads": arguments.loads,
        "started": started,
        "version": __version__,
        "commit": _commit(),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()} {platform.release()}",
    }
    server: JsonObject = {}
    browser: JsonObject = {}
    with serving(arguments.releases) as port:
        for path in PATHS:
            log(f"server: {arguments.requests} GET {path}")
            server_times(port, path, 3)  # warm: imports, first render
            samples = server_times(port, path, arguments.requests)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as answer:
                size = len(answer.read())
            server[path] = {
                "median": statistics.median(samples) * 1000,
                "p95": percentile(samples, 0.95) * 1000,
                "bytes": size,
                "samples": [sample * 1000 for sample in samples],
            }
        with tempfile.TemporaryDirectory() as profile, headless_chromium(Path(profile)) as driver:
            for path in PATHS:
                log(f"browser: {arguments.loads} loads of {path}")
                samples_ = browser_times(driver, port, path, arguments.loads)
                browser[path] = {**medians(samples_), "samples": list(samples_)}
    results["server"] = server
    results["browser"] = browser
    arguments.results_dir.mkdir(parents=True, exist_ok=True)
    stem = arguments.results_dir / f"ui-{started}"
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    stem.with_suffix(".md").write_text(report(results))
    print(report(results))
    log(f"wrote {stem}.md and .json")


if __name__ == "__main__":
    main(sys.argv[1:])
