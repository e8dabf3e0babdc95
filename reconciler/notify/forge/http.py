"""The one place the forge client sends a request: stdlib urllib, a timeout, no redirects
(a redirect would carry the token to wherever it points), one attempt.

A failure becomes a `ForgeError` whose message names the subject, the forge, the method,
the path and the HTTP status, with the forge's own one-line explanation, never the token.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import IO
from urllib.parse import urlsplit

from reconciler.notify.forge.errors import ForgeError
from reconciler.notify.forge.model import Forge
from reconciler.notify.model import Delivery
from reconciler.source.urls import scrub
from reconciler.types import JsonValue

TIMEOUT_SECONDS = 15.0
ANSWER_LIMIT = 64 * 1024 * 1024
"""Bytes of an answer read at most: a page of 100 long comments is a few MiB."""
_DETAIL_LIMIT = 200


@dataclass(frozen=True)
class Answer:
    """A forge's successful answer."""

    status: int
    headers: dict[str, str]
    """Header names in lower case."""
    body: bytes

    def json(self) -> JsonValue:
        parsed: JsonValue = json.loads(self.body or b"null")
        return parsed


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> None:
        return None  # urllib then raises the 3xx as an HTTPError


_OPENER = urllib.request.build_opener(_NoRedirects)


def exchange(
    delivery: Delivery, *, forge: Forge, subject: str, timeout: float = TIMEOUT_SECONDS
) -> Answer:
    """Send `delivery` once and return the forge's answer; any error is a `ForgeError`."""
    request = urllib.request.Request(
        delivery.url,
        data=delivery.body if delivery.method != "GET" else None,
        method=delivery.method,
        headers=dict(delivery.headers),
    )
    what = f"{delivery.method} {urlsplit(delivery.url).path}"
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            headers = {name.lower(): value for name, value in response.headers.items()}
            return Answer(response.status, headers, response.read(ANSWER_LIMIT))
    except urllib.error.HTTPError as error:
        with error:
            detail = _explanation(error.read(4096), forge)
        raise ForgeError(
            f"{subject} failed: {forge.kind.display} answered HTTP {error.code} to {what}{detail}",
            status=error.code,
        ) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        host = urlsplit(delivery.url).netloc
        raise ForgeError(
            f"{subject} failed: {forge.kind.display} at {host} could not be reached "
            f"({scrub(str(reason), [forge.token])})"
        ) from None


def _explanation(body: bytes, forge: Forge) -> str:
    """The forge's own words for an error (`message`, or GitLab's `error`), on one line."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return ""
    words = parsed.get("message") or parsed.get("error") if isinstance(parsed, dict) else None
    if not words:
        return ""
    text = " ".join((words if isinstance(words, str) else json.dumps(words)).split())
    text = scrub(text, [forge.token])
    return f" ({text[:_DETAIL_LIMIT]})"
