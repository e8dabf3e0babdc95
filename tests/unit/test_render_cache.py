"""The render cache: what one pass stores the next one finds, even with writers racing."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reconciler.render.cache import MEMORY_ENTRIES, RenderCache, hold_in_memory
from reconciler.render.model import ChartOutput, Hook, KubeObject

KEY = "ab" + "0" * 62


def output(number: int) -> ChartOutput:
    config_map: KubeObject = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"c{number}"},
    }
    job: KubeObject = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"}}
    return ChartOutput(
        objects=(config_map,),
        hooks=(Hook(object=job, events=("pre-install",), weight=number),),
    )


def test_a_stored_output_is_found_again_as_it_was(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path)
    assert cache.get(KEY) is None
    cache.put(KEY, output(1))
    assert RenderCache(tmp_path).get(KEY) == output(1)


def test_writers_racing_on_one_key_leave_one_whole_entry_and_no_temporary_files(
    tmp_path: Path,
) -> None:
    cache = RenderCache(tmp_path)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda number: cache.put(KEY, output(number)), range(64)))
    assert cache.get(KEY) in [output(number) for number in range(64)]
    assert [path.name for path in tmp_path.rglob("*") if path.is_file()] == [f"{KEY}.json"]


def test_a_folder_that_cannot_be_written_stores_nothing_and_finds_nothing(tmp_path: Path) -> None:
    blocked = tmp_path / "render"
    blocked.write_text("a file where the cache folder should be\n")
    cache = RenderCache(blocked)
    cache.put(KEY, output(1))
    assert cache.get(KEY) is None
    assert [path.name for path in tmp_path.iterdir()] == ["render"]


@pytest.mark.parametrize(
    "stored",
    ['{"objects": ', "null", '{"objects": []}', '{"objects": [], "hooks": [{"object": {}}]}'],
)
def test_an_entry_that_cannot_be_read_back_is_a_miss(tmp_path: Path, stored: str) -> None:
    cache = RenderCache(tmp_path)
    cache.put(KEY, output(1))
    [entry] = [path for path in tmp_path.rglob("*") if path.is_file()]
    entry.write_text(stored)
    assert cache.get(KEY) is None


SECRET: KubeObject = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db"},
    "stringData": {"password": "pw-on-disk-4711"},
}


@pytest.mark.parametrize(
    "held",
    [
        ChartOutput(objects=(SECRET,), hooks=()),
        ChartOutput(objects=({"apiVersion": "v1", "kind": "List", "items": [SECRET]},), hooks=()),
        ChartOutput(objects=(), hooks=(Hook(object=SECRET, events=("pre-install",)),)),
    ],
    ids=["secret", "in-a-list", "hook"],
)
def test_an_output_holding_a_secret_stays_in_memory_and_off_the_disk(
    tmp_path: Path, held: ChartOutput
) -> None:
    key = hashlib.sha256(str(tmp_path).encode()).hexdigest()
    RenderCache(tmp_path).put(key, held)

    assert RenderCache(tmp_path).get(key) == held
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p for p in files if b"pw-on-disk-4711" in p.read_bytes()] == []


def test_an_operator_may_keep_outputs_holding_secrets_on_disk(tmp_path: Path) -> None:
    held = ChartOutput(objects=(SECRET,), hooks=())
    RenderCache(tmp_path, secrets_on_disk=True).put("cd" + "1" * 62, held)

    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p for p in files if b"pw-on-disk-4711" in p.read_bytes()]


def test_a_cache_in_another_folder_shares_none_of_the_memory(tmp_path: Path) -> None:
    held = ChartOutput(objects=(SECRET,), hooks=())
    key = "ef" + "2" * 62
    RenderCache(tmp_path / "one").put(key, held)

    assert RenderCache(tmp_path / "one").get(key) == held
    assert RenderCache(tmp_path / "other").get(key) is None


def test_memory_holds_every_output_of_a_repository_larger_than_its_floor(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path)
    releases = MEMORY_ENTRIES + 500
    hold_in_memory(releases)
    try:
        keys = [hashlib.sha256(f"{tmp_path}{n}".encode()).hexdigest() for n in range(releases)]
        for key in keys:
            cache.put(key, ChartOutput(objects=(SECRET,), hooks=()))

        assert all(cache.get(key) is not None for key in keys)
    finally:
        hold_in_memory(0)
