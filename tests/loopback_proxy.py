"""A TCP proxy on loopback in front of a real server, that stalls or drops on cue.

Bytes pass through untouched (TLS included: the client still talks to the real API
server or Git remote), so the reconciler sees a real server that, for a while, stops
answering (`stall`: connections are taken and nothing is ever sent back, as a hung
remote does) or cannot be reached (`drop`: every connection, open or new, is cut).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from enum import Enum


class Mode(Enum):
    FORWARD = "forward"
    STALL = "stall"
    DROP = "drop"


class LoopbackProxy:
    def __init__(self, target_host: str, target_port: int, *, mode: Mode = Mode.FORWARD) -> None:
        self._target = (target_host, target_port)
        self._mode = mode
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.connections = 0
        """Connections accepted so far, in any mode."""
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def set_mode(self, mode: Mode) -> None:
        """From now on act as `mode`; leaving FORWARD cuts the connections under way (a
        client's kept-alive connection must not outlive the outage)."""
        with self._lock:
            self._mode = mode
            if mode is not Mode.FORWARD:
                for sock in self._open:
                    _close(sock)
                self._open.clear()

    def close(self) -> None:
        self._closed = True
        _close(self._listener)
        self.set_mode(Mode.DROP)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                mode = self._mode
                if mode is Mode.DROP:
                    _close(client)
                    continue
                self._open.add(client)
            if mode is Mode.FORWARD:
                threading.Thread(target=self._forward, args=(client,), daemon=True).start()
            # STALL: held open, never read nor answered, until the mode changes.

    def _forward(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self._target, timeout=10)
        except OSError:
            _close(client)
            return
        upstream.settimeout(None)
        with self._lock:
            if client not in self._open:
                _close(upstream)
                return
            self._open.add(upstream)
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
        _pump(client, upstream)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@contextmanager
def loopback_proxy(host: str, port: int, *, mode: Mode = Mode.FORWARD) -> Iterator[LoopbackProxy]:
    proxy = LoopbackProxy(host, port, mode=mode)
    try:
        yield proxy
    finally:
        proxy.close()
