"""The one place the forge client sends a request: stdlib urllib, a timeout for the whole
exchange (deadline.py), no redirects (a redirect would carry the token to wherever it
points), one attempt.

A failure becomes a `ForgeError` whose message names the subject, the forge, the method,
the path and the HTTP status, with the forge's own one-line explanation, never the token.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import urlsplit

from reconciler.notify.deadline import bounded
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


def exchange(
    delivery: Delivery, *, forge: Forge, subject: str, timeout: float = TIMEOUT_SECONDS
) -> Answer:
    """Send `delivery` once and return the forge's answer; any error is a `ForgeError`."""
    what = f"{delivery.method} {urlsplit(delivery.url).path}"
    with bounded(timeout) as (opener, watchdog):
        try:
            request = urllib.request.Request(
                delivery.url,
                data=delivery.body if delivery.method != "GET" else None,
                method=delivery.method,
                headers=dict(delivery.headers),
            )
            with opener.open(request, timeout=timeout) as response:
                headers = {name.lower(): value for name, value in response.headers.items()}
                return Answer(response.status, headers, response.read(ANSWER_LIMIT))
        except urllib.error.HTTPError as error:
            detail = ""
            with error, suppress(OSError, http.client.HTTPException):
                detail = _explanation(error.read(4096), forge)
            raise ForgeError(
                f"{subject} failed: {forge.kind.display} answered HTTP {error.code} "
                f"to {what}{detail}",
                status=error.code,
            ) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            reason = "timed out" if watchdog.expired else getattr(error, "reason", None) or error
            raise ForgeError(
                f"{subject} failed: {forge.kind.display} at {_host(delivery.url)} could not "
                f"be reached ({scrub(str(reason), [forge.token])})"
            ) from None
        except ValueError:  # its text quotes the URL or the header (the token)
            raise ForgeError(
                f"{subject} failed: {forge.kind.display} request {what} cannot be made "
                "(a URL that does not parse, or a line break in a header such as the token)"
            ) from None


def _host(url: str) -> str:
    """The host and port of `url`, without any credentials written into it."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


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
