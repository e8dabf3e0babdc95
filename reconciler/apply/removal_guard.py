"""The guard on removing releases whose files left Git: which go, and which wait for a person.

A snapshot that lost more than a share of the releases its repository applied is more
likely a broken commit than a wish, so those removals are withheld. The share alone
would let go a pass later (the same commit's new releases, applied meanwhile, dilute
it), so a withheld removal is marked in the release's inventory record and stays
withheld until `confirmRemoval` in harmonia.yaml names the release. Pure: records in,
a decision out; the pass writes the marks and removes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.apply.inventory import InventoryRecord
from reconciler.types import ReleaseKey

CONFIRM_FIELD = "confirmRemoval"


@dataclass(frozen=True)
class RemovalDecision:
    remove: tuple[InventoryRecord, ...]
    """Removed this pass: confirmed, or part of a small enough loss and never withheld."""
    withheld: tuple[InventoryRecord, ...]
    """Kept, each with `removal_withheld` saying why (a mark made now included)."""
    summary: str | None
    """One line for the pass's report and the log; None when nothing is withheld."""
    new_marks: tuple[InventoryRecord, ...] = ()
    """Withheld records whose mark is not in the cluster yet: the caller writes them."""


def decide_removals(
    gone: Sequence[InventoryRecord],
    *,
    owned: int,
    confirmed: frozenset[ReleaseKey],
    max_share: float,
    revision: str,
) -> RemovalDecision:
    """Which of the `gone` releases (this repository's, files missing, the release's
    `prune` on; decided and marked even when the pass does not prune) go.

    `owned` is how many releases the cluster's inventory records say this repository
    applied, counted before the pass. Confirmed releases go and leave the count; of the
    rest, a loss over `max_share` withholds them all, and a release withheld before stays
    so whatever the share is now.
    """
    confirmed_gone = tuple(record for record in gone if record.release in confirmed)
    unconfirmed = [record for record in gone if record.release not in confirmed]
    lost, baseline = len(unconfirmed), max(owned - len(confirmed_gone), 1)
    if lost / baseline > max_share:
        share = f"the snapshot lost {lost} of {baseline} releases (over {max_share:.0%})"
        reason = f"{share} at revision {revision[:12]}"
        withheld = tuple(
            record
            if record.removal_withheld
            else dataclasses.replace(record, removal_withheld=reason)
            for record in unconfirmed
        )
        summary = (
            f"{share}: none removed; check the repository, or list the releases "
            f"to remove under {CONFIRM_FIELD} in harmonia.yaml"
        )
        new_marks = tuple(w for w, r in zip(withheld, unconfirmed, strict=True) if w is not r)
        return RemovalDecision(confirmed_gone, withheld, summary, new_marks)
    withheld = tuple(record for record in unconfirmed if record.removal_withheld)
    remove = (*confirmed_gone, *(record for record in unconfirmed if not record.removal_withheld))
    if not withheld:
        return RemovalDecision(remove, (), None)
    names = ", ".join(sorted(record.release for record in withheld))
    summary = (
        f"{len(withheld)} of the releases whose files left Git stay until "
        f"{CONFIRM_FIELD} in harmonia.yaml names them: {names}"
    )
    return RemovalDecision(remove, withheld, summary)


def withheld_message(record: InventoryRecord) -> str:
    """The release's own words for a withheld removal: the same on every pass, so its
    status file does not change while it waits."""
    return (
        f"its file left Git; its removal is withheld ({record.removal_withheld}) until "
        f"{CONFIRM_FIELD} in harmonia.yaml names {record.release}"
    )
