"""The figures of issue 20's real-time benchmark (`bench/realtime.py`): samples per
scenario and size, medians with min and max, the ratios and targets, and the files.

Pure except for `write_report`. Each sample is a flat mapping of named measures (seconds,
requests, lists, ...), so one table shape serves every scenario.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.results import Stat

FULL_PASS = "full-pass-listing"
FULL_PASS_WATCHED = "full-pass-watched"
HAND_EDIT = "hand-edit-put-back"
PUSH_WEBHOOK = "push-webhook"
PUSH_POLL = "push-poll"
PUSH_HUB_WEBHOOK = "push-hub-webhook"
PUSH_HUB_POLL = "push-hub-poll"
IDLE = "idle-daemon"
PERIODIC = "periodic-pass-daemon"

SCENARIOS: Mapping[str, str] = {
    FULL_PASS: "periodic full pass, nothing changed, listing (no watches)",
    FULL_PASS_WATCHED: "periodic full pass, nothing changed, reading the watches",
    PERIODIC: "`harmonia run --interval 20s`, nothing new in Git: each pass, tick to end",
    HAND_EDIT: "hand edit of a managed ConfigMap -> put back (`harmonia run --interval 10m`)",
    PUSH_WEBHOOK: "commit pushed -> changed release Ready, signed GitHub push webhook",
    PUSH_POLL: "commit pushed -> changed release Ready, poll (`--interval 1m`, no webhook)",
    PUSH_HUB_WEBHOOK: "the hub's outputs pushed -> its dependents Ready, webhook",
    PUSH_HUB_POLL: "the hub's outputs pushed -> its dependents Ready, poll (`--interval 1m`)",
    IDLE: "idle daemon, per minute",
}
"""Every scenario, in the order the tables list them."""

MEASURES: Mapping[str, str] = {
    "seconds": "s",
    "requests_sent": "requests sent by the pass's client",
    "lists": "LIST requests at the API server (all clients)",
    "requests": "requests at the API server (all clients)",
    "own_requests": "requests harmonia sent (its /metrics)",
    "own_lists": "LIST requests harmonia sent (its /metrics)",
    "cpu_seconds": "CPU s of harmonia since it started (children included)",
    "rss_mib": "RSS MiB",
    "peak_rss_mib": "peak RSS MiB of the daemon so far (VmHWM)",
    "pass_seconds": "s of the pass itself (its log: fetch, desired state, pass, status)",
    "render_seconds": "s of `helm template` of the changed release, alone",
    "release_seconds": "s the pass spent on the changed release: plan, apply, rollout (its log)",
    "overhead_seconds": "s of the rest: push to Ready less render and the release's own time",
}
"""What a sample may hold, and how the tables name it."""

HAND_EDIT_TARGET = 3.0
FULL_PASS_TARGET = 1.0
PUSH_OVERHEAD_TARGET = 1.0


@dataclass
class Series:
    scenario: str
    size: int
    samples: list[dict[str, float]] = field(default_factory=list)
    note: str = ""
    errors: list[str] = field(default_factory=list)

    def stat(self, measure: str) -> Stat | None:
        values = [sample[measure] for sample in self.samples if measure in sample]
        return Stat.of(values) if values else None


def _median(series: Mapping[str, Series], scenario: str, measure: str) -> float | None:
    found = series.get(scenario)
    stat = found.stat(measure) if found is not None else None
    return stat.median if stat is not None else None


def checks(of_size: Sequence[Series]) -> list[str]:
    """The ratios side by side and issue 20's targets (stated for N = 1000), in words."""
    by_name = {series.scenario: series for series in of_size}
    lines: list[str] = []
    listing = _median(by_name, FULL_PASS, "seconds")
    watched = _median(by_name, FULL_PASS_WATCHED, "seconds")
    watched_lists = _median(by_name, FULL_PASS_WATCHED, "requests_sent")
    if listing is not None and watched is not None:
        lines.append(
            f"full pass reading the watches / listing: {watched:.2f} s / {listing:.2f} s "
            f"= {watched / listing:.2f}"
        )
        verdict = "holds" if watched <= FULL_PASS_TARGET and watched_lists == 0 else "missed"
        lines.append(
            f"target: 0 list requests and <= {FULL_PASS_TARGET:.0f} s: {watched_lists:.0f} "
            f"requests sent, {watched:.2f} s: {verdict}"
        )
    edit = _median(by_name, HAND_EDIT, "seconds")
    if edit is not None:
        verdict = "holds" if edit <= HAND_EDIT_TARGET else "missed"
        lines.append(
            f"target: hand edit put back <= {HAND_EDIT_TARGET:.0f} s: {edit:.2f} s: {verdict}"
        )
    hook, poll = _median(by_name, PUSH_WEBHOOK, "seconds"), _median(by_name, PUSH_POLL, "seconds")
    overhead = _median(by_name, PUSH_WEBHOOK, "overhead_seconds")
    if overhead is not None:
        verdict = "holds" if overhead <= PUSH_OVERHEAD_TARGET else "missed"
        lines.append(
            f"target: push to Ready with the webhook <= render + apply + readiness + "
            f"{PUSH_OVERHEAD_TARGET:.0f} s: the rest is {overhead:.2f} s: {verdict}"
        )
    if hook is not None and poll is not None:
        lines.append(
            f"push to Ready, webhook / poll: {hook:.1f} s / {poll:.1f} s = {hook / poll:.2f}"
        )
    idle = by_name.get(IDLE)
    if idle is not None and len(idle.samples) >= 2:
        first, last = idle.samples[0], idle.samples[-1]
        minutes = len(idle.samples) - 1
        lines.append(
            f"idle daemon over {len(idle.samples)} minutes: "
            f"{(last['cpu_seconds'] - first['cpu_seconds']) / minutes:.2f} CPU s a minute, "
            f"RSS {first['rss_mib']:.0f} -> {last['rss_mib']:.0f} MiB"
        )
    hub_hook = _median(by_name, PUSH_HUB_WEBHOOK, "seconds")
    hub_poll = _median(by_name, PUSH_HUB_POLL, "seconds")
    if hub_hook is not None and hub_poll is not None:
        lines.append(
            f"hub push to dependents Ready, webhook / poll: {hub_hook:.1f} s / {hub_poll:.1f} s "
            f"= {hub_hook / hub_poll:.2f}"
        )
    return lines


def size_table(of_size: Sequence[Series]) -> str:
    lines = [
        "| scenario | measure | median (min-max) | samples | note |",
        "| --- | --- | --- | --- | --- |",
    ]
    for series in sorted(of_size, key=lambda s: list(SCENARIOS).index(s.scenario)):
        note = "; ".join(part for part in (series.note, *series.errors) if part)
        shown = [m for m in MEASURES if series.stat(m) is not None] or ["seconds"]
        for measure in shown:
            stat = series.stat(measure)
            digits = 1 if measure == "cpu_seconds" else 2 if measure.endswith("seconds") else 0
            cell = stat.shown(digits) if stat is not None else "-"
            lines.append(
                f"| {SCENARIOS[series.scenario]} | {MEASURES[measure]} | {cell} "
                f"| {len(series.samples)} | {note} |"
            )
            note = ""
    return "\n".join(lines)


def idle_table(series: Series) -> str:
    """The idle daemon minute by minute: growth shows here, not in a median."""
    lines = [
        "| minute | requests (all clients) | of them LIST | harmonia's requests "
        "| of them LIST | CPU s (cumulative) | RSS MiB |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for index, sample in enumerate(series.samples, start=1):
        own = (
            f"{sample['own_requests']:.0f} | {sample['own_lists']:.0f}"
            if "own_requests" in sample
            else "- | -"
        )
        lines.append(
            f"| {index} | {sample.get('requests', 0):.0f} | {sample.get('lists', 0):.0f} "
            f"| {own} | {sample.get('cpu_seconds', 0):.1f} | {sample.get('rss_mib', 0):.0f} |"
        )
    return "\n".join(lines)


def markdown_report(meta: Mapping[str, Any], series: Sequence[Series]) -> str:
    lines = [f"# Harmonia real-time benchmark (issue 20), {meta['started']}", ""]
    lines.append(
        f"Machine: {meta['machine']['cores']} cores, load average at start "
        f"{meta['machine']['load_at_start']}, at end {meta['machine'].get('load_at_end', '?')}. "
        f"Kubernetes {meta['versions'].get('kubernetes', '?')}, Harmonia "
        f"{meta['versions']['harmonia']} ({meta['versions']['commit']}). Figures are median "
        "(min-max) of the samples."
    )
    for size in sorted({s.size for s in series}):
        of_size = [s for s in series if s.size == size]
        lines += ["", f"## N = {size}", "", size_table(of_size), ""]
        lines += [f"- {line}" for line in checks(of_size)]
        idle = next((s for s in of_size if s.scenario == IDLE and s.samples), None)
        if idle is not None:
            lines += ["", "Idle daemon, minute by minute:", "", idle_table(idle)]
    return "\n".join(lines) + "\n"


def write_report(
    folder: Path, stem: str, meta: Mapping[str, Any], series: Sequence[Series]
) -> Path:
    """`<stem>.md` and `<stem>.json` in `folder`; returns the Markdown file."""
    folder.mkdir(parents=True, exist_ok=True)
    markdown = folder / f"{stem}.md"
    markdown.write_text(markdown_report(meta, series))
    body = {"meta": dict(meta), "series": [asdict(s) for s in series]}
    (folder / f"{stem}.json").write_text(json.dumps(body, indent=2) + "\n")
    return markdown


def read_report(path: Path) -> tuple[dict[str, Any], list[Series]]:
    """A results JSON file back as its meta and series."""
    body = json.loads(path.read_text())
    return body["meta"], [Series(**entry) for entry in body["series"]]


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m bench.realtime_report A.json [B.json ...]`: each results file's Markdown
    report again, on stdout (after a change to the report's format)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.realtime_report", description=main.__doc__
    )
    parser.add_argument("files", nargs="+", type=Path)
    for path in parser.parse_args(argv).files:
        print(markdown_report(*read_report(path)), end="")


if __name__ == "__main__":
    main()
