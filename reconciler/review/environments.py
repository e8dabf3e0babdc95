"""A change reviewed in every environment: one `Review` per environment, and the fan-out
read from them (which environment a release changes in, and where the change is the
same).

`harmonia diff --base --head` on a repository that declares environments compares the
two revisions once per environment (its overlays, its settings) and hands the reviews
here. A base release change then shows in each environment it lands in: not where an
overlay sets the changed field (the rendering there is unchanged), not where the release
is absent. Pure, no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from reconciler.desired import DesiredState
from reconciler.release_requests import Diagnostic
from reconciler.render.pipeline import RepositoryRender
from reconciler.review.model import ReleaseChange, ReleaseReview, Review, RevisionName
from reconciler.types import JsonObject, ReleaseKey

_T = TypeVar("_T", bound=Hashable)


@dataclass(frozen=True)
class SharedChange:
    """A release's change, the same in each of `environments` (in harmonia.yaml's order)."""

    release: ReleaseKey
    environments: tuple[str, ...]
    review: ReleaseReview
    """The first of these environments' review of the release (the others are equal)."""

    def to_json(self) -> JsonObject:
        return {"release": self.release, "environments": list(self.environments)}


@dataclass(frozen=True)
class EnvironmentReviews:
    """The reviews of one change, per environment, in harmonia.yaml's order."""

    base: RevisionName
    head: RevisionName
    reviews: tuple[tuple[str, Review], ...]

    @property
    def environments(self) -> tuple[str, ...]:
        return tuple(name for name, _review in self.reviews)

    @property
    def has_changes(self) -> bool:
        return any(review.has_changes for _name, review in self.reviews)

    @property
    def failed(self) -> bool:
        return any(review.failed for _name, review in self.reviews)

    @property
    def releases(self) -> tuple[ReleaseReview, ...]:
        """Every environment's releases (a release once per environment it is in)."""
        return tuple(item for _name, review in self.reviews for item in review.releases)

    def fan_out(self) -> dict[ReleaseKey, dict[str, ReleaseReview]]:
        """Release x environment: the releases that change (or do not render) in at least
        one environment, each with its review in every environment it is in."""
        table: dict[ReleaseKey, dict[str, ReleaseReview]] = {}
        for name, review in self.reviews:
            for item in review.releases:
                table.setdefault(item.release, {})[name] = item
        return {
            key: cells
            for key, cells in table.items()
            if any(item.change is not ReleaseChange.UNCHANGED for item in cells.values())
        }

    def shared_changes(self) -> tuple[SharedChange, ...]:
        """Each release's changes, environments with the same change together: a base
        change landing alike in dev, staging and prod is one `SharedChange`."""
        found: list[SharedChange] = []
        for key, cells in self.fan_out().items():
            groups: dict[Hashable, list[str]] = {}
            for name, item in cells.items():
                if item.change is not ReleaseChange.UNCHANGED:
                    groups.setdefault(fingerprint(item), []).append(name)
            found.extend(
                SharedChange(key, tuple(names), cells[names[0]]) for names in groups.values()
            )
        return tuple(found)

    def diagnostics(self) -> tuple[tuple[Diagnostic, tuple[str, ...]], ...]:
        """Each validation problem once, with the environments it is found in."""
        return _once((item, name) for name, review in self.reviews for item in review.diagnostics)

    def notes(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return _once((note, name) for name, review in self.reviews for note in review.notes)

    def to_json(self) -> JsonObject:
        return {
            "base": self.base.to_json(),
            "head": self.head.to_json(),
            "hasChanges": self.has_changes,
            "failed": self.failed,
            "environments": {name: review.to_json() for name, review in self.reviews},
            "sameChanges": [item.to_json() for item in self.shared_changes()],
        }


def without_releases(state: DesiredState) -> DesiredState:
    """A side on which an environment does not exist yet (its `harmonia.yaml` declares
    others): no release, so each of the other side's shows as added (or removed)."""
    loaded = dataclasses.replace(
        state.loaded, releases={}, invalid_releases=frozenset(), diagnostics=()
    )
    return dataclasses.replace(state, loaded=loaded, render=RepositoryRender(), diagnostics=())


def fingerprint(item: ReleaseReview) -> Hashable:
    """What makes two environments' changes of a release the same change: the change, its
    cause and message, the objects' actions and (masked) diffs, the resources."""
    return (
        item.change,
        item.message,
        item.warnings,
        item.cause,
        item.dependencies,
        tuple(
            (str(change.ref), change.action, change.diff_text)
            for change in item.objects.changes
            if change.is_change
        ),
        None if item.resources is None else (item.resources.base, item.resources.head),
    )


def _once(pairs: Iterable[tuple[_T, str]]) -> tuple[tuple[_T, tuple[str, ...]], ...]:
    seen: dict[_T, list[str]] = {}
    for value, name in pairs:
        names = seen.setdefault(value, [])
        if name not in names:
            names.append(name)
    return tuple((value, tuple(names)) for value, names in seen.items())
