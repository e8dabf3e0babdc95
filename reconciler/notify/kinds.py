"""Which alert a release's state change is: the kinds receivers filter on, and the memory
that tells a recovery from a release that was simply Ready.

A small state machine fed the state changes in the order the loop said them (the
dispatcher's one thread does): it remembers, per release, whether it is in a bad spell
and which spell, so the same failure keeps one identity pass after pass and a failure
after a recovery gets a new one. Pure: no clock, no I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from reconciler.notify.model import StateChange
from reconciler.types import ReleaseKey


class AlertKind(StrEnum):
    FAILED = "Failed"
    RECOVERED = "Recovered"
    BLOCKED = "Blocked"
    DRIFT_CORRECTED = "DriftCorrected"
    PRUNED = "Pruned"
    PAUSED = "Paused"
    RESUMED = "Resumed"
    SECRET_WARNING = "SecretWarning"


DIRECT_KINDS = {
    "Failed": AlertKind.FAILED,
    "Invalid": AlertKind.FAILED,
    "Degraded": AlertKind.FAILED,
    "Blocked": AlertKind.BLOCKED,
    "DriftCorrected": AlertKind.DRIFT_CORRECTED,
    "Removed": AlertKind.PRUNED,
    "Paused": AlertKind.PAUSED,
    "Resumed": AlertKind.RESUMED,
    "SecretWarning": AlertKind.SECRET_WARNING,
}
"""The contract's state words that are an alert by themselves (Ready may be Recovered;
Applied, Progressing and RemovalWithheld are none)."""

BAD_STATES = frozenset({"Failed", "Invalid", "Degraded", "Blocked"})
"""States a later Ready recovers from."""


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    change: StateChange
    identity: str
    """The same for the same news said again (a failure pass after pass at one revision),
    different for new news (the release failed again after it recovered): receivers'
    delivery keys are built on it, and the dispatcher sends a key once."""


@dataclass
class _Spell:
    number: int = 0
    """How many bad spells the release has had since this process began."""
    bad: bool = False


class AlertTracker:
    """The alert, if any, that each state change is; fed in order, one release's changes
    after another's in any interleaving."""

    def __init__(self) -> None:
        self._spells: dict[ReleaseKey, _Spell] = {}

    def observe(self, change: StateChange) -> Alert | None:
        spell = self._spells.setdefault(change.release, _Spell())
        release = change.release
        if change.state in BAD_STATES:
            if not spell.bad:
                spell.number += 1
                spell.bad = True
            kind = DIRECT_KINDS[change.state]
            # One alert per kind, spell and revision: a new commit that still fails is news.
            return Alert(kind, change, f"{release}|{kind}|{spell.number}|{change.revision}")
        if change.state == "Ready":
            if not spell.bad:
                return None
            spell.bad = False
            return Alert(AlertKind.RECOVERED, change, f"{release}|Recovered|{spell.number}")
        if change.state == "Removed":
            del self._spells[release]
            return Alert(AlertKind.PRUNED, change, f"{release}|Pruned|{change.revision}")
        other = DIRECT_KINDS.get(change.state)
        if other in (AlertKind.PAUSED, AlertKind.RESUMED):
            # Said by the watches once per transition only: each one is news.
            return Alert(other, change, f"{release}|{other}|{change.time.isoformat()}")
        if other is not None:
            # A hand edit put back or a value outside a Secret: news once per revision
            # and what was said (the objects or the field), not at every pass.
            digest = hashlib.sha256(change.reason.encode("utf-8", "replace")).hexdigest()[:16]
            return Alert(other, change, f"{release}|{other}|{change.revision}|{digest}")
        return None
