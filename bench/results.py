"""The benchmark's figures: samples per scenario, medians with min and max, and the
Markdown and JSON files written under `bench/results/`.

Pure except for `write_results`. The targets of issue 9 are checked here from the
figures, so every results file says which hold and by what ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HARMONIA_COLD = "harmonia-cold"
HARMONIA_NOOP = "harmonia-noop"
HARMONIA_ONE_CHANGED = "harmonia-one-changed"
HARMONIA_FAN_OUT = "harmonia-fan-out"
KUBECTL_PER_RELEASE = "kubectl-per-release"
KUBECTL_EVERYTHING = "kubectl-everything"
HELM_PER_RELEASE = "helm-per-release"
FLOOR = "floor"

SCENARIOS: Mapping[str, str] = {
    HARMONIA_COLD: "Harmonia: cold apply, until all Ready",
    HARMONIA_NOOP: "Harmonia: no-op pass",
    HARMONIA_ONE_CHANGED: "Harmonia: one release changed",
    HARMONIA_FAN_OUT: "Harmonia: hub outputs changed, dependents re-rendered",
    KUBECTL_PER_RELEASE: "kubectl apply --server-side, per release",
    KUBECTL_EVERYTHING: "kubectl apply --server-side, everything at once",
    HELM_PER_RELEASE: "helm upgrade --install, per release",
    FLOOR: "floor: SSA PATCH, 16 in flight",
}
"""Every scenario, in the order the tables list them."""

NOOP_TARGET_SECONDS = 3.0
RSS_TARGET_MIB = 250.0
FLOOR_TARGET_RATIO = 2.0
HELM_TARGET_RATIO = 5.0


@dataclass(frozen=True)
class Sample:
    """One run of one scenario."""

    seconds: float
    """Until every Deployment was Ready (Harmonia: the whole pass, which waits itself)."""
    apply_seconds: float | None = None
    """Peers: until the last object was sent, before the wait for Ready."""
    requests: float | None = None
    """Difference in `apiserver_request_total` (all clients) over the pass or the sending."""
    peak_rss_mib: float | None = None
    load_average: float | None = None
    """The machine's one-minute load average when the run started (others share it)."""
    background_rate: float | None = None
    """Requests per second the API server served with the benchmark idle, just before."""
    cluster_cpu_seconds: float | None = None
    """CPU-seconds of the cluster's processes (API server, etcd, controllers, scheduler,
    KWOK) over the scenario, until Ready: the control plane's cost, which other load on
    the machine slows but does not add to."""
    tool_cpu_seconds: float | None = None
    """CPU-seconds of the tool itself: the harmonia process and its renderer; kubectl or
    helm processes; the floor's client, for the sending."""


@dataclass(frozen=True)
class Stat:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Stat:
        return cls(statistics.median(values), min(values), max(values))

    def shown(self, digits: int = 1) -> str:
        if self.low == self.high:
            return f"{self.median:.{digits}f}"
        return f"{self.median:.{digits}f} ({self.low:.{digits}f}-{self.high:.{digits}f})"


@dataclass
class ScenarioResult:
    scenario: str
    size: int
    samples: list[Sample] = field(default_factory=list)
    note: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return SCENARIOS[self.scenario]

    def stat(self, read: Callable[[Sample], float | None]) -> Stat | None:
        values = [value for value in map(read, self.samples) if value is not None]
        return Stat.of(values) if values else None

    @property
    def seconds(self) -> Stat | None:
        return self.stat(lambda s: s.seconds)

    def to_json(self) -> dict[str, Any]:
        summary = {
            name: asdict(stat)
            for name, stat in (
                ("seconds", self.seconds),
                ("apply_seconds", self.stat(lambda s: s.apply_seconds)),
                ("requests", self.stat(lambda s: s.requests)),
                ("peak_rss_mib", self.stat(lambda s: s.peak_rss_mib)),
                ("load_average", self.stat(lambda s: s.load_average)),
                ("cluster_cpu_seconds", self.stat(lambda s: s.cluster_cpu_seconds)),
                ("tool_cpu_seconds", self.stat(lambda s: s.tool_cpu_seconds)),
            )
            if stat is not None
        }
        return {
            "scenario": self.scenario,
            "title": self.title,
            "size": self.size,
            "note": self.note,
            "errors": self.errors,
            "samples": [asdict(sample) for sample in self.samples],
            "summary": summary,
        }


def _cell(stat: Stat | None, digits: int = 1) -> str:
    return stat.shown(digits) if stat is not None else "-"


def size_table(results: Sequence[ScenarioResult]) -> str:
    """One Markdown table for the scenarios of one size."""
    lines = [
        "| scenario | until Ready / pass (s) | sent (s) | API requests | peak RSS (MiB) "
        "| cluster CPU (s) | tool CPU (s) | load | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in sorted(results, key=lambda r: list(SCENARIOS).index(r.scenario)):
        note = "; ".join(
            part for part in (result.note, _background(result), *result.errors) if part
        )
        lines.append(
            f"| {result.title} | {_cell(result.seconds)} "
            f"| {_cell(result.stat(lambda s: s.apply_seconds))} "
            f"| {_cell(result.stat(lambda s: s.requests), 0)} "
            f"| {_cell(result.stat(lambda s: s.peak_rss_mib), 0)} "
            f"| {_cell(result.stat(lambda s: s.cluster_cpu_seconds))} "
            f"| {_cell(result.stat(lambda s: s.tool_cpu_seconds))} "
            f"| {_cell(result.stat(lambda s: s.load_average))} | {note} |"
        )
    return "\n".join(lines)


def _background(result: ScenarioResult) -> str:
    rate = result.stat(lambda s: s.background_rate)
    seconds = result.seconds
    if rate is None or seconds is None:
        return ""
    return (
        f"~{rate.median * seconds.median:.0f} of the requests are background "
        f"({rate.median:.1f}/s with the benchmark idle)"
    )


@dataclass(frozen=True)
class TargetCheck:
    target: str
    measured: str
    holds: bool | None
    """None when a figure it needs is missing."""


def _median(results: Mapping[str, ScenarioResult], scenario: str) -> float | None:
    found = results.get(scenario)
    stat = found.seconds if found is not None else None
    return stat.median if stat is not None else None


def target_checks(results: Sequence[ScenarioResult]) -> list[TargetCheck]:
    """Issue 9's targets (stated for N = 1000), checked on one size's figures."""
    by_name = {result.scenario: result for result in results}
    cold, floor = _median(by_name, HARMONIA_COLD), _median(by_name, FLOOR)
    helm, noop = _median(by_name, HELM_PER_RELEASE), _median(by_name, HARMONIA_NOOP)
    checks: list[TargetCheck] = []
    floor_sent = by_name[FLOOR].stat(lambda s: s.apply_seconds) if FLOOR in by_name else None
    for label, against in (
        ("cold within 2x of the floor (both until Ready)", floor),
        (
            "cold within 2x of the floor's sending alone (the strict reading)",
            floor_sent.median if floor_sent is not None else None,
        ),
    ):
        if cold is not None and against is not None:
            ratio = cold / against
            shown = f"{cold:.1f} s vs {against:.1f} s: {ratio:.1f}x"
            checks.append(TargetCheck(label, shown, ratio <= FLOOR_TARGET_RATIO))
    if cold is not None and helm is not None:
        ratio = helm / cold
        checks.append(
            TargetCheck(
                "cold at least 5x faster than helm per release",
                f"{helm:.1f} s vs {cold:.1f} s: {ratio:.1f}x faster",
                ratio >= HELM_TARGET_RATIO,
            )
        )
    if noop is not None:
        checks.append(
            TargetCheck("no-op pass under 3 s", f"{noop:.1f} s", noop < NOOP_TARGET_SECONDS)
        )
    peaks = [
        stat.high
        for result in results
        if result.scenario.startswith("harmonia-")
        and (stat := result.stat(lambda s: s.peak_rss_mib)) is not None
    ]
    if peaks:
        checks.append(
            TargetCheck(
                "peak RSS under 250 MiB", f"{max(peaks):.0f} MiB", max(peaks) < RSS_TARGET_MIB
            )
        )
    return checks


def noop_request_growth(results: Sequence[ScenarioResult]) -> str:
    """How the no-op pass's request count grows with N (it should not track objects)."""
    figures = sorted(
        (result.size, stat.median)
        for result in results
        if result.scenario == HARMONIA_NOOP
        and (stat := result.stat(lambda s: s.requests)) is not None
    )
    if not figures:
        return "no figure"
    parts = [
        f"N={size}: {requests:.0f} ({requests / size:.1f} per release)"
        for size, requests in figures
    ]
    (smallest, fewest), (largest, most) = figures[0], figures[-1]
    if largest > smallest:
        grows = most / fewest > (largest / smallest) ** 0.5
        verdict = "grows with the number of objects: missed" if grows else "holds"
        parts.append(
            f"{most / fewest:.1f}x the requests for {largest / smallest:g}x the releases: {verdict}"
        )
    return "; ".join(parts)


def _verdict(check: TargetCheck) -> str:
    return {True: "holds", False: "missed", None: "not measured"}[check.holds]


def markdown_report(meta: Mapping[str, Any], results: Sequence[ScenarioResult]) -> str:
    sizes = sorted({result.size for result in results})
    lines = [f"# Harmonia benchmark, {meta['started']}", ""]
    lines.append(
        f"Machine: {meta['machine']['cores']} cores ({meta['machine']['cpu']}), "
        f"{meta['machine']['memory_gib']:.1f} GiB; load average (1, 5, 15 min) at start "
        f"{meta['machine']['load_at_start']}, at end {meta['machine'].get('load_at_end', '?')}; "
        f"the load column is the 1-minute load when each run started. "
        f"Python {meta['versions']['python']}, "
        f"Kubernetes {meta['versions']['kubernetes']}, kubectl {meta['versions']['kubectl']}, "
        f"helm {meta['versions']['helm']}, Harmonia {meta['versions']['harmonia']} "
        f"({meta['versions']['commit']}). Repeats: {meta['repeats']}; figures are "
        "median (min-max)."
    )
    if meta.get("skipped"):
        lines += ["", f"Not run (`--skip`): {', '.join(meta['skipped'])}."]
    for size in sizes:
        of_size = [result for result in results if result.size == size]
        lines += ["", f"## N = {size}", "", size_table(of_size), ""]
        lines += [
            "| target (issue 9, stated for N = 1000) | measured | verdict |",
            "| --- | --- | --- |",
        ]
        lines += [
            f"| {check.target} | {check.measured} | {_verdict(check)} |"
            for check in target_checks(of_size)
        ]
    lines += ["", f"No-op API requests by size: {noop_request_growth(results)}.", ""]
    return "\n".join(lines)


def read_results(path: Path) -> tuple[dict[str, Any], list[ScenarioResult]]:
    """A results JSON file back as its meta and scenario results."""
    body = json.loads(path.read_text())
    results = [
        ScenarioResult(
            entry["scenario"],
            entry["size"],
            [Sample(**sample) for sample in entry["samples"]],
            entry["note"],
            entry["errors"],
        )
        for entry in body["results"]
    ]
    return body["meta"], results


def write_results(
    folder: Path, stem: str, meta: Mapping[str, Any], results: Sequence[ScenarioResult]
) -> Path:
    """`<stem>.md`, `<stem>.json` and `latest.md` in `folder`; returns the Markdown file."""
    folder.mkdir(parents=True, exist_ok=True)
    report = markdown_report(meta, results)
    markdown = folder / f"{stem}.md"
    markdown.write_text(report)
    (folder / "latest.md").write_text(report)
    body = {"meta": dict(meta), "results": [result.to_json() for result in results]}
    (folder / f"{stem}.json").write_text(json.dumps(body, indent=2) + "\n")
    return markdown


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m bench.results A.json [B.json ...]`: each results file's Markdown report
    again, on stdout (after a change to the report's format)."""
    parser = argparse.ArgumentParser(prog="python -m bench.results", description=main.__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    arguments = parser.parse_args(argv)
    runs = [read_results(path) for path in arguments.files]
    for meta, results in runs:
        print(markdown_report(meta, results))


if __name__ == "__main__":
    main()


def write_run(folder: Path, stem: str, result: Mapping[str, Any], text: str) -> None:
    """A run's figures as `<stem>.json` and its report as `<stem>.md` in `folder`, and the
    report on stdout."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
    (folder / f"{stem}.md").write_text(text)
    print(text)
