"""Issue 24's UI benchmark: the releases it serves are shaped as the API's summaries (a
chain of dependencies per namespace, so the graph has depth), and the real server renders
every one of them on both pages, filtered by namespace as the API filters."""

from __future__ import annotations

import urllib.request

from bench.ui import listing, percentile, release_summaries, serving


def test_the_generated_releases_chain_their_dependencies_within_each_namespace() -> None:
    summaries = release_summaries(60)

    assert len({(item["namespace"], item["name"]) for item in summaries}) == 60  # type: ignore[index]
    first, later = summaries[0], summaries[20]
    assert first["dependsOn"] == [] and later["dependsOn"] == ["bench-00/release-0000"]  # type: ignore[index]
    assert len(listing(summaries)({"namespace": "bench-03"})["releases"]) == 3  # type: ignore[arg-type]


def test_the_server_of_the_benchmark_renders_every_release_on_both_pages() -> None:
    with serving(40) as port:
        for path in ("/", "/graph"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as answer:
                html = answer.read().decode()
            assert html.count('data-release="bench-') >= 40, path


def test_the_95th_percentile_is_the_sample_at_that_rank() -> None:
    assert percentile([float(n) for n in range(1, 101)], 0.95) == 95.0
