"""The figures of issue 21's benchmark (`bench/secrets.py`): seconds per pass of each
variant, what decryption adds per release, and the plain variant before and after SOPS
support, as differences of the samples taken side by side in one repeat.

Pure except for `write_report`. A repeat runs every variant once, in turn, so the i-th
samples of two variants shared the machine's load; their difference is the figure, and
the spread of the differences is its noise.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.results import Stat

SOPS = "sops"
PLAIN = "plain"
BEFORE = "before"
VARIANTS: Mapping[str, str] = {
    SOPS: "SOPS values files",
    PLAIN: "plain values files",
    BEFORE: "plain values files, code before SOPS support",
}
"""Every variant, in the order the tables list them."""

RENDER_COLD = "render-cold"
RENDER_WARM = "render-warm"
APPLY_NOOP = "apply-noop"
APPLY_COLD = "apply-cold"
SOPS_ALONE = "sops-alone"
PASSES: Mapping[str, str] = {
    RENDER_COLD: "desired state in process, cold (no render cache, new process)",
    RENDER_WARM: "desired state in process, again (a running reconciler's next 5 passes: median)",
    APPLY_NOOP: "`harmonia apply`, no-op (one-shot process, warm disk cache)",
    APPLY_COLD: "`harmonia apply`, cold, until Ready (once, to set up)",
    SOPS_ALONE: "one `sops decrypt` of a values file, alone (median of 10 in a row)",
}
"""Every pass measured, in the order the tables list them."""


@dataclass
class Figures:
    """One run: `seconds[pass][variant]` holds one sample per repeat, in repeat order."""

    size: int
    seconds: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    launches: dict[str, dict[str, int]] = field(default_factory=dict)
    """sops processes started by one pass, counted in a round of their own (untimed)."""
    engine_runs: dict[str, dict[str, int]] = field(default_factory=dict)
    """helm template runs of one pass (renders that missed the cache), the last seen."""
    errors: list[str] = field(default_factory=list)

    def add(self, name: str, variant: str, seconds: float) -> None:
        self.seconds.setdefault(name, {}).setdefault(variant, []).append(seconds)

    def samples(self, name: str, variant: str) -> list[float]:
        return self.seconds.get(name, {}).get(variant, [])


def paired_differences(minuend: Sequence[float], subtrahend: Sequence[float]) -> list[float]:
    """`minuend[i] - subtrahend[i]` for the repeats both have."""
    return [a - b for a, b in zip(minuend, subtrahend, strict=False)]


def per_release_ms(differences: Sequence[float], size: int) -> Stat | None:
    """Differences of whole passes as milliseconds per release."""
    if not differences:
        return None
    return Stat.of([1000 * value / size for value in differences])


def _cell(values: Sequence[float], digits: int = 2) -> str:
    return Stat.of(values).shown(digits) if values else "-"


def _count(table: Mapping[str, Mapping[str, int]], name: str, variant: str) -> str:
    found = table.get(name, {}).get(variant)
    return "-" if found is None else str(found)


def seconds_table(figures: Figures) -> str:
    """Seconds per pass and variant, median (min-max), with sops and helm runs."""
    lines = [
        "| pass | variant | seconds | samples | sops launches | helm runs |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, title in PASSES.items():
        for variant, label in VARIANTS.items():
            values = figures.samples(name, variant)
            if not values:
                continue
            lines.append(
                f"| {title} | {label} | {_cell(values)} | {len(values)} "
                f"| {_count(figures.launches, name, variant)} "
                f"| {_count(figures.engine_runs, name, variant)} |"
            )
    return "\n".join(lines)


def comparisons(figures: Figures) -> list[str]:
    """What decryption adds per release, and what the plain variant pays now against
    before, from paired samples; in words, with the noise beside each figure."""
    lines: list[str] = []
    for name in (RENDER_COLD, RENDER_WARM, APPLY_NOOP):
        title = PASSES[name]
        plain = figures.samples(name, PLAIN)
        added = paired_differences(figures.samples(name, SOPS), plain)
        stat = per_release_ms(added, figures.size)
        if stat is not None:
            lines.append(
                f"{title}: SOPS adds {stat.shown(1)} ms per release "
                f"({_cell(added)} s per pass of {figures.size}, SOPS - plain, paired)"
            )
        since = paired_differences(plain, figures.samples(name, BEFORE))
        if since and plain:
            before = Stat.of(figures.samples(name, BEFORE)).median
            spread = Stat.of(plain)
            lines.append(
                f"{title}: plain now - before SOPS support: {_cell(since)} s "
                f"({100 * Stat.of(since).median / before:+.1f} % of {before:.2f} s); "
                f"noise: the plain samples alone span {spread.high - spread.low:.2f} s"
            )
    alone = figures.samples(SOPS_ALONE, SOPS)
    if alone:
        lines.append(f"one `sops decrypt` alone: {1000 * Stat.of(alone).median:.1f} ms")
    return lines


def markdown_report(meta: Mapping[str, Any], figures: Figures) -> str:
    lines = [f"# Harmonia secrets benchmark (issue 21), {meta['started']}", ""]
    machine, versions = meta["machine"], meta["versions"]
    lines.append(
        f"Machine: {machine['cores']} cores, load average at start {machine['load_at_start']}, "
        f"at end {machine.get('load_at_end', '?')}. Kubernetes {versions.get('kubernetes', '?')}, "
        f"sops {versions.get('sops', '?')}, Harmonia {versions['harmonia']} "
        f"({versions['commit']}), before SOPS support: {versions.get('before', '?')}. "
        "Figures are median (min-max) of the repeats."
    )
    lines += ["", f"## N = {figures.size}", "", seconds_table(figures), ""]
    lines += [f"- {line}" for line in comparisons(figures)]
    lines += [f"- error: {error}" for error in figures.errors]
    return "\n".join(lines) + "\n"


def write_report(folder: Path, stem: str, meta: Mapping[str, Any], figures: Figures) -> Path:
    """`<stem>.md` and `<stem>.json` in `folder`; returns the Markdown file."""
    folder.mkdir(parents=True, exist_ok=True)
    markdown = folder / f"{stem}.md"
    markdown.write_text(markdown_report(meta, figures))
    body = {"meta": dict(meta), "figures": asdict(figures)}
    (folder / f"{stem}.json").write_text(json.dumps(body, indent=2) + "\n")
    return markdown


def read_report(path: Path) -> tuple[dict[str, Any], Figures]:
    """A results JSON file back as its meta and figures."""
    body = json.loads(path.read_text())
    return body["meta"], Figures(**body["figures"])


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m bench.secrets_report A.json [B.json ...]`: each results file's Markdown
    report again, on stdout."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.secrets_report", description=main.__doc__
    )
    parser.add_argument("files", nargs="+", type=Path)
    for path in parser.parse_args(argv).files:
        print(markdown_report(*read_report(path)), end="")


if __name__ == "__main__":
    main()
