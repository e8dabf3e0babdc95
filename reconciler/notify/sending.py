"""The one place a notification goes over the network: a `Delivery` sent with urllib,
always with a timeout, its answer sorted into what the dispatcher acts on.

Problems are described by HTTP status or error class only: a receiver's URL (a secret
for chat webhooks) and the body never appear in what this returns.
"""

from __future__ import annotations

import email.utils
import http.client
import urllib.error
import urllib.request
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from reconciler.notify.deadline import bounded
from reconciler.notify.model import Delivery

ANSWER_LIMIT = 64 * 1024
"""Bytes of a receiver's answer read (and dropped): enough to let it finish cleanly."""


@dataclass(frozen=True)
class Answer:
    """How one attempt went."""

    ok: bool
    problem: str = ""
    """`HTTP 500`, `timed out`, `ConnectionRefusedError`: what the log says."""
    retryable: bool = False
    """A timeout, a connection failure, a 5xx or a 429: another attempt may succeed."""
    retry_after: float | None = None
    """Seconds the receiver asked to wait (`Retry-After` of a 429 or 503)."""


def retry_after_seconds(value: str | None, *, now: datetime) -> float | None:
    """`Retry-After` as seconds: a number of seconds or an HTTP date; None if neither."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def send(delivery: Delivery, *, timeout: float) -> Answer:
    """Send `delivery` once, in `timeout` seconds at most however slowly the receiver
    answers; never raises for the network or the receiver's answer."""
    with bounded(timeout) as (opener, watchdog):
        try:
            request = urllib.request.Request(
                delivery.url,
                data=delivery.body,
                headers=dict(delivery.headers),
                method=delivery.method,
            )
            with opener.open(request, timeout=timeout) as response:
                # Taken: the rest of the answer is read as a courtesy, and may be cut.
                with suppress(OSError, http.client.HTTPException):
                    response.read(ANSWER_LIMIT)
                return Answer(ok=True)
        except urllib.error.HTTPError as error:
            with error:
                status = error.code
                wait = retry_after_seconds(error.headers.get("Retry-After"), now=datetime.now(UTC))
            return Answer(
                ok=False,
                problem=f"HTTP {status}",
                retryable=status == 429 or status >= 500,
                retry_after=wait,
            )
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, TimeoutError) or watchdog.expired:
                what = "timed out"
            else:
                what = "URLError" if isinstance(reason, str) else type(reason).__name__
            return Answer(ok=False, problem=what, retryable=True)
        except (OSError, http.client.HTTPException) as error:
            timed_out = isinstance(error, TimeoutError) or watchdog.expired
            return Answer(
                ok=False, problem="timed out" if timed_out else type(error).__name__, retryable=True
            )
        except ValueError:  # `http://[::1`, a header with a line break: quoted in the
            # error, and a header may hold a token: said without it
            return Answer(ok=False, problem="invalid URL or header")
