"""Talks to harmonia-renderer: Helm's engine in one long-lived process (docs/renderer.md).

`helm template` pays Go's and Helm's start-up for every release; the renderer pays it
once and renders many releases at a time, byte for byte as `helm template` would. One
renderer serves the whole Harmonia process (every pass of `harmonia run`, every render
thread): requests go out on its stdin as JSON lines, a reader thread hands each answer
to the thread that asked. When it dies, the requests in flight fail as "exited" and are
sent once more to a fresh renderer; the ones after it start it again.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import IO

from reconciler.render.helm.process import HelmRun, error_text, helm_environment

log = logging.getLogger(__name__)

RENDERER_NAME = "harmonia-renderer"
RENDERER_VARIABLE = "HARMONIA_RENDERER"


class RendererExited(Exception):
    """The renderer process ended before answering; the request may be sent again."""


@dataclass(frozen=True)
class TemplateRequest:
    """The arguments of one `helm template` run (engine.template_arguments)."""

    chart: Path
    release_name: str
    namespace: str
    values: str
    """The values document, as `--values -` would read it."""
    kube_version: str
    api_versions: tuple[str, ...]


_fallback_warned = threading.Event()


def warn_fallback_once(helm: Path | None) -> None:
    """Say, once per Harmonia process, that Helm charts render with one helm process each
    (correct, several times slower) because no renderer was found."""
    if helm is None or _fallback_warned.is_set():
        return
    _fallback_warned.set()
    log.warning(
        "%s not found (set %s or put it on PATH): rendering Helm charts with one"
        " `helm template` process per release, which is slower",
        RENDERER_NAME,
        RENDERER_VARIABLE,
    )


def find_renderer() -> Path | None:
    """`$HARMONIA_RENDERER`, else harmonia-renderer on PATH; None when neither exists."""
    chosen = os.environ.get(RENDERER_VARIABLE) or shutil.which(RENDERER_NAME)
    return Path(chosen) if chosen and Path(chosen).is_file() else None


class RendererProcess:
    """One running renderer: writes requests, pairs answers with their futures by id."""

    def __init__(self, binary: Path) -> None:
        self._home = tempfile.mkdtemp(prefix="harmonia-renderer-")
        environment = helm_environment(Path(self._home))
        if "GOMAXPROCS" not in os.environ:
            # It renders several releases at once: every core, not helm's one.
            environment.pop("GOMAXPROCS", None)
        self._process = subprocess.Popen(
            [str(binary)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=environment,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        _first_to_end_when_memory_runs_out(self._process.pid)
        self._ids = count(1)
        self._pending: dict[str, Future[HelmRun]] = {}
        self._lock = threading.Lock()
        """Guards `_pending` and `_exited`."""
        self._writing = threading.Lock()
        """Keeps requests from interleaving on stdin."""
        self._exited = False
        self._reader = threading.Thread(target=self._read, name="renderer-reader", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return not self._exited

    def submit(self, request: TemplateRequest) -> Future[HelmRun]:
        answer: Future[HelmRun] = Future()
        with self._lock:
            if self._exited:
                answer.set_exception(RendererExited())
                return answer
            identifier = str(next(self._ids))
            self._pending[identifier] = answer
        # Written outside `_lock`: a write blocks while the renderer's slots are full, and
        # a slot frees only once the reader, which needs `_lock`, has taken an answer.
        try:
            with self._writing:
                stdin: IO[str] | None = self._process.stdin
                assert stdin is not None
                stdin.write(json.dumps(_wire(identifier, request)) + "\n")
                stdin.flush()
        except (OSError, ValueError):  # ValueError: stdin closed by close()
            with self._lock:
                unanswered = self._pending.pop(identifier, None)
            if unanswered is not None:
                unanswered.set_exception(RendererExited())
        return answer

    def kill(self) -> None:
        self._process.kill()

    def close(self) -> None:
        """End the renderer: it finishes what it was asked, then exits on end of input."""
        with self._writing:
            if self._process.stdin is not None and not self._process.stdin.closed:
                with contextlib.suppress(OSError):
                    self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self._home, ignore_errors=True)

    def _read(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        for line in stdout:
            try:
                answer = json.loads(line)
            except ValueError:
                continue  # not an answer (the protocol has stdout carry nothing else)
            with self._lock:
                waiting = self._pending.pop(str(answer.get("id", "")), None)
            if waiting is not None:
                waiting.set_result(_run(answer))
        stdout.close()
        with self._lock:
            self._exited = True
            orphans, self._pending = list(self._pending.values()), {}
        for orphan in orphans:
            orphan.set_exception(RendererExited())


def _first_to_end_when_memory_runs_out(pid: int) -> None:
    """Make the renderer the kernel's first choice when memory runs out (Linux): a chart
    whose template eats gigabytes then ends the renderer, whose requests are retried,
    rather than Harmonia itself. Raising the score needs no privilege; elsewhere, no-op."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/oom_score_adj").write_text("1000")


def _wire(identifier: str, request: TemplateRequest) -> dict[str, object]:
    return {
        "id": identifier,
        "chart": str(request.chart),
        "release": request.release_name,
        "namespace": request.namespace,
        "values": request.values,
        "kubeVersion": request.kube_version,
        "apiVersions": list(request.api_versions),
        "includeCRDs": True,
    }


def _run(answer: dict[str, object]) -> HelmRun:
    error = answer.get("error")
    if error:
        return HelmRun(ok=False, stdout="", error=error_text(f"Error: {error}"))
    return HelmRun(ok=True, stdout=str(answer.get("manifest", "")), error="")


class Renderer:
    """The renderer of this Harmonia process for one binary, started on first use and
    again whenever it has died."""

    def __init__(self, binary: Path) -> None:
        self.binary = binary
        self._process: RendererProcess | None = None
        self._lock = threading.Lock()

    def template(self, request: TemplateRequest, *, timeout: float) -> HelmRun:
        """`helm template` of `request`; a renderer that dies on it is restarted, and a
        request past `timeout` seconds is a failure, as with helm (the renderer is ended,
        as helm would be, and started again for the next request).

        A request in flight when the shared renderer dies is asked once more in a renderer
        of its own: the death may be another release's doing (a chart whose template eats
        all memory kills the renderer on each try), and only that release must fail."""
        try:
            return _answer(self._running(), request, timeout)
        except RendererExited:
            pass
        except OSError as error:
            return _not_started(error)
        try:
            alone = RendererProcess(self.binary)
        except OSError as error:
            return _not_started(error)
        try:
            return _answer(alone, request, timeout)
        except RendererExited:
            return HelmRun(
                ok=False, stdout="", error=f"{RENDERER_NAME} exited twice while rendering"
            )
        finally:
            alone.close()

    def close(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            process.close()

    def _running(self) -> RendererProcess:
        with self._lock:
            if self._process is not None and not self._process.alive:
                self._process.close()
                self._process = None
            if self._process is None:
                self._process = RendererProcess(self.binary)
            return self._process


def _answer(process: RendererProcess, request: TemplateRequest, timeout: float) -> HelmRun:
    """`process`'s answer to `request`; raises RendererExited when it dies first."""
    try:
        return process.submit(request).result(timeout=timeout)
    except FutureTimeout:
        # Helm cannot stop a template midway: end the renderer, so the template does not
        # hold a slot for ever (the others in flight are asked again, each alone).
        process.kill()
        return HelmRun(ok=False, stdout="", error=f"helm did not finish within {timeout:g}s")


def _not_started(error: OSError) -> HelmRun:
    return HelmRun(ok=False, stdout="", error=f"{RENDERER_NAME} did not start: {error}")


_renderers: dict[Path, Renderer] = {}
_renderers_lock = threading.Lock()


def renderer_for(binary: Path) -> Renderer:
    """The process-wide renderer of `binary` (ended when Harmonia exits)."""
    with _renderers_lock:
        if binary not in _renderers:
            _renderers[binary] = Renderer(binary)
        return _renderers[binary]


@atexit.register
def _close_all() -> None:
    with _renderers_lock:
        renderers: Sequence[Renderer] = list(_renderers.values())
    for renderer in renderers:
        renderer.close()
