"""The reconciler's journal and `GET /api/v1/reconciler`'s body: the last pass told from its
report (masked, bounded), errors kept newest first and bounded, webhook deliveries recorded
without their body or signature, and the body valid against the OpenAPI document."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import jsonschema

from reconciler.loop.hook_receiver import HookAnswer
from reconciler.loop.loop_journal import (
    LISTED,
    DeliveryRecord,
    HookRecord,
    LoopJournal,
    journaled_hook,
    lease_json,
    pass_record,
    reconciler_body,
)
from reconciler.loop.openapi import OPENAPI
from reconciler.outcome import Outcome
from reconciler.reconcile import PassReport, ReleaseReport
from reconciler.types import JsonObject, ReleaseKey, release_key

START = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
CANARY = "s3cr3t-canary-value"


def masked(_key: ReleaseKey, text: str) -> str:
    return text.replace(CANARY, "***")


def report(*outcomes: tuple[str, Outcome, str]) -> PassReport:
    releases = {
        release_key("shop", name): ReleaseReport(release_key("shop", name), outcome, message)
        for name, outcome, message in outcomes
    }
    return PassReport("abc123", releases)


def record_of(passed: PassReport | None, problem: str | None = None) -> object:
    return pass_record(
        passed,
        started=START,
        finished=START + timedelta(seconds=2.5),
        why="the interval",
        revision="abc123",
        problem=problem,
        masked=masked,
    )


def test_a_pass_record_counts_outcomes_and_splits_applied_from_not_applied() -> None:
    record = pass_record(
        report(
            ("web", Outcome.APPLIED, "applied"),
            ("db", Outcome.UNCHANGED, ""),
            ("cart", Outcome.FAILED, f"apply failed: password {CANARY}"),
            ("shop", Outcome.DEFERRED, "waiting out a backoff"),
        ),
        started=START,
        finished=START + timedelta(seconds=2.5),
        why="push to main",
        revision="abc123",
        problem=None,
        masked=masked,
    )

    assert record.outcomes == {"Applied": 1, "Deferred": 1, "Failed": 1, "Unchanged": 1}
    assert record.applied == ("shop/web",)
    assert record.not_applied == (
        ("shop/cart", "Failed", "apply failed: password ***"),
        ("shop/shop", "Deferred", "waiting out a backoff"),
    )


def test_a_pass_record_names_at_most_LISTED_releases_but_counts_them_all() -> None:
    many = [(f"r{index:03}", Outcome.FAILED, "no") for index in range(LISTED + 10)]
    record = pass_record(
        report(*many),
        started=START,
        finished=START,
        why="x",
        revision=None,
        problem=None,
        masked=masked,
    )

    assert len(record.not_applied) == LISTED
    assert record.outcomes == {"Failed": LISTED + 10}


def test_the_journal_keeps_the_newest_errors_first_and_only_so_many() -> None:
    journal = LoopJournal(size=2)
    journal.pass_started(START, "the interval")
    assert journal.view().running == (START, "the interval")
    passed = report(("a", Outcome.FAILED, "one"), ("b", Outcome.INVALID, "two"))
    journal.pass_finished(
        pass_record(
            passed,
            started=START,
            finished=START,
            why="x",
            revision="r",
            problem=None,
            masked=masked,
        )
    )
    journal.pass_finished(
        pass_record(
            None,
            started=START,
            finished=START,
            why="x",
            revision=None,
            problem="fetch failed: remote hung up",
            masked=masked,
        )
    )

    view = journal.view()
    assert view.running is None
    assert [error.subject for error in view.errors] == ["pass", "shop/a"]
    assert view.errors[0].message == "fetch failed: remote hung up"
    assert view.last_pass is not None and view.last_pass.problem == "fetch failed: remote hung up"


def test_the_journal_forgets_the_oldest_deliveries_beyond_its_size() -> None:
    journal = LoopJournal(size=2)
    for index in range(5):
        journal.notification_done(DeliveryRecord(START, f"receiver-{index}", "sent"))
        journal.hook_answered(HookRecord(START, "github", "push", 202, f"accepted: {index}"))

    view = journal.view()
    assert [sent.receiver for sent in view.notifications] == ["receiver-4", "receiver-3"]
    assert [hook.answer for hook in view.hooks] == ["accepted: 4", "accepted: 3"]


def test_a_journaled_hook_records_what_was_answered_never_the_body_or_signature() -> None:
    journal = LoopJournal()
    body = json.dumps({"ref": "refs/heads/main", "secret": CANARY}).encode()
    signature = "sha256=" + hmac.new(b"key", body, hashlib.sha256).hexdigest()
    headers = {"x-github-event": "push", "x-hub-signature-256": signature}

    def hook(provider: str, _headers: object, _body: bytes) -> HookAnswer:
        return HookAnswer(202, {"result": "accepted", "detail": "a fetch and a full pass"})

    answer = journaled_hook(hook, journal, clock=lambda: START)("github", headers, body)
    journaled_hook(hook, journal, clock=lambda: START)("<nope>", headers, body)

    assert answer.status == 202
    hooks = journal.view().hooks
    assert hooks[1] == HookRecord(START, "github", "push", 202, "accepted: a fetch and a full pass")
    assert hooks[0].provider == "(unknown)" and hooks[0].event == ""
    said = repr(hooks)
    assert CANARY not in said and signature not in said and "refs/heads" not in said


def test_a_lease_is_told_by_holder_times_and_transitions() -> None:
    lease = {
        "spec": {
            "holderIdentity": "harmonia-0_ab12",
            "acquireTime": "2026-12-07T01:00:00.000000Z",
            "renewTime": "2026-12-07T02:00:00.000000Z",
            "leaseTransitions": 3,
            "leaseDurationSeconds": 15,
        }
    }

    told = lease_json(lease, namespace="harmonia-system", name="harmonia-leader")

    assert told["holder"] == "harmonia-0_ab12"
    assert (told["acquired"], told["renewed"], told["transitions"]) == (
        "2026-12-07T01:00:00.000000Z",
        "2026-12-07T02:00:00.000000Z",
        3,
    )
    assert lease_json(None, namespace="n", name="l")["holder"] is None


def schema_of(name: str) -> JsonObject:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": OPENAPI["components"],
        "$ref": f"#/components/schemas/{name}",
    }


def test_the_body_is_valid_against_the_openapi_document_with_and_without_a_pass() -> None:
    journal = LoopJournal()
    empty = reconciler_body(
        journal.view(), instance="me", leading=False, lease=None, next_pass=(None, "none")
    )
    journal.pass_finished(
        pass_record(
            report(("web", Outcome.FAILED, "no")),
            started=START,
            finished=START,
            why="x",
            revision="r",
            problem="late",
            masked=masked,
        )
    )
    journal.hook_answered(HookRecord(START, "gitlab", "push", 401, "refused: signature"))
    journal.notification_done(DeliveryRecord(START, "slack", "failed"))
    full = reconciler_body(
        journal.view(),
        instance="me",
        leading=True,
        lease=lease_json(None, namespace="n", name="l"),
        next_pass=(START, "the interval"),
    )

    for body in (empty, full):
        jsonschema.validate(body, schema_of("Reconciler"))
    assert full["nextPass"] == {"at": "2026-12-07T02:00:00Z", "why": "the interval"}
    assert full["lastPass"]["seconds"] == 0.0  # type: ignore[index]
