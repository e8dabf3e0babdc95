"""One owner per release, the pure parts: who may apply a release its record names, and
which ConfigMap is a release's record at all (a look-alike cannot forge a source)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from reconciler.apply.claim import source_conflict
from reconciler.apply.inventory import (
    HAND_OVER_ANNOTATION,
    InventoryFormatError,
    InventoryRecord,
    record_from_configmap,
)
from reconciler.render.model import KubeObject
from reconciler.render.ownership import OWNER_ANNOTATION
from reconciler.types import ReleaseKey

OWNER = "https://git.example.com/team-a/deploy.git//prod"
NEWCOMER = "https://git.example.com/team-b/deploy.git"
RECORD = InventoryRecord(
    release=ReleaseKey("shop/web"), source=OWNER, revision="abc", input_hash="h", entries=()
)


def configmap(record: InventoryRecord) -> KubeObject:
    return record.to_configmap()


def test_the_owning_source_may_apply_its_release() -> None:
    assert source_conflict(RECORD, source=OWNER) is None


def test_another_source_is_refused_with_the_owner_and_the_way_to_hand_over() -> None:
    message = source_conflict(RECORD, source=NEWCOMER)

    assert message is not None
    assert message.startswith(f"Release shop/web belongs to {OWNER}; this source ({NEWCOMER})")
    assert "nothing was written or deleted" in message
    assert (
        "kubectl -n shop annotate configmap harmonia-inventory-web "
        f"{HAND_OVER_ANNOTATION}={NEWCOMER}"
    ) in message


@pytest.mark.parametrize(
    ("handed_over_to", "refused"), [(NEWCOMER, False), ("someone-else", True), ("", True)]
)
def test_a_hand_over_lets_only_the_source_it_names_take_the_release(
    handed_over_to: str, refused: bool
) -> None:
    record = dataclasses.replace(RECORD, handed_over_to=handed_over_to)

    assert (source_conflict(record, source=NEWCOMER) is not None) is refused


def test_a_record_of_an_older_version_without_a_source_is_claimed_by_the_first_source() -> None:
    older = configmap(RECORD)
    raw = json.loads(older["data"]["inventory.json"])  # type: ignore[index]
    del raw["source"]
    older["data"] = {"inventory.json": json.dumps(raw)}

    record = record_from_configmap(older)

    assert record.source == ""
    assert source_conflict(record, source=NEWCOMER) is None


def test_the_hand_over_annotation_is_read_but_never_written_back() -> None:
    found = configmap(RECORD)
    found["metadata"]["annotations"][HAND_OVER_ANNOTATION] = NEWCOMER  # type: ignore[index]

    record = record_from_configmap(found)

    assert record.handed_over_to == NEWCOMER
    assert record == RECORD  # the annotation alone does not make the record differ
    written = record.to_configmap()
    assert HAND_OVER_ANNOTATION not in written["metadata"]["annotations"]  # type: ignore[index]
    assert "handed_over_to" not in written["data"]["inventory.json"]  # type: ignore[index]


def test_a_look_alike_record_made_by_another_release_is_refused() -> None:
    forged = configmap(dataclasses.replace(RECORD, source=NEWCOMER))
    # Rendering stamps every object with the release that renders it: here shop/other.
    forged["metadata"]["annotations"][OWNER_ANNOTATION] = "shop/other"  # type: ignore[index]

    with pytest.raises(InventoryFormatError) as refused:
        record_from_configmap(forged)

    assert str(refused.value) == (
        "ConfigMap/shop/harmonia-inventory-web: not the inventory record of shop/web "
        "(it belongs to release shop/other); delete or rename it"
    )
