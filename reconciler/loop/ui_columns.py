"""The releases page's Revision and Age cells, from the API's summary of a release.

Pure: the caller passes the time in. A revision links to its commit on the forge only when
the API gave a `revisionUrl` (an http(s) address the catalog made from the remote URL,
without credentials); the age is short (`5m`, `3h`, `2d`), the exact time in a `<time>`.
`html.escape` quotes by default, so its text is safe in a quoted attribute too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from reconciler.types import JsonObject, JsonValue

_SHOWN_REVISION = 12
_UNITS = (("d", 86_400), ("h", 3_600), ("m", 60))


def short_age(since: timedelta) -> str:
    """`since` in its largest whole unit: `42s`, `5m`, `3h`, `2d`; a time in the future
    (a clock ahead of this one) is `0s`."""
    seconds = max(int(since.total_seconds()), 0)
    for unit, length in _UNITS:
        if seconds >= length:
            return f"{seconds // length}{unit}"
    return f"{seconds}s"


def age_cell(summary: JsonObject, now: datetime) -> str:
    """The Age cell: since the release was installed (else last applied), the exact times
    in the `<time>`'s `datetime` and title; blank when neither is known or readable."""
    installed, applied = _time(summary.get("installed")), _time(summary.get("lastApplied"))
    since = installed or applied
    if since is None:
        return '<td class="age"></td>'
    stamp = str(summary.get("installed") if installed else summary.get("lastApplied"))
    said = [f"installed {summary.get('installed')}"] if installed else []
    said += [f"last applied {summary.get('lastApplied')}"] if applied else []
    return (
        f'<td class="age"><time datetime="{escape(stamp)}" title="{escape("; ".join(said))}">'
        f"{short_age(now - since)}</time></td>"
    )


def revision_cell(summary: JsonObject) -> str:
    """The Revision cell: its first characters, the whole in the title, linked to the
    commit's page when the API gave one."""
    revision = "" if summary.get("revision") is None else str(summary.get("revision"))
    shown = escape(revision[:_SHOWN_REVISION])
    url = summary.get("revisionUrl")
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        shown = f'<a href="{escape(url)}" rel="noopener noreferrer">{shown}</a>'
    return f'<td class="revision" title="{escape(revision)}">{shown}</td>'


def _time(value: JsonValue) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
