"""A review over environments as people and programs read it: the pull-request comment
(Markdown), text and JSON, grouped by environment.

Written to stay readable with five environments: the comment opens with a table release
x environment, then one heading per group of environments, a change that is the same in
several environments said once under "Same in dev, staging, prod", each release's diffs
collapsed (`<details>`). Pure functions of an `EnvironmentReviews`; the per-release parts
are `renderers`', so a release reads as it does without environments.
"""

from __future__ import annotations

import html
import json

from reconciler.review.environments import EnvironmentReviews, SharedChange
from reconciler.review.model import ReleaseChange, ReleaseReview
from reconciler.review.renderers import (
    COMMENT_MARKER,
    LEFT_OUT,
    MARKDOWN_BUDGET,
    MARKDOWN_LIMIT,
    fenced,
    fitting,
    heading,
    markdown_length,
    object_counts,
    release_section,
    release_text,
    table_cell,
    table_row,
)

NOT_IN_ENVIRONMENT = "—"
"""A table cell for a release the environment does not have (absent, or no file)."""


def render_environments_json(reviews: EnvironmentReviews) -> str:
    return json.dumps(reviews.to_json(), indent=2) + "\n"


def render_environments_text(reviews: EnvironmentReviews) -> str:
    """Problems, then per release and group of environments a header and its diffs;
    empty when nothing differs anywhere and nothing is wrong."""
    shared = reviews.shared_changes()
    problems = reviews.diagnostics()
    if not shared and not problems:
        return ""
    lines = [f"# base {reviews.base}, head {reviews.head}"]
    lines.extend(_in(found, reviews.environments, text=item.render()) for item, found in problems)
    for change in shared:
        lines.extend(release_text(change.review, where=f" in {', '.join(change.environments)}"))
    return "\n".join(lines) + "\n"


def render_environments_markdown(
    reviews: EnvironmentReviews, *, budget: int = MARKDOWN_BUDGET, limit: int = MARKDOWN_LIMIT
) -> str:
    """The comment: heading, summary, the release x environment table, validation
    problems, then per group of environments its releases' collapsed sections. Diffs are
    left out past `budget`; past shares of `limit`, table rows (at half), problems (at
    three quarters) and sections (at `limit`) are, each with a line saying how many."""
    names = reviews.environments
    parts = [
        COMMENT_MARKER,
        heading(reviews.base, reviews.head),
        _summary(reviews),
    ]
    table = reviews.fan_out()
    if table:
        rows = [
            table_row([f"`{key}`", *(_cell(cells.get(name)) for name in names)])
            for key, cells in table.items()
        ]
        kept, gone = fitting(rows, limit // 2 - markdown_length(parts))
        header = [table_row(["release", *names]), table_row(["---"] * (len(names) + 1))]
        parts.append("\n".join([*header, *kept]))
        if gone:
            parts.append(f"_{gone} more releases left out of this table: {LEFT_OUT}._")
    if problems := reviews.diagnostics():
        errors = any(item.is_error for item, _found in problems)
        lines, gone = fitting(
            [_in(found, names, text=item.render()) for item, found in problems],
            limit * 3 // 4 - markdown_length(parts),
        )
        if gone:
            lines.append(f"... {gone} more problems left out: {LEFT_OUT}")
        title = "Validation errors" if errors else "Validation warnings"
        body = "\n".join(lines)
        parts.append(f"#### {title}\n\n{fenced(body, 'text')}")
    length, left_out = sum(len(part) for part in parts), 0
    for group, changes in _by_group(reviews.shared_changes()).items():
        group_title = f"#### {_group_title(group)}"
        for change in changes:
            section = release_section(change.review, diffs=True)
            if length + len(section) > budget:
                section = release_section(change.review, diffs=False)
            if length + len(group_title) + len(section) > limit:
                left_out += 1
                continue
            if group_title:
                parts.append(group_title)
                length += len(group_title)
                group_title = ""
            parts.append(section)
            length += len(section)
    if left_out:
        parts.append(f"_{left_out} more release sections left out: {LEFT_OUT}._")
    if notes := reviews.notes():
        words = " · ".join(_in(found, names, text=note) for note, found in notes)
        parts.append("<sub>" + html.escape(words) + "</sub>")
    return "\n\n".join(parts) + "\n"


def _summary(reviews: EnvironmentReviews) -> str:
    changing = [
        f"{name}: {sum(item.change is not ReleaseChange.UNCHANGED for item in review.releases)}"
        for name, review in reviews.reviews
    ]
    text = (
        f"**Environments {', '.join(reviews.environments)}**; releases to show per "
        f"environment: {', '.join(changing)}."
    )
    if not reviews.has_changes:
        text += " **No differences** among the releases that render."
    if reviews.failed:
        failing = [name for name, review in reviews.reviews if review.failed]
        text += (
            f" :x: The head does not pass validation or does not render in {', '.join(failing)}."
        )
    return text


def _cell(item: ReleaseReview | None) -> str:
    if item is None:
        return NOT_IN_ENVIRONMENT
    if item.change is ReleaseChange.UNCHANGED:
        return "unchanged"
    counts = "" if item.change not in _COUNTED_CHANGES else f" {object_counts([item])}"
    return table_cell(f"{item.change.value}{counts}")


_COUNTED_CHANGES = frozenset({ReleaseChange.ADDED, ReleaseChange.CHANGED, ReleaseChange.REMOVED})


def _by_group(
    shared: tuple[SharedChange, ...],
) -> dict[tuple[str, ...], list[SharedChange]]:
    """The changes by the environments they are the same in: the widest groups first."""
    groups: dict[tuple[str, ...], list[SharedChange]] = {}
    for change in shared:
        groups.setdefault(change.environments, []).append(change)
    return dict(sorted(groups.items(), key=lambda pair: -len(pair[0])))


def _group_title(group: tuple[str, ...]) -> str:
    if len(group) == 1:
        return f"In {group[0]}"
    return f"Same in {', '.join(group)}"


def _in(found: tuple[str, ...], names: tuple[str, ...], *, text: str) -> str:
    """`text`, prefixed with the environments it holds in unless it holds in all."""
    return text if len(found) == len(names) else f"[{', '.join(found)}] {text}"
