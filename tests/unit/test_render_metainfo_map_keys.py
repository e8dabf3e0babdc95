"""`mapKey` and `mapkey` (both occur in WALM's charts) in every place a metainfo maps a
field to a values path: role base config, others, resources, storage, params."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.render.values.metainfo import ChartMetaInfo, MetaInfoError, read_metainfo
from tests.unit.test_render_metainfo import write_chart

TEMPLATE = """\
friendlyName: Kafka
roles:
  - name: kafka
    baseConfig:
      replicas: {{{key}: kafka.replicas}}
      others:
        - {{name: log_level, {key}: kafka.logLevel}}
    resources:
      limitsCpu: {{{key}: kafka.resources.cpu}}
      storageResources:
        - {{name: data, {key}: kafka.storage.data, {size_key}: kafka.storage.size}}
params:
  - {{name: retention, {key}: kafka.retention}}
"""


def read(tmp_path: Path, text: str) -> ChartMetaInfo:
    found = read_metainfo(write_chart(tmp_path, text))
    assert found is not None
    return found


@pytest.mark.parametrize(("key", "size_key"), [("mapKey", "sizeMapKey"), ("mapkey", "sizemapkey")])
def test_both_spellings_map_every_field_to_its_values_path(
    tmp_path: Path, key: str, size_key: str
) -> None:
    metainfo = read(tmp_path, TEMPLATE.format(key=key, size_key=size_key))
    role = metainfo.role("kafka")
    assert role is not None
    assert [(f.name, f.path) for f in role.base_config] == [("replicas", ("kafka", "replicas"))]
    assert [(f.name, f.path) for f in role.others] == [("log_level", ("kafka", "logLevel"))]
    assert [(f.name, f.path) for f in role.resources] == [
        ("limitsCpu", ("kafka", "resources", "cpu"))
    ]
    (storage,) = role.storage
    assert (storage.path, storage.size_path) == (
        ("kafka", "storage", "data"),
        ("kafka", "storage", "size"),
    )
    assert [(f.name, f.path) for f in metainfo.params] == [("retention", ("kafka", "retention"))]


def test_both_spellings_with_the_same_path_are_accepted(tmp_path: Path) -> None:
    text = "friendlyName: X\nparams:\n  - {name: a, mapKey: x.y, mapkey: x.y}\n"
    assert read(tmp_path, text).params[0].path == ("x", "y")


def test_both_spellings_with_different_paths_are_an_error_at_the_line(tmp_path: Path) -> None:
    text = (
        "friendlyName: X\nroles:\n  - name: web\n    baseConfig:\n"
        "      image: {mapKey: image, mapkey: web.image}\n"
    )
    with pytest.raises(MetaInfoError) as caught:
        read(tmp_path, text)
    assert ":5:" in str(caught.value)
    assert "mapKey and mapkey differ" in str(caught.value)
