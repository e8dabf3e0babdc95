"""Red team, the renderer under hostile charts and loads: a chart whose template kills the
renderer on every try fails its own release, and the releases in flight beside it,
retried after each death, still render, each with its own output; requests and answers
larger than a pipe, from more threads than the renderer has slots, never stall; when
memory runs out, the kernel ends the renderer before Harmonia."""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reconciler.render.helm.renderer import Renderer, RendererProcess, TemplateRequest

MEMORY_CEILING_KIB = 1_000_000
"""The renderer's address space in these tests: a chart that doubles a string past it
kills the renderer (Go's "out of memory" is fatal) within a second, without taking
gigabytes from a shared machine."""


def chart(root: Path, name: str, template: str) -> Path:
    (root / name / "templates").mkdir(parents=True)
    (root / name / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n")
    (root / name / "templates" / "cm.yaml").write_text(template)
    return root / name


def confined(renderer_binary: Path, folder: Path) -> Path:
    """The real renderer, exec'd under a ceiling on its memory (same process, same pid)."""
    wrapper = folder / "harmonia-renderer"
    wrapper.write_text(
        f'#!/bin/sh\nulimit -v {MEMORY_CEILING_KIB}\nexport GOGC=100\nexec "{renderer_binary}"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


def request(chart_root: Path, release: str) -> TemplateRequest:
    return TemplateRequest(
        chart=chart_root,
        release_name=release,
        namespace="shop",
        values=json.dumps({"n": release}),
        kube_version="v1.36.3",
        api_versions=(),
    )


def test_a_chart_that_kills_the_renderer_on_each_try_fails_alone_and_the_releases_in_flight_render(
    tmp_path: Path, renderer_binary: Path
) -> None:
    hog = chart(
        tmp_path,
        "hog",
        '{{ $s := "xxxxxxxx" }}{{ range until 40 }}{{ $s = print $s $s }}{{ end }}{{ len $s }}',
    )
    # Busy for a few tenths of a second, so that both deaths find several of them in flight.
    busy = chart(
        tmp_path,
        "busy",
        "{{ range until 3000 }}{{ range until 1000 }}{{ end }}{{ end }}"
        "kind: ConfigMap\napiVersion: v1\nmetadata: {name: {{ .Release.Name }}}\n"
        "data: {n: {{ .Values.n | quote }}}\n",
    )
    renderer = Renderer(confined(renderer_binary, tmp_path))
    asked = [request(hog, "hog")] + [request(busy, f"web-{index}") for index in range(11)]
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda one: renderer.template(one, timeout=60), asked))
    finally:
        renderer.close()
    assert results[0].error == "harmonia-renderer exited twice while rendering"
    failed = {
        one.release_name: run.error
        for one, run in zip(asked[1:], results[1:], strict=True)
        if not run.ok
    }
    assert failed == {}
    for one, run in zip(asked[1:], results[1:], strict=True):
        assert f'data: {{n: "{one.release_name}"}}' in run.stdout


def test_large_values_and_outputs_from_more_threads_than_slots_all_render_without_a_stall(
    tmp_path: Path, renderer_binary: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One slot, eight threads, requests and answers larger than a pipe's buffer: a write
    # that waits for a free slot must not keep the answers that free it from being read.
    monkeypatch.setenv("GOMAXPROCS", "1")
    echo = chart(
        tmp_path,
        "echo",
        "kind: ConfigMap\napiVersion: v1\nmetadata: {name: {{ .Release.Name }}}\n"
        "data: {blob: {{ .Values.blob | quote }}}\n",
    )

    def large(index: int) -> TemplateRequest:
        return dataclasses.replace(
            request(echo, f"web-{index}"), values=json.dumps({"blob": str(index) * 300_000})
        )

    renderer = Renderer(renderer_binary)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda n: renderer.template(large(n), timeout=10), range(24)))
    finally:
        renderer.close()
    assert [run.error for run in results if not run.ok] == []
    for index, run in enumerate(results):
        assert f"name: web-{index}}}" in run.stdout and str(index) * 300_000 in run.stdout


def test_the_renderer_is_the_process_the_kernel_ends_first_when_memory_runs_out(
    renderer_binary: Path,
) -> None:
    # Without a ceiling of its own, a chart eating gigabytes must cost the renderer (its
    # requests are retried), not the Harmonia process that started it.
    process = RendererProcess(renderer_binary)
    try:
        assert Path(f"/proc/{process.pid}/oom_score_adj").read_text().strip() == "1000"
    finally:
        process.close()
