"""The web UI's page of one release, at `releases/<namespace>/<name>`: WALM's release detail.

Pure: `server.py` gives it the API's release detail (already masked, so no Secret value
reaches the page) and serves what `release_page` makes of it: the state and why, the
dependencies with the outputs taken from each, the outputs published, every resource with
its pods, the last pass's change set and diffs, the recent passes and the Events. Every
value is escaped, every URL relative to `ROOT`; `ui_static/release.js` keeps the state,
the message and the Events current from the release's stream.
"""

from __future__ import annotations

import json
import re
from html import escape
from urllib.parse import quote

from reconciler.loop.ui import RELEASE_SCRIPT_PATH, attribute, page, release_address, text_of
from reconciler.types import JsonObject, JsonValue

ROOT = "../../"
"""From `releases/<namespace>/<name>` back to the server's top."""
_NAME = re.compile(r"[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?")
_MAX_NAME = 253


def is_release_name(text: str) -> bool:
    """Shaped like a release's name or namespace (DNS-1123): what the route answers."""
    return len(text) <= _MAX_NAME and _NAME.fullmatch(text) is not None


def release_page(detail: JsonObject) -> str:
    """The page of the release the API's `detail` body describes."""
    key = f"{text_of(detail.get('namespace'))}/{text_of(detail.get('name'))}"
    state = text_of(detail.get("state"))
    stream = f"{ROOT}api/v1/events?release={quote(key, safe='/')}"
    return page(
        f"Release {key}",
        RELEASE_SCRIPT_PATH,
        f"""<h1>{escape(key)}</h1>
<section id="release" data-release="{attribute(key)}" data-events="{attribute(stream)}">
<dl class="facts">
<dt>State</dt><dd id="state" class="state" data-state="{attribute(state)}">{escape(state)}</dd>
<dt>Message</dt><dd id="message">{escape(text_of(detail.get("message")))}</dd>
{_facts(detail)}
</dl>
</section>
{_dependencies(detail)}
{_outputs(detail)}
{_resources(detail)}
{_last_pass(detail)}
{_last_change(detail)}
{_recent_passes(detail)}
{_events(detail)}""",
        root=ROOT,
    )


def missing_release_page(message: str) -> str:
    """The page for a release nobody knows (served with 404), saying why."""
    return page(
        "Release not found",
        RELEASE_SCRIPT_PATH,
        f'<h1>Release not found</h1>\n<p id="missing">{escape(message)}</p>',
        root=ROOT,
    )


def _facts(detail: JsonObject) -> str:
    revision = text_of(detail.get("revision"))
    sync = " · ".join(
        text_of(detail.get(field)) for field in ("outcome", "nextAttempt") if detail.get(field)
    )
    facts = [
        ("Chart", _chart(detail.get("chart"))),
        ("Revision", revision),
        ("Last pass", sync),
        ("Last result", text_of(detail.get("lastResult"))),
        ("Last applied", text_of(detail.get("lastApplied"))),
        ("Ready since", text_of(detail.get("readySince"))),
    ]
    return "\n".join(
        f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>" for name, value in facts if value
    )


def _chart(chart: JsonValue) -> str:
    if not isinstance(chart, dict):
        return text_of(chart)
    return " ".join(text_of(value) for value in chart.values())


def _dependencies(detail: JsonObject) -> str:
    dependencies = _mapping(detail.get("dependencies"))
    if not dependencies:
        return '<h2>Dependencies</h2>\n<p id="dependencies">None.</p>'
    items = []
    for alias, dependency in sorted(dependencies.items()):
        target = _mapping(dependency)
        key = text_of(target.get("release"))
        link = (
            f'<a href="{attribute(release_address(key, ROOT))}">{escape(key)}</a>'
            if "/" in key
            else escape(key or text_of(dependency))
        )
        taken = _mapping(target.get("outputs"))
        items.append(
            f'<li data-release="{attribute(key)}">{link} as <code>{escape(alias)}</code>'
            f"{_pairs(taken, 'outputs taken')}</li>"
        )
    return f'<h2>Dependencies</h2>\n<ul id="dependencies">{"".join(items)}</ul>'


def _outputs(detail: JsonObject) -> str:
    outputs = _mapping(detail.get("outputs"))
    shown = _pairs(outputs, "outputs published") if outputs else "<p>None.</p>"
    return f'<h2>Outputs published</h2>\n<div id="outputs">{shown}</div>'


def _pairs(values: JsonObject, label: str) -> str:
    if not values:
        return ""
    rows = "".join(
        f'<tr><th scope="row">{escape(key)}</th><td><code>{escape(_json_text(value))}'
        "</code></td></tr>"
        for key, value in sorted(values.items())
    )
    return f'<table class="pairs" aria-label="{attribute(label)}">{rows}</table>'


def _resources(detail: JsonObject) -> str:
    rows = []
    for resource in _objects(detail.get("resources")):
        state = text_of(resource.get("state"))
        why = " ".join(
            part for part in (text_of(resource.get("reason")), _bracketed(resource)) if part
        )
        rows.append(
            f'<tr class="resource"><td>{escape(text_of(resource.get("kind")))}</td>'
            f"<td>{escape(text_of(resource.get('name')))}</td>"
            f'<td class="state" data-state="{attribute(state)}">{escape(state)}</td>'
            f"<td>{escape(why)}{_pods(resource)}</td></tr>"
        )
    body = "".join(rows) or '<tr><td colspan="4">No resources recorded.</td></tr>'
    return (
        '<h2>Resources</h2>\n<table id="resources"><thead><tr><th scope="col">Kind</th>'
        '<th scope="col">Name</th><th scope="col">State</th><th scope="col">Reason</th>'
        f"</tr></thead><tbody>{body}</tbody></table>"
    )


def _pods(resource: JsonObject) -> str:
    pods = _objects(resource.get("pods"))
    if not pods:
        return ""
    items = []
    for pod in pods:
        words = [text_of(pod.get(field)) for field in ("state", "reason") if pod.get(field)]
        restarts = pod.get("restarts")
        if restarts:
            words.append(f"{text_of(restarts)} restarts")
        items.append(
            f'<li class="pod"><code>{escape(text_of(pod.get("name")))}</code> '
            f"{escape(text_of(pod.get('ready')))} {escape(', '.join(words))}"
            f"{_bracketed(pod)}</li>"
        )
    return f'<ul class="pods">{"".join(items)}</ul>'


def _bracketed(item: JsonObject) -> str:
    message = text_of(item.get("message"))
    return f"({escape(message)})" if message else ""


def _last_pass(detail: JsonObject) -> str:
    last = _mapping(detail.get("lastPass"))
    if not last:
        return '<h2>Last pass</h2>\n<p id="last-pass">No pass over it yet.</p>'
    changes = _mapping(last.get("changes"))
    items = "".join(_change(change) for change in _objects(changes.get("changes")))
    listing = f'<ul class="changes">{items}</ul>' if items else ""
    head = _pass_head(last, changes)
    return f'<h2>Last pass</h2>\n<div id="last-pass"><p>{escape(head)}</p>{listing}</div>'


def _last_change(detail: JsonObject) -> str:
    """The last pass that changed objects: what it created, configured or deleted, each
    with its masked diff (the last pass, often one that found nothing to do, may not)."""
    last = _mapping(detail.get("lastChange"))
    if not last:
        return '<h2>Last change</h2>\n<p id="last-change">None since this reconciler started.</p>'
    changes = _mapping(last.get("changes"))
    items = "".join(
        _change(change)
        for change in _objects(changes.get("changes"))
        if change.get("action") in _CHANGING
    )
    when = f"{text_of(last.get('time'))}, revision {text_of(last.get('revision'))[:12]}"
    head = f"{when}: {_pass_head(last, changes)}"
    return (
        f'<h2>Last change</h2>\n<div id="last-change"><p>{escape(head)}</p>'
        f'<ul class="changes">{items}</ul></div>'
    )


_CHANGING = ("created", "configured", "deleted")


def _pass_head(report: JsonObject, changes: JsonObject) -> str:
    """`Applied · 1 created, 2 unchanged · why`."""
    counts = ", ".join(
        f"{text_of(count)} {action}"
        for action, count in _mapping(changes.get("counts")).items()
        if count
    )
    parts = (text_of(report.get("outcome")), counts, text_of(report.get("message")))
    return " · ".join(part for part in parts if part)


def _change(change: JsonObject) -> str:
    action = text_of(change.get("action"))
    line = (
        f'<span class="action" data-action="{attribute(action)}">{escape(action)}</span> '
        f"{escape(text_of(change.get('subject')))}: {escape(text_of(change.get('reason')))}"
    )
    diff = change.get("diff")
    if not isinstance(diff, str) or not diff:
        return f"<li>{line}</li>"
    return f"<li><details><summary>{line}</summary><pre>{escape(diff)}</pre></details></li>"


def _recent_passes(detail: JsonObject) -> str:
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(text_of(line.get(field)))}</td>"
            for field in ("time", "revision", "outcome", "seconds", "message")
        )
        + "</tr>"
        for line in _objects(detail.get("recentPasses"))
    )
    body = rows or '<tr><td colspan="5">None since this reconciler started.</td></tr>'
    return (
        '<h2>Recent passes</h2>\n<table id="passes"><thead><tr><th scope="col">Time</th>'
        '<th scope="col">Revision</th><th scope="col">Outcome</th><th scope="col">Seconds</th>'
        f'<th scope="col">Message</th></tr></thead><tbody>{body}</tbody></table>'
    )


def _events(detail: JsonObject) -> str:
    rows = "".join(
        f'<tr data-type="{attribute(text_of(event.get("type")))}">'
        + "".join(
            f"<td>{escape(text_of(event.get(field)))}</td>"
            for field in ("time", "type", "reason", "object", "message")
        )
        + "</tr>"
        for event in _objects(detail.get("events"))
    )
    problem = detail.get("eventsProblem")
    note = f'<p id="events-problem">{escape(text_of(problem))}</p>\n' if problem else ""
    return (
        f"<h2>Events</h2>\n{note}"
        '<table id="events"><thead><tr><th scope="col">Time</th><th scope="col">Type</th>'
        '<th scope="col">Reason</th><th scope="col">Object</th><th scope="col">Message</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def _json_text(value: JsonValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, dict | list) else text_of(value)


def _mapping(value: JsonValue) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _objects(value: JsonValue) -> list[JsonObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
