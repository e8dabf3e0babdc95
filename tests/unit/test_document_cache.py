"""The release-document cache: a load that finds a file's checked document gives the same
repository as a load that reads and validates it, and only clean files are stored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reconciler.release_requests import load_repository
from reconciler.release_requests.yaml_source import YamlLimits
from reconciler.types import ReleaseKey
from tests.unit.samples import (
    FULL_RELEASE,
    REPOSITORY,
    WALM_BODY,
    release,
    write_repository,
)

EXAMPLES = Path(__file__).parents[2] / "examples"

FILES: dict[str, str | bytes] = {
    "releases/streaming/kafka.yaml": FULL_RELEASE,
    "releases/walm/zookeeper.yaml": WALM_BODY,
    "releases/web.yaml": release("web"),
}


def entries(cache: Path) -> list[Path]:
    return sorted((cache / "releases").rglob("*.json"))


@pytest.mark.parametrize(
    "repository",
    [
        pytest.param("samples", id="harmonia-and-walm-files"),
        pytest.param("examples", id="examples"),
    ],
)
def test_a_load_from_the_cache_equals_a_load_that_reads_every_file(
    tmp_path: Path, repository: str
) -> None:
    if repository == "samples":
        root = write_repository(tmp_path / "repo", FILES)
    else:
        root = tmp_path / "repo"
        shutil.copytree(EXAMPLES, root)
    cache = tmp_path / "cache"
    uncached = load_repository(root)
    storing = load_repository(root, cache_dir=cache)
    assert entries(cache), "the first load stores what it checked"
    from_cache = load_repository(root, cache_dir=cache)
    assert storing == uncached
    assert from_cache == uncached
    assert from_cache.releases, "the repository has releases to compare"


def test_the_second_load_takes_the_stored_document_instead_of_reading_the_file(
    tmp_path: Path,
) -> None:
    root = write_repository(tmp_path / "repo", {"releases/web.yaml": release("web")})
    cache = tmp_path / "cache"
    load_repository(root, cache_dir=cache)
    [entry] = entries(cache)
    stored = json.loads(entry.read_text())
    stored["data"]["configValues"] = {"from": "the cache"}
    entry.write_text(json.dumps(stored))
    web = load_repository(root, cache_dir=cache).releases[ReleaseKey("apps/web")]
    assert web.config_values == {"from": "the cache"}


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    root = write_repository(tmp_path / "repo", {"releases/web.yaml": release("web")})
    cache = tmp_path / "cache"
    load_repository(root, cache_dir=cache)
    (root / "releases/web.yaml").write_text(release("web") + "configValues: {replicas: 5}\n")
    web = load_repository(root, cache_dir=cache).releases[ReleaseKey("apps/web")]
    assert web.config_values == {"replicas": 5}
    assert len(entries(cache)) == 2


def test_files_with_problems_are_not_stored_and_report_the_same_each_time(
    tmp_path: Path,
) -> None:
    broken = release("web") + "timeoutSec: soon\n"
    root = write_repository(
        tmp_path / "repo", {"releases/web.yaml": broken, "releases/tab.yaml": "a:\n\tb: 1\n"}
    )
    cache = tmp_path / "cache"
    first = load_repository(root, cache_dir=cache)
    second = load_repository(root, cache_dir=cache)
    assert [d.file for d in first.diagnostics] == ["releases/tab.yaml", "releases/web.yaml"]
    assert second == first
    assert entries(cache) == []


def test_the_repository_defaults_apply_to_a_release_taken_from_the_cache(tmp_path: Path) -> None:
    root = write_repository(tmp_path / "repo", {"releases/web.yaml": release("web")})
    cache = tmp_path / "cache"
    assert (
        load_repository(root, cache_dir=cache).releases[ReleaseKey("apps/web")].timeout_sec == 120
    )
    (root / "harmonia.yaml").write_text(REPOSITORY.replace("timeoutSec: 120", "timeoutSec: 30"))
    web = load_repository(root, cache_dir=cache).releases[ReleaseKey("apps/web")]
    assert web.timeout_sec == 30


def test_a_moved_file_keeps_its_positions_under_its_new_name(tmp_path: Path) -> None:
    root = write_repository(tmp_path / "repo", {"releases/streaming/kafka.yaml": FULL_RELEASE})
    cache = tmp_path / "cache"
    load_repository(root, cache_dir=cache)
    (root / "releases/streaming/kafka.yaml").rename(root / "releases/kafka.yaml")
    kafka = load_repository(root, cache_dir=cache).releases[ReleaseKey("streaming/kafka")]
    assert kafka.source.file == "releases/kafka.yaml"
    assert kafka.source.position(("chartPath",)).line == 7
    assert len(entries(cache)) == 1


def test_other_read_limits_do_not_find_the_entry(tmp_path: Path) -> None:
    root = write_repository(tmp_path / "repo", {"releases/web.yaml": release("web")})
    cache = tmp_path / "cache"
    load_repository(root, cache_dir=cache)
    tight = load_repository(root, cache_dir=cache, limits=YamlLimits(max_depth=1))
    found = [(d.file, d.message) for d in tight.diagnostics if d.file.startswith("releases/")]
    assert found == [("releases/web.yaml", "nested deeper than 1 levels")]


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param('{"data": ', id="cut-short"),
        pytest.param("null", id="null"),
        pytest.param('{"data": {}, "format": "harmonia"}', id="no-nodes"),
        pytest.param('{"data": [], "format": "harmonia", "nodes": []}', id="data-not-a-mapping"),
        pytest.param('{"data": {}, "format": "helm", "nodes": []}', id="unknown-format"),
        pytest.param('{"data": {}, "format": "walm", "nodes": [[["name"]]]}', id="short-node"),
    ],
)
def test_an_entry_that_cannot_be_read_back_is_a_miss(tmp_path: Path, stored: str) -> None:
    root = write_repository(tmp_path / "repo", {"releases/web.yaml": release("web")})
    cache = tmp_path / "cache"
    expected = load_repository(root, cache_dir=cache)
    [entry] = entries(cache)
    entry.write_text(stored)
    assert load_repository(root, cache_dir=cache) == expected


def test_a_cache_folder_that_cannot_be_written_costs_time_not_the_load(tmp_path: Path) -> None:
    root = write_repository(tmp_path / "repo", FILES)
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be\n")
    assert load_repository(root, cache_dir=blocked) == load_repository(root)
