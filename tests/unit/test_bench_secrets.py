"""Issue 21's benchmark: its figures (paired differences per release, before and after
SOPS support), its report files, and the variants of the synthetic repository."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.generate import synthetic_repository
from bench.secrets import in_namespaces, values_file, variant_files
from bench.secrets_report import (
    APPLY_NOOP,
    BEFORE,
    PLAIN,
    RENDER_WARM,
    SOPS,
    Figures,
    comparisons,
    markdown_report,
    paired_differences,
    per_release_ms,
    read_report,
    write_report,
)

META = {
    "started": "2026-12-06T21:00:00+00:00",
    "machine": {"cores": 2, "load_at_start": "1.0 1.0 1.0"},
    "versions": {"harmonia": "0.1.0", "commit": "abc", "kubernetes": "v1.36.3"},
}


def figures() -> Figures:
    found = Figures(100)
    for sops, plain, before in ((4.0, 1.0, 1.1), (5.0, 1.5, 1.4), (4.5, 1.2, 1.2)):
        found.add(RENDER_WARM, SOPS, sops)
        found.add(RENDER_WARM, PLAIN, plain)
        found.add(RENDER_WARM, BEFORE, before)
    found.launches[RENDER_WARM] = {SOPS: 100, PLAIN: 0}
    return found


def test_paired_differences_take_the_samples_of_the_same_repeat() -> None:
    assert paired_differences([3.0, 5.0, 4.0], [1.0, 2.0]) == [2.0, 3.0]


@pytest.mark.parametrize(
    ("differences", "shown"),
    [([0.5, 1.0, 1.5], "10.0 (5.0-15.0)"), ([-0.1], "-1.0"), ([], None)],
)
def test_differences_of_whole_passes_are_shown_as_milliseconds_per_release(
    differences: list[float], shown: str | None
) -> None:
    stat = per_release_ms(differences, 100)
    assert (stat.shown(1) if stat is not None else None) == shown


def test_the_comparisons_say_what_sops_adds_per_release_and_what_plain_pays_since() -> None:
    lines = comparisons(figures())
    assert lines[0].endswith(
        "SOPS adds 33.0 (30.0-35.0) ms per release (3.30 (3.00-3.50) s per pass of 100, "
        "SOPS - plain, paired)"
    )
    assert "plain now - before SOPS support: 0.00 (-0.10-0.10) s (+0.0 % of 1.20 s)" in lines[1]
    assert lines[1].endswith("noise: the plain samples alone span 0.50 s")


def test_a_pass_without_samples_of_a_variant_has_no_comparison() -> None:
    only_sops = Figures(10)
    only_sops.add(APPLY_NOOP, SOPS, 2.0)
    assert comparisons(only_sops) == []


def test_the_report_round_trips_through_its_json_file(tmp_path: Path) -> None:
    markdown = write_report(tmp_path, "secrets-x", META, figures())
    text = markdown.read_text()
    assert "| SOPS values files | 4.50 (4.00-5.00) | 3 | 100 | - |" in text
    assert "| plain values files, code before SOPS support | 1.20 (1.10-1.40) | 3 | - | - |" in text
    meta, back = read_report(tmp_path / "secrets-x.json")
    assert back == figures()
    assert markdown_report(meta, back) == text
    assert json.loads((tmp_path / "secrets-x.json").read_text())["meta"] == META


def test_each_variant_lives_in_namespaces_of_its_own_with_its_dependencies_renamed() -> None:
    renamed = in_namespaces(synthetic_repository(60), "sops-")
    assert {release.namespace for release in renamed.releases} == {
        "sops-0", "sops-1", "sops-2", "sops-3",
    }  # fmt: skip
    assert renamed.release("sops-1/app-0001").dependencies == {"hub": "sops-0/hub"}
    assert renamed.release("sops-3/app-0059").dependencies == {"upstream": "sops-2/app-0058"}
    assert renamed.hub.outputs["endpoint"] == "hub.sops-0.svc:8080"


def test_every_release_reads_its_settings_and_password_from_a_values_file_of_its_own() -> None:
    repository = in_namespaces(synthetic_repository(3), "plain-")
    files = variant_files(repository)
    for release in repository.releases:
        body = json.loads(files[release.file])
        assert body["valuesFiles"] == [values_file(release)]
        assert body["configValues"] == {"outputs": dict(release.outputs)}
        values = json.loads(files[values_file(release)])
        assert values == {"settings": {"revision": "1"}, "password": f"pw-{release.name}-bench"}
