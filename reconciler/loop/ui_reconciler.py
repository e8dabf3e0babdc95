"""The web UI's reconciler page: who leads, the last and the next pass, the errors, and the
webhook and notification deliveries, from the body of `GET /api/v1/reconciler`.

Pure: `server.py` asks the API's provider (the journal of `loop_journal.py`, masked where it
is written) and serves what `reconciler_page` makes of it; None, when the server runs
without a loop, makes a page that says so. Each value sits in an element naming its place in
the body (`data-field="lastPass.revision"`, `data-list="hooks"`), so that
`ui_static/reconciler.js` can refresh the page from the same body, formatted the same way
(`shown`), without a reload.
"""

from __future__ import annotations

from html import escape

from reconciler.loop.ui import RECONCILER_SCRIPT_PATH, attribute, page
from reconciler.types import JsonObject, JsonValue

API_PATH = "api/v1/reconciler"
"""Relative: the page may sit under a proxy's path prefix."""
FIELDS = (
    ("Leadership", (("This instance", "instance"), ("Leads", "leading"))),
    (
        "Lease",
        (
            ("Holder", "lease.holder"),
            ("Held since", "lease.acquired"),
            ("Renewed", "lease.renewed"),
            ("Transitions", "lease.transitions"),
            ("Read error", "lease.error"),
        ),
    ),
    (
        "Last pass",
        (
            ("Revision", "lastPass.revision"),
            ("Why", "lastPass.why"),
            ("Started", "lastPass.started"),
            ("Finished", "lastPass.finished"),
            ("Seconds", "lastPass.seconds"),
            ("Outcomes", "lastPass.outcomes"),
            ("Applied", "lastPass.applied"),
            ("Problem", "lastPass.problem"),
        ),
    ),
    (
        "Next pass",
        (
            ("At", "nextPass.at"),
            ("Why", "nextPass.why"),
            ("Pass under way since", "running.since"),
            ("Under way because of", "running.why"),
        ),
    ),
)
"""The page's scalar values: (section, ((label, path in the body), ...))."""
LISTS = (
    ("Releases not applied", "lastPass.notApplied", ("release", "outcome", "message")),
    ("Errors", "errors", ("time", "subject", "message")),
    ("Webhook deliveries", "hooks", ("time", "provider", "event", "status", "answer")),
    ("Notifications", "notifications", ("time", "receiver", "result")),
)
"""The page's tables: (title, path of a list in the body, the columns of each item)."""
NO_LOOP = (
    "This server runs without a reconcile loop (for example `harmonia ui`): there is no "
    "leader, pass or delivery to show."
)


def shown(value: JsonValue) -> str:
    """A body value as page text, as `reconciler.js` shows it: null blank, a list and a map
    joined with commas, a boolean yes or no."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(shown(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key} {shown(item)}" for key, item in value.items())
    return str(value)


def found(body: JsonObject, path: str) -> JsonValue:
    """The value at `path` (dotted keys) in `body`; None where a step is missing."""
    value: JsonValue = body
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def reconciler_page(body: JsonObject | None) -> str:
    """The reconciler page for the API's `body`; None: the server runs no loop."""
    if body is None:
        return page(
            "Reconciler",
            RECONCILER_SCRIPT_PATH,
            f'<h1>Reconciler</h1>\n<p id="no-loop">{escape(NO_LOOP)}</p>',
        )
    sections = "\n".join(_fields(title, fields, body) for title, fields in FIELDS)
    tables = "\n".join(_table(title, path, columns, body) for title, path, columns in LISTS)
    return page(
        "Reconciler",
        RECONCILER_SCRIPT_PATH,
        f"""<h1>Reconciler</h1>
<div id="reconciler" data-source="{attribute(API_PATH)}" data-events="api/v1/events">
{sections}
{tables}
</div>
<p id="refreshed" aria-live="polite"></p>""",
    )


def _fields(title: str, fields: tuple[tuple[str, str], ...], body: JsonObject) -> str:
    rows = "".join(
        f'<dt>{escape(label)}</dt><dd data-field="{attribute(path)}">'
        f"{escape(shown(found(body, path)))}</dd>"
        for label, path in fields
    )
    return f"<section><h2>{escape(title)}</h2><dl>{rows}</dl></section>"


def _table(title: str, path: str, columns: tuple[str, ...], body: JsonObject) -> str:
    items = found(body, path)
    listed = [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
    head = "".join(f'<th scope="col">{escape(column)}</th>' for column in columns)
    rows = [
        "<tr>"
        + "".join(f"<td>{escape(shown(item.get(column)))}</td>" for column in columns)
        + "</tr>"
        for item in listed
    ]
    if not rows:
        rows = [f'<tr><td colspan="{len(columns)}">none</td></tr>']
    return (
        f"<section><h2>{escape(title)}</h2><table>"
        f"<thead><tr>{head}</tr></thead>"
        f'<tbody data-list="{attribute(path)}" data-columns="{attribute(" ".join(columns))}">'
        f"{''.join(rows)}</tbody></table></section>"
    )
