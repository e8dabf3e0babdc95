"""The request bodies of the alert receivers: a generic JSON webhook (optionally signed),
a Slack incoming webhook, a Microsoft Teams incoming webhook (or Workflows) card.

Pure: an alert in, bytes out. Every text comes from the state change, whose reason the
event bus has masked already; nothing here adds a value of the release.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC

from reconciler.notify.kinds import Alert
from reconciler.types import JsonObject, JsonValue, split_release_key

SIGNATURE_HEADER = "X-Harmonia-Signature"
"""`sha256=<hex>`: HMAC-SHA256 of the exact body with the receiver's key."""

TEXT_LIMIT = 2000
"""Characters of a reason in a chat message (Slack truncates a section's text at 3000)."""


def _encoded(body: JsonObject) -> bytes:
    """UTF-8, a character it cannot encode as `?`: a reason may quote a file name that is
    not UTF-8, which Python holds as surrogate escapes."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "replace")


def _time(alert: Alert) -> str:
    return alert.change.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _headline(alert: Alert) -> str:
    return f"Harmonia: release {alert.change.release} {alert.kind}"


def _short_reason(alert: Alert) -> str:
    reason = alert.change.reason
    return reason if len(reason) <= TEXT_LIMIT else reason[: TEXT_LIMIT - 3] + "..."


def webhook_body(alert: Alert) -> bytes:
    """The generic webhook's JSON: the alert's kind, the state the loop said and why."""
    change = alert.change
    namespace, name = split_release_key(change.release)
    labels: dict[str, JsonValue] = dict(sorted(change.labels.items()))
    return _encoded(
        {
            "release": change.release,
            "namespace": namespace,
            "name": name,
            "kind": str(alert.kind),
            "state": change.state,
            "reason": change.reason,
            "revision": change.revision,
            "time": _time(alert),
            "labels": labels,
        }
    )


def signature(body: bytes, key: bytes) -> str:
    """The `X-Harmonia-Signature` value of `body`: the receiver recomputes it with its copy
    of the key and compares with `hmac.compare_digest`."""
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def _slack_escaped(text: str) -> str:
    """Slack's mrkdwn reads `<...>` as links and mentions: the three characters it asks
    to be escaped are (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(alert: Alert) -> bytes:
    """A Slack incoming webhook message (https://api.slack.com/messaging/webhooks): `text`
    for notifications and clients without blocks, a section and a context block."""
    change = alert.change
    headline = _slack_escaped(_headline(alert))
    reason = _slack_escaped(_short_reason(alert))
    context = f"revision {change.revision or 'unknown'} · {_time(alert)}"
    return _encoded(
        {
            "text": f"{headline}: {reason}",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*\n{reason}"}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
            ],
        }
    )


def teams_body(alert: Alert) -> bytes:
    """A Teams message with one Adaptive Card attachment, the shape Microsoft documents
    for incoming webhooks and for the Workflows app's "when a webhook request is
    received" (https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-
    connectors/how-to/connectors-using#send-adaptive-cards-using-an-incoming-webhook)."""
    change = alert.change
    facts: list[JsonValue] = [
        {"title": "Release", "value": change.release},
        {"title": "State", "value": change.state},
        {"title": "Revision", "value": change.revision or "unknown"},
        {"title": "Time", "value": _time(alert)},
    ]
    card: JsonObject = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.2",
        "body": [
            {
                "type": "TextBlock",
                "text": _headline(alert),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {"type": "TextBlock", "text": _short_reason(alert), "wrap": True},
            {"type": "FactSet", "facts": facts},
        ],
    }
    attachment: JsonObject = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": card,
    }
    return _encoded({"type": "message", "attachments": [attachment]})
