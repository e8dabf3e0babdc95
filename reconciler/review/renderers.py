"""A review as people and programs read it: a pull-request comment (Markdown), plain
text for a terminal, and JSON.

The last step of `harmonia diff`: the CLI prints what these return. Pure functions of a
`Review`; diffs arrive with Secret values already masked, and outputs' values are never
carried, so nothing here can print a secret.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

from reconciler.diff.changeset import Action
from reconciler.review.model import (
    NOT_RENDERED,
    ReleaseChange,
    ReleaseReview,
    ResourceDelta,
    Review,
    RevisionName,
)

COMMENT_MARKER = "<!-- harmonia-diff -->"
"""The comment's first line, so a CI job can find and replace its previous comment."""

MARKDOWN_BUDGET = 60_000
"""Characters of Markdown before diffs are left out (GitHub refuses comments over 65,536)."""
MARKDOWN_LIMIT = 64_000
"""Characters of Markdown past which table rows, problems and release sections are left
out (said so, with a count): GitHub refuses a comment over 65,536, and a thousand
releases (five environments of them even more) make a table, and sections, far longer."""
LEFT_OUT = "the comment would pass GitHub's size limit; run the same `harmonia diff` locally"

_COUNTED = (Action.CREATED, Action.CONFIGURED, Action.DELETED)


def render_json(review: Review) -> str:
    return json.dumps(review.to_json(), indent=2) + "\n"


def render_text(review: Review) -> str:
    """What a terminal shows: problems, then per release a header line and its diffs.

    Empty when nothing differs and nothing is wrong, as `git diff` prints nothing.
    """
    shown = [item for item in review.releases if item.change is not ReleaseChange.UNCHANGED]
    if not shown and not review.diagnostics:
        return ""
    lines = [f"# base {review.base}, head {review.head}"]
    lines.extend(item.render() for item in review.diagnostics)
    for item in shown:
        lines.extend(release_text(item))
    total = review.resources
    if total is not None and total.changed:
        lines.append(f"# requests: {_resource_words(total, with_sides=True)}")
    return "\n".join(lines) + "\n"


def release_text(item: ReleaseReview, *, where: str = "") -> list[str]:
    """A release's lines in the text review: its header (`where` after its name, as
    " in dev, prod"), why it changes, its warnings and its diffs."""
    lines = [f"# release {item.release}{where}: {headline(item)}"]
    if sentence := fan_out_sentence(item):
        lines.append(f"# {sentence}")
    lines.extend(f"# warning: {warning}" for warning in item.warnings)
    lines.extend(
        change.diff_text.rstrip("\n")
        for change in item.objects.changes
        if change.is_change and change.diff_text
    )
    return lines


def render_markdown(
    review: Review, *, budget: int = MARKDOWN_BUDGET, limit: int = MARKDOWN_LIMIT
) -> str:
    """A pull-request comment: heading, summary table, validation problems, then one
    collapsible section per release with its diffs and why it changes. Diffs are left out
    past `budget`; past shares of `limit`, table rows (at half), problems (at three
    quarters) and sections (at `limit`) are, each with a line saying how many."""
    parts = [
        COMMENT_MARKER,
        heading(review.base, review.head),
        _summary(review),
    ]
    shown = [item for item in review.releases if item.change is not ReleaseChange.UNCHANGED]
    if shown:
        parts.extend(_table(review, shown, limit // 2 - markdown_length(parts)))
    if review.diagnostics:
        parts.append(_diagnostics(review, limit * 3 // 4 - markdown_length(parts)))
    length, left_out = sum(len(part) for part in parts), 0
    for item in shown:
        section = release_section(item, diffs=True)
        if length + len(section) > budget:
            section = release_section(item, diffs=False)
        if length + len(section) > limit:
            left_out += 1
            continue
        parts.append(section)
        length += len(section)
    if left_out:
        parts.append(f"_{left_out} more release sections left out: {LEFT_OUT}._")
    if review.notes:
        parts.append("<sub>" + html.escape(" · ".join(review.notes)) + "</sub>")
    return "\n\n".join(parts) + "\n"


def fan_out_sentence(item: ReleaseReview, *, code: Callable[[str], str] = str) -> str:
    """`kafka changes because the outputs of zookeeper change (...)`, or "" when no
    dependency's outputs changed what the release received."""
    if item.change is not ReleaseChange.CHANGED or not item.dependencies:
        return ""
    causes = "; ".join(
        f"the outputs of {code(dependency.release)} change "
        f"({', '.join(code(key) for key in dependency.outputs)})"
        for dependency in item.dependencies
    )
    own = "its own request changed too" if item.request_changed else "its own file did not change"
    return f"{code(item.release)} changes because {causes}; {own}."


def _summary(review: Review) -> str:
    counts = {change: 0 for change in ReleaseChange}
    for item in review.releases:
        counts[item.change] += 1
    changing = [
        f"{counts[change]} {change.value}"
        for change in (ReleaseChange.ADDED, ReleaseChange.CHANGED, ReleaseChange.REMOVED)
        if counts[change]
    ]
    problems = [
        f"{counts[change]} {change.value}"
        for change in (ReleaseChange.INVALID, ReleaseChange.FAILED, ReleaseChange.BLOCKED)
        if counts[change]
    ]
    if changing:
        text = f"**{', '.join(changing)}**; {counts[ReleaseChange.UNCHANGED]} unchanged."
    elif problems:
        text = "**No differences** among the releases that render."
    else:
        text = "**No differences**: every release renders the same at both sides."
    if problems:
        text += f" Not rendered at the head: {', '.join(problems)}."
    if review.failed:
        text += " :x: The head does not pass validation or does not render."
    return text


def _table(review: Review, shown: list[ReleaseReview], room: int) -> list[str]:
    """The table, its rows cut to `room` characters, then the line saying how many were."""
    with_resources = review.resources is not None
    header = ["release", "change", "objects +/~/-"]
    if with_resources:
        header += ["CPU (cores)", "memory (MiB)", "storage (GiB)"]
    rows = [table_row(header), table_row(["---", "---", "---"] + ["---:"] * (len(header) - 3))]
    releases = []
    for item in shown:
        cells = [f"`{item.release}`", table_cell(_change_words(item)), object_counts([item])]
        if with_resources:
            cells += _resource_cells(item.resources, with_sides=False)
        releases.append(table_row(cells))
    kept, gone = fitting(releases, room)
    rows.extend(kept)
    if len(shown) > 1 or with_resources:
        cells = ["**total**", "", object_counts(review.releases)]
        if with_resources:
            cells += _resource_cells(review.resources, with_sides=True)
        rows.append(table_row(cells))
    table = "\n".join(rows)
    return (
        [table, f"_{gone} more releases left out of this table: {LEFT_OUT}._"] if gone else [table]
    )


def _diagnostics(review: Review, room: int) -> str:
    errors = any(item.is_error for item in review.diagnostics)
    title = "Validation errors" if errors else "Validation warnings"
    lines, gone = fitting([item.render() for item in review.diagnostics], room)
    if gone:
        lines.append(f"... {gone} more problems left out: {LEFT_OUT}")
    body = "\n".join(lines)
    return f"#### {title}\n\n{fenced(body, 'text')}"


def markdown_length(parts: list[str]) -> int:
    """The length of `parts` joined as the comment joins them (a blank line between)."""
    return sum(len(part) + 2 for part in parts)


def fitting(lines: list[str], room: int) -> tuple[list[str], int]:
    """The first of `lines` that fit in `room` characters, and how many did not."""
    kept: list[str] = []
    for line in lines:
        room -= len(line) + 1
        if room < 0:
            break
        kept.append(line)
    return kept, len(lines) - len(kept)


def release_section(item: ReleaseReview, *, diffs: bool) -> str:
    opened = " open" if item.change in NOT_RENDERED else ""
    summary = f"<code>{html.escape(item.release)}</code>: {html.escape(headline(item))}"
    body = []
    if sentence := fan_out_sentence(item, code=lambda text: f"`{text}`"):
        body.append(sentence)
    if item.message and item.change in NOT_RENDERED:
        body.append(fenced(item.message, "text"))
    elif item.message:
        body.append(f"_{html.escape(item.message)}_")
    body.extend(f"> :warning: {html.escape(warning)}" for warning in item.warnings)
    texts = [
        change.diff_text for change in item.objects.changes if change.is_change and change.diff_text
    ]
    if texts and diffs:
        body.append(fenced("".join(texts), "diff"))
    elif texts:
        body.append(
            "_Diffs left out: the comment would pass GitHub's size limit. "
            "Run the same `harmonia diff` locally to see them._"
        )
    inner = "\n\n".join(body)
    return f"<details{opened}><summary>{summary}</summary>\n\n{inner}\n\n</details>"


def headline(item: ReleaseReview) -> str:
    counts = ", ".join(
        f"{item.objects.counts[action]} {action.value}"
        for action in _COUNTED
        if item.objects.counts[action]
    )
    words = _change_words(item)
    if item.change in NOT_RENDERED:
        return words
    resources = item.resources
    extra = f"; requests {_resource_words(resources)}" if resources and resources.changed else ""
    return f"{words}: {counts or 'no objects'}{extra}"


def _change_words(item: ReleaseReview) -> str:
    cause = item.cause
    return f"{item.change.value} ({cause})" if cause else item.change.value


def object_counts(items: tuple[ReleaseReview, ...] | list[ReleaseReview]) -> str:
    created, configured, deleted = (
        sum(item.objects.counts[action] for item in items) for action in _COUNTED
    )
    return f"+{created} ~{configured} -{deleted}"


def _signed(value: float) -> str:
    return f"{value:+g}" if value else "0"


def _resource_cells(delta: ResourceDelta | None, *, with_sides: bool) -> list[str]:
    if delta is None:
        return ["?", "?", "?"]
    pairs = (
        (delta.cpu_cores, delta.base.requests.cpu_cores, delta.head.requests.cpu_cores),
        (delta.memory_mib, delta.base.requests.memory_mib, delta.head.requests.memory_mib),
        (delta.storage_gib, delta.base.storage_gib, delta.head.storage_gib),
    )
    return [
        f"{_signed(change)} ({before:g} → {after:g})" if with_sides else _signed(change)
        for change, before, after in pairs
    ]


def _resource_words(delta: ResourceDelta, *, with_sides: bool = False) -> str:
    cpu, memory, storage = _resource_cells(delta, with_sides=with_sides)
    return f"CPU {cpu} cores, memory {memory} MiB, storage {storage} GiB"


def table_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table_cell(text: str) -> str:
    return html.escape(text).replace("|", "\\|").replace("\n", " ")


def heading(base: RevisionName, head: RevisionName) -> str:
    """The comment's title, naming both sides as code: a branch name is the pull
    request's author's, and Git allows backticks, `<details>` and `@org/team` in it."""
    return f"### Harmonia diff: {code_span(str(base))} → {code_span(str(head))}"


def code_span(text: str) -> str:
    """`text` as inline code, in backticks outnumbering any run of them inside it: no
    Markdown, HTML or mention in it takes effect."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    if not longest:
        return f"`{text}`"
    ticks = "`" * (longest + 1)
    return f"{ticks} {text} {ticks}"


def fenced(text: str, info: str) -> str:
    """`text` in a code fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text.rstrip("\n")
    return f"{fence}{info}\n{body}\n{fence}"
