"""`sending.send` against hostile receivers on loopback: its timeout bounds the whole
request, not each read of the socket."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from reconciler.notify.model import Delivery
from reconciler.notify.sending import Answer, send


@contextmanager
def dribbling(answer: bytes, *, at_once: bytes = b"") -> Iterator[int]:
    """A receiver that reads the request, answers `at_once`, then `answer` one byte every
    0.2 s (a slow-loris answer: each read comes well within a socket timeout)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        with suppress(OSError):
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(at_once)
                for byte in answer:
                    if stop.wait(0.2):
                        return
                    connection.sendall(bytes([byte]))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(5)


def sent_within(port: int, *, timeout: float, limit: float) -> tuple[Answer | None, float]:
    delivery = Delivery("ops", "POST", f"http://127.0.0.1:{port}/hook", (), b"{}", "k")
    answers: list[Answer] = []
    started = time.monotonic()
    worker = threading.Thread(
        target=lambda: answers.append(send(delivery, timeout=timeout)), daemon=True
    )
    worker.start()
    worker.join(limit)
    return (answers[0] if answers else None), time.monotonic() - started


def test_a_receiver_dribbling_its_headers_is_cut_off_at_the_timeout() -> None:
    headers = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 1000 + b"\r\n\r\n"
    with dribbling(headers) as port:
        answer, took = sent_within(port, timeout=1.0, limit=6.0)
    assert answer == Answer(ok=False, problem="timed out", retryable=True)
    assert took < 3.0


def test_a_receiver_dribbling_its_body_after_a_200_is_cut_off_and_counted_sent() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
    with dribbling(b"a" * 1000, at_once=head) as port:
        result, took = sent_within(port, timeout=1.0, limit=6.0)
    assert result == Answer(ok=True)
    assert took < 3.0


def test_a_header_with_a_line_break_fails_the_delivery_without_raising() -> None:
    """http.client raises ValueError quoting the header (a token) instead of sending: on
    the dispatcher's thread, that ended the thread and printed the token."""
    header = (("Authorization", "Bearer ghp_first\nghp_second"),)
    delivery = Delivery("forge", "POST", "http://127.0.0.1:9/x", header, b"{}", "k")
    answer = send(delivery, timeout=1.0)
    assert answer == Answer(ok=False, problem="invalid URL or header")
