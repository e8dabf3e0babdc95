"""A push webhook's delivery, answered: checked against the secret file, remembered so that
a replay starts nothing, matched with the repository followed, and turned into a fetch
and a full pass asked for (coalesced with the other passes asked for).

Sits between the HTTP route (`server.py`, which hands over the provider, the headers and
the body) and what asks for passes (`service.py`); the checks are `webhooks.py`'s. The
secret is read again for every delivery, so a rotated Secret counts without a restart.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

from reconciler.loop.pass_queue import PassRequest
from reconciler.loop.webhooks import (
    PROVIDERS,
    delivery_id,
    event_kind,
    ignored_because,
    push_target,
    verify,
)
from reconciler.types import JsonObject

log = logging.getLogger(__name__)

RECENT_DELIVERIES = 1024
"""Delivery ids remembered (the most recent): a replay within them starts nothing."""


class WebhookSecretError(ValueError):
    """The secret file cannot serve: the message names the file, never its content."""


def read_secret(path: Path, *, what: str = "webhook secret file") -> str:
    """The secret in `path`, without the blanks around it (a file made by `kubectl create
    secret --from-file` often ends in a newline); `what` names the file in an error (the
    server's token file is read the same way)."""
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise WebhookSecretError(f"{what} {path}: {reason}") from None
    if not secret:
        raise WebhookSecretError(f"{what} {path}: empty")
    return secret


@dataclass(frozen=True)
class HookAnswer:
    status: int
    body: JsonObject
    headers: Mapping[str, str] = field(default_factory=dict)


def _refusal(status: int, message: str) -> HookAnswer:
    return HookAnswer(status, {"error": message})


def _result(status: int, result: str, detail: str) -> HookAnswer:
    return HookAnswer(status, {"result": result, "detail": detail})


class RecentDeliveries:
    """The last `size` delivery ids, oldest forgotten first."""

    def __init__(self, size: int = RECENT_DELIVERIES) -> None:
        self._size = size
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, delivery: str) -> bool:
        """True, remembering it, when `delivery` is not among the recent ones."""
        with self._lock:
            if delivery in self._seen:
                return False
            self._seen[delivery] = None
            if len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return True


class WebhookReceiver:
    def __init__(
        self,
        secret_file: Path | None,
        *,
        url: str,
        ref: str,
        acting: Callable[[], bool],
        ask: Callable[[PassRequest], None],
        retry_after: int = 15,
    ) -> None:
        """`url` and `ref`: what the reconciler follows; `acting`: whether this replica
        holds the Lease; `ask`: asks for a pass (coalesced with the others);
        `retry_after`: the seconds a standby's 503 asks a sender to wait (the lease
        duration: by then the leader label has moved, or this replica leads)."""
        self._secret_file = secret_file
        self._url = url
        self._ref = ref
        self._acting = acting
        self._ask = ask
        self._retry_after = retry_after
        self._recent = RecentDeliveries()

    def receive(self, provider: str, headers: Mapping[str, str], body: bytes) -> HookAnswer:
        """The answer to one delivery to `/hooks/<provider>`; `headers` in lower case."""
        if provider not in PROVIDERS:
            return _refusal(
                HTTPStatus.NOT_FOUND,
                f"no such webhook: /hooks/{provider[:64]} (there are {', '.join(PROVIDERS)})",
            )
        if self._secret_file is None:
            return _refusal(
                HTTPStatus.NOT_FOUND,
                "webhooks are off: harmonia run was started without --webhook-secret-file",
            )
        try:
            secret = read_secret(self._secret_file)
        except WebhookSecretError as error:
            log.error("%s webhook not answered: %s", provider, error)
            return _refusal(
                HTTPStatus.SERVICE_UNAVAILABLE, "the webhook secret cannot be read; see the log"
            )
        delivery = delivery_id(provider, headers)
        said = f"{provider} webhook (delivery {delivery or 'without an id'})"
        problem = verify(provider, headers, body, secret)
        if problem is not None:
            log.warning("%s refused: %s", said, problem)
            return _refusal(HTTPStatus.UNAUTHORIZED, f"signature refused: {problem}")
        event = event_kind(provider, headers)
        if event != "push":
            return _result(HTTPStatus.OK, "ignored", f"a {event} event starts nothing")
        if not self._acting():
            log.info("%s not acted on: another replica holds the lease", said)
            return HookAnswer(
                HTTPStatus.SERVICE_UNAVAILABLE,
                {
                    "error": "standing by, not the leader: another replica holds the lease "
                    "and acts on pushes; deliveries reach it through the webhooks Service"
                },
                {"Retry-After": str(self._retry_after)},
            )
        if delivery is not None and not self._recent.first_time(delivery):
            log.info("%s ignored: received already", said)
            return _result(HTTPStatus.OK, "ignored", f"delivery {delivery} was received already")
        return self._push(provider, said, body)

    def _push(self, provider: str, said: str, body: bytes) -> HookAnswer:
        try:
            target = push_target(provider, json.loads(body))
        except ValueError as error:
            # json's own message says where it stopped reading, never what it read.
            log.warning("%s refused: not a push payload: %s", said, error)
            return _refusal(
                HTTPStatus.BAD_REQUEST,
                f"not a {provider} push payload (a JSON body): {error}",
            )
        reason = ignored_because(target, url=self._url, ref=self._ref)
        if reason is not None:
            log.info("%s ignored: %s", said, reason)
            return _result(HTTPStatus.OK, "ignored", reason)
        pushed = target.ref or "the repository"
        log.info("%s: a push to %s; a fetch and a full pass asked for", said, pushed)
        self._ask(PassRequest(full=True, fetch=True, reasons=(f"push to {pushed}",)))
        return _result(HTTPStatus.ACCEPTED, "accepted", "a fetch and a full pass are asked for")
