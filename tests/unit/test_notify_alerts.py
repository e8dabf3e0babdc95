"""Alerts, the pure parts: which alert a state change is, receivers' filters, the bodies
of the webhook, Slack and Teams receivers, the HMAC signature, delivery keys, and the
`notifications:` section of the configuration."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.loop.settings import SettingsError, run_settings
from reconciler.notify.alerts import BODIES, AlertSink, Receiver, load_receivers
from reconciler.notify.config import (
    AlertFilter,
    NotificationConfigError,
    RateLimit,
    ReceiverSpec,
    notification_settings,
)
from reconciler.notify.kinds import Alert, AlertKind, AlertTracker
from reconciler.notify.model import StateChange
from reconciler.notify.payloads import signature, slack_body, teams_body, webhook_body
from reconciler.policy import PolicyConfigError, load_policy
from reconciler.types import ReleaseKey

WEB = ReleaseKey("shop/web")
DB = ReleaseKey("data/db")
NOW = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)


def change(
    state: str,
    *,
    release: ReleaseKey = WEB,
    reason: str = "why",
    revision: str | None = "abc123",
    seconds: int = 0,
    labels: dict[str, str] | None = None,
) -> StateChange:
    return StateChange(
        release, state, reason, revision, NOW + timedelta(seconds=seconds), labels or {}
    )


def kinds_of(changes: Sequence[StateChange]) -> list[str | None]:
    tracker = AlertTracker()
    alerts = [tracker.observe(item) for item in changes]
    return [str(alert.kind) if alert is not None else None for alert in alerts]


def identities(changes: Sequence[StateChange]) -> list[str | None]:
    tracker = AlertTracker()
    return [alert.identity if (alert := tracker.observe(c)) else None for c in changes]


# -- kinds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "kind"),
    [
        ("Failed", "Failed"),
        ("Invalid", "Failed"),
        ("Degraded", "Failed"),
        ("Blocked", "Blocked"),
        ("DriftCorrected", "DriftCorrected"),
        ("Removed", "Pruned"),
        ("Paused", "Paused"),
        ("Resumed", "Resumed"),
        ("SecretWarning", "SecretWarning"),
        ("Applied", None),
        ("Progressing", None),
        ("RemovalWithheld", None),
        ("Ready", None),
    ],
)
def test_each_state_word_is_its_alert_kind_or_none(state: str, kind: str | None) -> None:
    assert kinds_of([change(state)]) == [kind]


@pytest.mark.parametrize("bad", ["Failed", "Blocked", "Invalid", "Degraded"])
def test_ready_after_a_bad_state_is_recovered_once(bad: str) -> None:
    stream = [change(bad), change("Applied"), change("Ready"), change("Ready")]
    assert kinds_of(stream) == [
        "Failed" if bad != "Blocked" else "Blocked",
        None,
        "Recovered",
        None,
    ]


def test_recovery_is_per_release() -> None:
    stream = [change("Failed"), change("Ready", release=DB), change("Ready")]
    assert kinds_of(stream) == ["Failed", None, "Recovered"]


def test_a_removed_release_forgets_its_failure() -> None:
    stream = [change("Failed"), change("Removed"), change("Ready")]
    assert kinds_of(stream) == ["Failed", "Pruned", None]


def test_the_same_failure_pass_after_pass_keeps_one_identity() -> None:
    first, again, other_reason = identities(
        [change("Failed"), change("Failed", seconds=60), change("Invalid", reason="other")]
    )
    assert first == again == other_reason


def test_a_failure_after_a_recovery_or_at_a_new_revision_is_new() -> None:
    found = identities(
        [
            change("Failed"),
            change("Failed", revision="def456"),
            change("Ready", revision="def456"),
            change("Failed", revision="def456"),
        ]
    )
    failed, new_revision, _recovered, after_recovery = found
    assert len({failed, new_revision, after_recovery}) == 3


def test_failed_and_blocked_in_one_spell_are_two_alerts() -> None:
    failed, blocked = identities([change("Failed"), change("Blocked")])
    assert failed != blocked


def test_drift_is_one_alert_per_revision_and_objects_and_pauses_one_per_transition() -> None:
    drift = identities(
        [
            change("DriftCorrected", reason="drift corrected on ConfigMap/shop/a"),
            change("DriftCorrected", reason="drift corrected on ConfigMap/shop/a", seconds=60),
            change("DriftCorrected", reason="drift corrected on ConfigMap/shop/b"),
        ]
    )
    assert drift[0] == drift[1] != drift[2]
    paused = identities(
        [change("Paused"), change("Resumed", seconds=1), change("Paused", seconds=2)]
    )
    assert len(set(paused)) == 3


# -- filters -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chosen", "kind", "release", "labels", "expected"),
    [
        (AlertFilter(), AlertKind.FAILED, WEB, {}, True),
        (AlertFilter(namespaces=("shop",)), AlertKind.FAILED, WEB, {}, True),
        (AlertFilter(namespaces=("sh*",)), AlertKind.FAILED, WEB, {}, True),
        (AlertFilter(namespaces=("data", "team-?")), AlertKind.FAILED, WEB, {}, False),
        (
            AlertFilter(release_labels=(("team", "shop"),)),
            AlertKind.FAILED,
            WEB,
            {"team": "shop"},
            True,
        ),
        (
            AlertFilter(release_labels=(("team", "shop"),)),
            AlertKind.FAILED,
            WEB,
            {"team": "data"},
            False,
        ),
        (AlertFilter(release_labels=(("team", "shop"),)), AlertKind.FAILED, WEB, {}, False),
        (AlertFilter(kinds=frozenset({AlertKind.FAILED})), AlertKind.FAILED, WEB, {}, True),
        (AlertFilter(kinds=frozenset({AlertKind.FAILED})), AlertKind.RECOVERED, WEB, {}, False),
    ],
)
def test_a_receiver_filter_takes_namespaces_by_glob_labels_that_all_match_and_kinds(
    chosen: AlertFilter,
    kind: AlertKind,
    release: ReleaseKey,
    labels: dict[str, str],
    expected: bool,
) -> None:
    assert chosen.matches(kind, release, labels) is expected


# -- bodies --------------------------------------------------------------------

FAILED = Alert(
    AlertKind.FAILED,
    change(
        "Failed",
        reason="Deployment/shop/web apply failed: <forbidden> & more",
        labels={"team": "shop"},
    ),
    "shop/web|Failed|1|abc123",
)


def test_the_webhook_body_carries_the_release_its_kind_state_reason_revision_time_and_labels() -> (
    None
):
    body = json.loads(webhook_body(FAILED))
    assert body == {
        "release": "shop/web",
        "namespace": "shop",
        "name": "web",
        "kind": "Failed",
        "state": "Failed",
        "reason": "Deployment/shop/web apply failed: <forbidden> & more",
        "revision": "abc123",
        "time": "2026-12-06T18:00:00Z",
        "labels": {"team": "shop"},
    }


def test_a_signed_webhook_is_verified_by_the_receiver_with_its_copy_of_the_key(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("k3y\n")
    spec = ReceiverSpec("ops", "webhook", url="https://hooks.example/x", secret_file=key_file)
    (receiver,) = load_receivers([spec])
    delivery = receiver.delivery(FAILED)
    headers = dict(delivery.headers)
    # The receiving side: recompute over the exact bytes received, compare in constant time.
    expected = "sha256=" + hmac.new(b"k3y", delivery.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Harmonia-Signature"], expected)
    assert not hmac.compare_digest(
        headers["X-Harmonia-Signature"], signature(delivery.body + b" ", b"k3y")
    )
    assert headers["Content-Type"] == "application/json"
    assert (delivery.method, delivery.url) == ("POST", "https://hooks.example/x")


def test_an_unsigned_webhook_has_no_signature_header() -> None:
    (receiver,) = load_receivers([ReceiverSpec("ops", "webhook", url="http://127.0.0.1:1/x")])
    assert "X-Harmonia-Signature" not in dict(receiver.delivery(FAILED).headers)


def test_the_slack_body_is_an_incoming_webhook_message_with_mrkdwn_escaped() -> None:
    """https://api.slack.com/messaging/webhooks: a JSON `text` (required as the fallback
    when blocks are given), optional `blocks`; `&`, `<`, `>` escaped as the formatting
    reference asks (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    body = json.loads(slack_body(FAILED))
    assert body["text"].startswith("Harmonia: release shop/web Failed: ")
    assert "&lt;forbidden&gt; &amp; more" in body["text"]
    section, context = body["blocks"]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert "<forbidden>" not in section["text"]["text"]
    assert context["type"] == "context" and "abc123" in context["elements"][0]["text"]


@pytest.mark.parametrize("state", ["Failed", "DriftCorrected"])
def test_a_reason_quoting_a_file_name_that_is_not_utf8_still_makes_every_body(
    state: str,
) -> None:
    """Python reads such a name with surrogate escapes (`caf\\udce9`), which UTF-8 cannot
    encode: the sink raised, and the alert was lost for every receiver."""
    receivers = [Receiver(kind, kind, "http://x/", AlertFilter()) for kind in BODIES]
    reason = "releases/shop/caf\udce9.yaml cannot be read"
    deliveries = AlertSink(receivers)(change(state, reason=reason))
    assert [d.receiver for d in deliveries] == list(BODIES)
    webhook = json.loads(deliveries[0].body)
    assert webhook["reason"] == "releases/shop/caf?.yaml cannot be read"


def test_the_teams_body_is_a_message_with_one_adaptive_card_attachment() -> None:
    """https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/
    how-to/connectors-using#send-adaptive-cards-using-an-incoming-webhook: `type: message`,
    `attachments` of `contentType: application/vnd.microsoft.card.adaptive`, `contentUrl`
    null, `content` the card (`type: AdaptiveCard`, `version`, `body`)."""
    body = json.loads(teams_body(FAILED))
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.2")
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    texts = [block.get("text") for block in card["body"]]
    assert "Harmonia: release shop/web Failed" in texts
    assert "Deployment/shop/web apply failed: <forbidden> & more" in texts
    facts = {fact["title"]: fact["value"] for fact in card["body"][2]["facts"]}
    assert facts["Revision"] == "abc123"


# -- the sink ------------------------------------------------------------------


def receiver(name: str, chosen: AlertFilter | None = None) -> Receiver:
    return Receiver(name, "webhook", f"http://127.0.0.1:1/{name}", chosen or AlertFilter())


def test_the_sink_sends_each_alert_to_the_receivers_whose_filters_take_it() -> None:
    sink = AlertSink([receiver("all"), receiver("db", AlertFilter(namespaces=("data",)))])
    assert [d.receiver for d in sink(change("Failed"))] == ["all"]
    assert [d.receiver for d in sink(change("Failed", release=DB))] == ["all", "db"]
    assert sink(change("Applied")) == []


def test_delivery_keys_repeat_for_the_same_failure_and_differ_after_a_recovery() -> None:
    sink = AlertSink([receiver("a"), receiver("b")])
    first = sink(change("Failed"))
    again = sink(change("Failed", seconds=60))
    assert [d.key for d in first] == [d.key for d in again]
    assert first[0].key != first[1].key, "one key per receiver"
    recovered = sink(change("Ready"))
    assert [json.loads(d.body)["kind"] for d in recovered] == ["Recovered", "Recovered"]
    failed_again = sink(change("Failed", seconds=120))
    assert {d.key for d in failed_again}.isdisjoint({d.key for d in first})


def test_a_receivers_repr_shows_no_url_or_key() -> None:
    secret = Receiver(
        "chat", "slack", "https://hooks.slack.com/services/T/B/s3cr3t", AlertFilter(), b"k"
    )
    assert "s3cr3t" not in repr(secret) and "chat" in repr(secret)


def test_a_deliverys_repr_shows_no_url_headers_or_body() -> None:
    """A delivery carries the chat URL or the forge token: a traceback with locals, or a
    log line that formats one, must not show them."""
    secret = Receiver(
        "chat", "webhook", "https://hooks.example/s3cr3t-url", AlertFilter(), b"s3cr3t-key"
    )
    (delivery,) = AlertSink([secret])(change("Failed", reason="s3cr3t-reason"))
    assert "s3cr3t" not in repr(delivery) and "chat" in repr(delivery)


# -- configuration -------------------------------------------------------------

SECTION: dict[str, Any] = {
    "receivers": [
        {
            "name": "ops",
            "type": "webhook",
            "url": "https://hooks.example/harmonia",
            "secretFile": "/etc/harmonia/notify/ops-key",
            "namespaces": ["shop-*"],
            "releaseLabels": {"team": "shop"},
            "kinds": ["Failed", "Recovered"],
        },
        {"name": "chat", "type": "slack", "urlFile": "/etc/harmonia/notify/slack-url"},
    ],
    "rateLimit": {"perSecond": 0.5, "burst": 3},
}


def test_the_notifications_section_becomes_receiver_settings() -> None:
    found = notification_settings(SECTION)
    ops, chat = found.receivers
    assert ops.filter == AlertFilter(
        namespaces=("shop-*",),
        release_labels=(("team", "shop"),),
        kinds=frozenset({AlertKind.FAILED, AlertKind.RECOVERED}),
    )
    assert (ops.url, ops.secret_file) == (
        "https://hooks.example/harmonia",
        Path("/etc/harmonia/notify/ops-key"),
    )
    assert (chat.type, chat.url_file, chat.filter) == (
        "slack",
        Path("/etc/harmonia/notify/slack-url"),
        AlertFilter(),
    )
    assert found.rate_limit == RateLimit(per_second=0.5, burst=3)


def test_run_settings_read_the_notifications_section_and_default_to_none() -> None:
    settings = run_settings({"notifications": SECTION}, {"url": "file:///r"}, pod_namespace=None)
    assert [receiver.name for receiver in settings.notifications.receivers] == ["ops", "chat"]
    default = run_settings({}, {"url": "file:///r"}, pod_namespace=None)
    assert default.notifications.receivers == ()
    assert default.notifications.rate_limit == RateLimit(per_second=1.0, burst=10)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"name": "chat", "type": "slack", "url": "https://hooks.slack.com/x"},
            "give exactly one of urlFile",
        ),
        ({"name": "ops", "type": "webhook"}, "give exactly one of url or urlFile"),
        (
            {"name": "ops", "type": "webhook", "url": "https://a/", "urlFile": "/f"},
            "give exactly one of url or urlFile",
        ),
        (
            {"name": "t", "type": "msteams", "urlFile": "/f", "secretFile": "/k"},
            "secretFile signs generic webhooks only",
        ),
    ],
)
def test_a_receiver_without_exactly_one_url_source_is_refused_by_name(
    entry: dict[str, Any], message: str
) -> None:
    with pytest.raises(SettingsError, match=rf"^notifications receiver {entry['name']}: {message}"):
        run_settings(
            {"notifications": {"receivers": [entry]}}, {"url": "file:///r"}, pod_namespace=None
        )


def test_two_receivers_of_one_name_are_refused() -> None:
    twice = {"receivers": [SECTION["receivers"][1], SECTION["receivers"][1]]}
    with pytest.raises(NotificationConfigError, match="'chat' is given to more than one receiver"):
        notification_settings(twice)


def test_an_unreadable_or_empty_secret_file_is_named_without_its_content(tmp_path: Path) -> None:
    missing = ReceiverSpec("chat", "slack", url_file=tmp_path / "nope")
    with pytest.raises(
        NotificationConfigError,
        match=r"^notifications receiver chat: urlFile .*nope cannot be read",
    ):
        load_receivers([missing])
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(NotificationConfigError, match="is empty"):
        load_receivers([ReceiverSpec("chat", "slack", url_file=tmp_path / "empty")])
    (tmp_path / "file-url").write_text("file:///etc/passwd-s3cr3t")
    with pytest.raises(NotificationConfigError) as refused:
        load_receivers([ReceiverSpec("chat", "slack", url_file=tmp_path / "file-url")])
    assert "not an http(s) URL" in str(refused.value) and "s3cr3t" not in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://",
        "http://[::1/hook-s3cr3t",
        "https://:443/s3cr3t",
        "https://h:x/s3cr3t",
        "https://h/s3cr3t\nsecond-line",
        "https://h/s3cr3t two",
    ],
)
def test_a_url_without_a_host_or_that_does_not_parse_is_refused_without_it(
    tmp_path: Path, url: str
) -> None:
    (tmp_path / "url").write_text(url + "\n")
    with pytest.raises(NotificationConfigError) as refused:
        load_receivers([ReceiverSpec("chat", "slack", url_file=tmp_path / "url")])
    assert str(refused.value).startswith("notifications receiver chat: the URL ")
    assert "s3cr3t" not in str(refused.value)


def test_the_schema_checks_the_notifications_section(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    head = "apiVersion: harmonia.dev/v1alpha1\nkind: ReconcilerConfig\n"
    config.write_text(head + yaml.safe_dump({"notifications": SECTION}))
    load_policy(config)
    wrong = {
        "receivers": [{"name": "ops", "type": "email", "url": "https://a/", "kinds": ["Exploded"]}]
    }
    config.write_text(head + yaml.safe_dump({"notifications": wrong}))
    with pytest.raises(PolicyConfigError) as refused:
        load_policy(config)
    messages = [item.message for item in refused.value.diagnostics]
    assert len(messages) == 2, messages
    assert any('"webhook", "slack", "msteams"' in message for message in messages)
    assert any('"Failed", "Recovered"' in message for message in messages)
