"""Issue 20's real-time figures: `python -m bench.realtime --releases 100,1000`.

For each size, on a dev cluster of its own with N synthetic releases applied by a cold
`harmonia apply`: the periodic full pass with nothing changed, listing and reading the
watches, side by side in one process; then real `harmonia run` processes against the
bare remote: its periodic passes with nothing new (the whole pass, as a pod runs it, and
its peak RSS), the daemon idle (API requests, CPU, RSS), hand edits put back, commits
pushed and announced by a signed webhook, and the same commits found by the 1 m poll.
Results go to `bench/results/realtime-<timestamp>.md|.json`, rewritten after each figure.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.cluster import BenchCluster, BenchError, own_cluster, rolled_out
from bench.generate import (
    CHART_PATH,
    GitRepository,
    SyntheticRepository,
    synthetic_repository,
    with_hub_outputs_changed,
)
from bench.generate import with_settings_changed as changed
from bench.harmonia import PassMeasure, harmonia_apply, high_water_mib
from bench.peers import helm_environment
from bench.realtime_report import (
    FULL_PASS,
    FULL_PASS_WATCHED,
    HAND_EDIT,
    IDLE,
    PERIODIC,
    PUSH_HUB_POLL,
    PUSH_HUB_WEBHOOK,
    PUSH_POLL,
    PUSH_WEBHOOK,
    SCENARIOS,
    Series,
    write_report,
)
from bench.run import RESULTS_DIR, _commit, log
from devcluster.build import ensure_binaries
from reconciler import __version__
from reconciler.apply.external_outputs import external_outputs_from
from reconciler.apply.inventory import InventoryRecord
from reconciler.apply.live_index import scopes_to_watch
from reconciler.apply.records import INVENTORY_SCOPE, inventory_records
from reconciler.desired import DesiredState, Tools, compute_desired_state
from reconciler.kube.client import KubeClient
from reconciler.kube.connection import KubeTarget, probe
from reconciler.kube.watch import Watches
from reconciler.policy import load_policy
from reconciler.reconcile import PassOptions, reconcile
from reconciler.render.environment import choose_versions
from reconciler.render.helm.renderer import RENDERER_VARIABLE
from reconciler.source.git_source import describe_checkout
from reconciler.types import ReleaseKey, split_release_key

SECRET = "bench-webhook-secret"
FIRST_PASS_TIMEOUT = 1800.0
PUT_BACK_TIMEOUT = 120.0
READY_TIMEOUT = 600.0
POLL = 0.1
SETTLE = 10.0
"""Seconds after the daemon's first pass before measuring: its reflectors list and sync."""
POLL_INTERVAL = 60.0
PERIODIC_INTERVAL = 20
"""Seconds between `harmonia run`'s passes in the periodic scenario."""
PASS_FINISHED = re.compile(r"pass finished at revision \S+ in ([0-9.]+)s")
LOGGED_TIMEOUT = 120.0
"""Seconds to wait, after the changed release is Ready, for the pass to log its outcome
(outcomes are logged when the whole pass ends)."""


class Run:
    """One size's scenarios on one cluster; `publish` after each figure."""

    def __init__(
        self,
        cluster: BenchCluster,
        size: int,
        folder: Path,
        samples: int,
        publish: Callable[[], None],
    ) -> None:
        self.cluster, self.size, self.folder, self.samples = cluster, size, folder, samples
        self.publish = publish
        self.series = {name: Series(name, size) for name in SCENARIOS}
        self.repository: SyntheticRepository = synthetic_repository(size)
        self.git = GitRepository.create(folder)
        self.git.commit(self.repository, f"{size} synthetic releases")
        self.cache = folder / "cache"
        self.source = describe_checkout(self.git.work).source
        self.edits = 0
        self.hub_generation = 1
        self.logs: dict[int, Path] = {}
        """Each running daemon's log, by process id."""
        leaves = [
            r.key for r in self.repository.releases[1:] if not self.repository.dependents_of(r.key)
        ]
        self.leaves = leaves[len(leaves) // 2 :] or leaves
        """Releases no other depends on, from the middle on: what edits and pushes change."""

    @contextmanager
    def scenario(self, name: str) -> Iterator[Series]:
        series = self.series[name]
        try:
            yield series
        except (BenchError, subprocess.SubprocessError, OSError) as error:
            series.errors.append(str(error).splitlines()[0])
            log(f"N={self.size} {name}: FAILED: {error}")
        self.publish()

    def cold(self) -> PassMeasure:
        measure = harmonia_apply(
            self.cluster, self.git.work, cache=self.cache, log=self.folder / "cold.log"
        )
        log(f"N={self.size}: cold apply {measure.seconds:.1f} s, {measure.peak_rss_mib:.0f} MiB")
        return measure

    # -- 1. the periodic full pass, listing and reading the watches --------------

    def full_passes(self) -> None:
        target = KubeTarget(self.cluster.kubeconfig)
        with KubeClient.connect(target, cache_dir=self.cache) as client:
            state = self._desired(client, target)
            watches = self._synced_watches(target)
            try:
                self._pass(client, state, None)  # warm-up: discovery, connections
                for _ in range(self.samples):
                    for name, watched in ((FULL_PASS, None), (FULL_PASS_WATCHED, watches)):
                        with self.scenario(name) as series:
                            series.samples.append(self._pass(client, state, watched))
                            log(f"N={self.size} {name}: {series.samples[-1]}")
            finally:
                watches.stop()

    def _desired(self, client: KubeClient, target: KubeTarget) -> DesiredState:
        capabilities = probe(target)
        return compute_desired_state(
            self.git.work,
            policy=load_policy(None),
            versions_for=lambda config: choose_versions(config, cluster=capabilities),
            tools=Tools(
                helm=self.cluster.binaries["helm"],
                kubectl=self.cluster.binaries["kubectl"],
                cache_dir=self.cache,
            ),
            external_outputs=external_outputs_from(client),
        )

    def _synced_watches(self, target: KubeTarget) -> Watches:
        """Reflectors over what the records name, as `harmonia run`'s reactor wants them."""
        watches = Watches(KubeClient.connect(target, cache_dir=self.cache))
        with KubeClient.connect(target, cache_dir=self.cache) as client:
            found = inventory_records(client).values()
        records = [r for r in found if isinstance(r, InventoryRecord) and r.source == self.source]
        entries = [entry.ref for record in records for entry in record.entries]
        namespaces = {split_release_key(record.release)[0] for record in records}
        watches.want(scopes_to_watch(entries, namespaces) | {INVENTORY_SCOPE})
        until(
            lambda: all(watches.objects(s) is not None for s in watches.scopes),
            300,
            "reflectors synced",
        )
        return watches

    def _pass(
        self, client: KubeClient, state: DesiredState, watched: Watches | None
    ) -> dict[str, float]:
        checkout = describe_checkout(self.git.work)
        sent, lists = client.requests_sent, api_counts(self.cluster).get("LIST", 0.0)
        started = time.monotonic()
        report = reconcile(
            client, state, PassOptions(checkout.revision, self.source), watched=watched
        )
        seconds = time.monotonic() - started
        if report.failed:
            raise BenchError(
                f"full pass: {sum(1 for r in report.releases.values() if r.message)} failed"
            )
        return {
            "seconds": seconds,
            "requests_sent": float(client.requests_sent - sent),
            "lists": api_counts(self.cluster).get("LIST", 0.0) - lists,
        }

    # -- 2-4. `harmonia run` -----------------------------------------------------

    @contextmanager
    def daemon(self, name: str, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
        """`harmonia run` on the bare remote, entered once its first pass has finished and
        its reflectors had SETTLE seconds to sync."""
        output = self.folder / f"run-{name}.log"
        env = {
            **os.environ,
            "KUBECONFIG": str(self.cluster.kubeconfig),
            "HARMONIA_HELM": str(self.cluster.binaries["helm"]),
            "HARMONIA_KUBECTL": str(self.cluster.binaries["kubectl"]),
            "HARMONIA_CACHE_DIR": str(self.cache),
            RENDERER_VARIABLE: str(self.cluster.binaries["harmonia-renderer"]),
        }
        command = [
            sys.executable, "-m", "reconciler", "run",
            "--repo", str(self.git.remote), "--ref", "main",
            "--no-leader-elect", "--no-status", "--source-id", self.source, *extra,
        ]  # fmt: skip
        with output.open("wb") as sink:
            process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
            try:
                until(lambda: "pass finished" in output.read_text() or process.poll() is not None,
                      FIRST_PASS_TIMEOUT, f"{name}: first pass")  # fmt: skip
                if process.poll() is not None:
                    raise BenchError(f"harmonia run exited {process.returncode}; log {output}")
                time.sleep(SETTLE)
                self.logs[process.pid] = output
                yield process
            finally:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def idle(self, process: subprocess.Popen[bytes], minutes: int, port: int) -> None:
        """Each minute: the API server's requests (every client) and Harmonia's own (its
        `harmonia_kube_requests_total`), the LISTs among each, CPU and RSS."""
        with self.scenario(IDLE) as series:
            for minute in range(1, minutes + 1):
                before = api_counts(self.cluster)
                listed_before = api_counts(self.cluster, by="resource")
                own_before = own_requests(port)
                time.sleep(60)
                after = api_counts(self.cluster)
                listed = api_counts(self.cluster, by="resource")
                own = own_requests(port)
                for resource, count in listed.items():
                    if count > listed_before.get(resource, 0.0):
                        series.note += f"; minute {minute}: LIST {resource}"
                cpu, rss = process_usage(process.pid)
                series.samples.append({
                    "requests": sum(after.values()) - sum(before.values()),
                    "lists": after.get("LIST", 0.0) - before.get("LIST", 0.0),
                    "own_requests": sum(own.values()) - sum(own_before.values()),
                    "own_lists": own.get("list", 0.0) - own_before.get("list", 0.0),
                    "cpu_seconds": cpu,
                    "rss_mib": rss,
                })  # fmt: skip
                log(f"N={self.size} idle: {series.samples[-1]}")
                self.publish()

    def hand_edits(self) -> None:
        with self.scenario(HAND_EDIT) as series:
            for index in range(self.samples):
                key = self.leaves[index % len(self.leaves)]
                series.samples.append({"seconds": self._hand_edit(key)})
                log(f"N={self.size} hand edit {key}: {series.samples[-1]['seconds']:.2f} s")
                time.sleep(2)

    def _hand_edit(self, key: str) -> float:
        """Seconds from a hand edit of `key`'s ConfigMap (the PATCH sent) to the value
        Git holds read back."""
        namespace, name = split_release_key(ReleaseKey(key))
        path = f"/api/v1/namespaces/{namespace}/configmaps/{name}"
        applied = self.repository.release(key).settings["revision"]
        self.edits += 1
        started = time.monotonic()
        patch(self.cluster, path, {"data": {"revision": f"hand-edit-{self.edits}"}})
        until(
            lambda: self.cluster.api.get_json(path)["data"]["revision"] == applied,
            PUT_BACK_TIMEOUT,
            f"{key}'s ConfigMap put back",
        )
        return time.monotonic() - started

    def pushes(
        self,
        name: str,
        announce: Callable[[], None],
        *,
        daemon_log: Path,
        wait_before: Callable[[], float],
        hub: bool = False,
    ) -> None:
        """Commits pushed and `announce`d: one leaf release's setting changed, or with
        `hub` the hub's outputs (its dependents re-rendered, every one rolls). For one
        release, also what of the time was its own: its render (`helm template` timed
        alone) and the pass's time on it (plan, apply, rollout; `seconds=` of its outcome
        in `daemon_log`), and the rest."""
        count = (
            self.samples if name in (PUSH_WEBHOOK, PUSH_HUB_WEBHOOK) else max(3, self.samples // 2)
        )
        with self.scenario(name) as series:
            for index in range(count):
                time.sleep(wait_before())
                if hub:
                    self.hub_generation += 1
                    keys = [r.key for r in self.repository.dependents_of(self.repository.hub.key)]
                    change = with_hub_outputs_changed(self.repository, self.hub_generation)
                else:
                    keys = [self.leaves[-1 - index % len(self.leaves)]]
                    change = changed(self.repository, keys[0], f"{name}-{index}")
                logged_before = daemon_log.stat().st_size
                sample = {"seconds": self._push(change, keys, announce)}
                sample["pass_seconds"] = self._passes(daemon_log, logged_before, 1)[0]
                if not hub:
                    own = self._release_seconds(daemon_log, logged_before, keys[0])
                    render = self._render_seconds(keys[0])
                    sample |= {
                        "release_seconds": own,
                        "render_seconds": render,
                        "overhead_seconds": sample["seconds"] - own - render,
                    }
                series.samples.append(sample)
                log(f"N={self.size} {name} {keys[0]}: {sample}")

    def _push(
        self, change: SyntheticRepository, keys: list[str], announce: Callable[[], None]
    ) -> float:
        """Seconds from the commit of `change` reaching the remote to every Deployment of
        `keys` rolled out on its new template."""
        paths = []
        for key in keys:
            namespace, release = split_release_key(ReleaseKey(key))
            paths.append(f"/apis/apps/v1/namespaces/{namespace}/deployments/{release}")
        generations = {
            path: self.cluster.api.get_json(path)["metadata"]["generation"] for path in paths
        }
        self.repository = change
        self.git.commit(self.repository, f"{len(keys)} releases changed")
        started = time.monotonic()
        announce()

        def ready() -> bool:
            waiting = [path for path in paths if path in generations]
            for path in waiting:
                found = self.cluster.api.get_json(path)
                if found["metadata"]["generation"] > generations[path] and rolled_out(found):
                    del generations[path]
                else:
                    return False
            return True

        until(ready, READY_TIMEOUT, f"{len(keys)} releases Ready after the push")
        return time.monotonic() - started

    def _passes(self, daemon_log: Path, offset: int, count: int) -> list[float]:
        """The seconds of the first `count` passes the daemon finished after `offset`."""
        timeout = LOGGED_TIMEOUT + count * PERIODIC_INTERVAL
        return logged_numbers(daemon_log, offset, PASS_FINISHED, count=count, timeout=timeout)

    def periodic(self) -> None:
        """`harmonia run` passing every PERIODIC_INTERVAL with nothing new in Git, as a
        pod does between commits: each pass from its tick to its end (the daemon's log:
        fetch, desired state from its in-memory renders, the pass on its watches, the
        status), and the daemon's peak RSS since it started (its first, rendering pass
        included)."""
        interval = f"{PERIODIC_INTERVAL}s"
        with self.daemon("periodic", "--interval", interval, "--listen", "off") as process:
            output = self.logs[process.pid]
            with self.scenario(PERIODIC) as series:
                for seconds in self._passes(output, output.stat().st_size, self.samples):
                    peak = high_water_mib(process.pid) or 0.0
                    series.samples.append({"pass_seconds": seconds, "peak_rss_mib": peak})
                    log(f"N={self.size} periodic pass: {seconds:.1f} s, peak RSS {peak:.0f} MiB")

    def _release_seconds(self, daemon_log: Path, offset: int, key: str) -> float:
        """`seconds=` of `key`'s Applied line that the daemon logged after `offset`."""
        pattern = re.compile(rf"release {re.escape(key)} Applied .* seconds=([0-9.]+)")
        return logged_numbers(daemon_log, offset, pattern, count=1, timeout=LOGGED_TIMEOUT)[0]

    def _render_seconds(self, key: str) -> float:
        """The fastest of three `helm template` runs of `key` with the values Harmonia
        computes: what rendering the changed release alone costs."""
        release = self.repository.release(key)
        values = self.folder / "render-values.json"
        values.write_text(json.dumps(self.repository.peer_values(release)))
        command = [
            str(self.cluster.binaries["helm"]), "template", release.name,
            str(self.git.work / CHART_PATH), "--namespace", release.namespace,
            "--values", str(values),
        ]  # fmt: skip
        env = helm_environment(self.folder / "helm-home")
        timings = []
        for _ in range(3):
            started = time.monotonic()
            subprocess.run(command, env=env, check=True, capture_output=True)
            timings.append(time.monotonic() - started)
        return min(timings)

    def webhook_and_edits(self, idle_minutes: int) -> None:
        port = free_port()
        secret = self.folder / "webhook-secret"
        secret.write_text(SECRET + "\n")
        listen = ("--listen", f"127.0.0.1:{port}", "--webhook-secret-file", str(secret))
        if idle_minutes:
            before = api_counts(self.cluster)
            time.sleep(60)
            after = api_counts(self.cluster)
            self.series[IDLE].note = (
                f"the cluster alone, no harmonia running, one minute before: "
                f"{sum(after.values()) - sum(before.values()):.0f} requests, "
                f"{after.get('LIST', 0.0) - before.get('LIST', 0.0):.0f} LIST"
            )
        with self.daemon("webhook", "--interval", "10m", *listen) as process:
            if idle_minutes:
                self.idle(process, idle_minutes, port)
            self.hand_edits()
            deliveries = iter(range(1, 1_000_000))
            for name, hub in ((PUSH_WEBHOOK, False), (PUSH_HUB_WEBHOOK, True)):
                self.pushes(name, lambda: webhook(port, self.git.remote, next(deliveries)),
                            daemon_log=self.logs[process.pid],
                            wait_before=lambda: 2.0, hub=hub)  # fmt: skip

    def poll(self) -> None:
        jitter = random.Random(self.size)
        with self.daemon("poll", "--interval", "1m", "--listen", "off") as process:
            for name, hub in ((PUSH_POLL, False), (PUSH_HUB_POLL, True)):
                self.pushes(
                    name,
                    lambda: None,
                    daemon_log=self.logs[process.pid],
                    wait_before=lambda: jitter.uniform(0, POLL_INTERVAL),
                    hub=hub,
                )


def logged_numbers(
    daemon_log: Path, offset: int, pattern: re.Pattern[str], *, count: int, timeout: float
) -> list[float]:
    """The first `count` numbers `pattern` captures in the lines logged after `offset`,
    once there are that many (BenchError after `timeout` seconds)."""
    found: list[float] = []

    def logged() -> bool:
        with daemon_log.open("rb") as text:
            text.seek(offset)
            lines = text.read().decode(errors="replace").splitlines()
        found[:] = [float(m.group(1)) for line in lines if (m := pattern.search(line))]
        return len(found) >= count

    until(logged, timeout, f"{count} x {pattern.pattern!r} logged")
    return found[:count]


def until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not within {timeout:.0f} s")
        time.sleep(POLL)


def api_counts(cluster: BenchCluster, *, by: str = "verb") -> dict[str, float]:
    """The API server's `apiserver_request_total` so far, summed by verb (all clients);
    `by="resource"`: the LISTs alone, by resource (it has no label naming the client)."""
    counts: dict[str, float] = {}
    for line in cluster.kubectl("get", "--raw", "/metrics").splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        if by == "resource" and 'verb="LIST"' not in line:
            continue
        label = re.search(rf'{by}="([^"]*)"', line)
        key = label.group(1) if label else "?"
        counts[key] = counts.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
    return counts


def own_requests(port: int) -> dict[str, float]:
    """Harmonia's own requests so far, by verb, summed over its clients, from `/metrics`."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as reply:
        text = reply.read().decode()
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("harmonia_kube_requests_total{"):
            verb = re.search(r'verb="([^"]*)"', line)
            key = verb.group(1) if verb else "?"
            counts[key] = counts.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
    return counts


def process_usage(pid: int) -> tuple[float, float]:
    """CPU seconds of the process and its reaped children (helm), and its RSS in MiB."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return ticks / os.sysconf("SC_CLK_TCK"), rss / 1024


def patch(cluster: BenchCluster, path: str, body: dict[str, Any]) -> None:
    """A merge patch, as `kubectl edit` or `kubectl patch` by hand would send."""
    request = urllib.request.Request(
        cluster.api.server + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/merge-patch+json"},
        method="PATCH",
    )
    urllib.request.urlopen(request, timeout=30, context=cluster.api.ssl_context()).close()


def webhook(port: int, remote: Path, delivery: int) -> None:
    """A GitHub push delivery for the bare remote's main, signed with the secret."""
    body = json.dumps({
        "ref": "refs/heads/main",
        "before": "0" * 40,
        "after": "1" * 40,
        "repository": {"full_name": "bench/remote", "clone_url": f"file://{remote}"},
    }).encode()  # fmt: skip
    mac = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": f"bench-{delivery}",
        "X-Hub-Signature-256": f"sha256={mac}",
    }
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/hooks/github", data=body, headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        if reply.status != 202:
            raise BenchError(f"webhook answered {reply.status}")


def free_port() -> int:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return int(probe_socket.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.realtime", description=__doc__)
    parser.add_argument("--releases", default="100", help="Sizes, comma-separated.")
    parser.add_argument("--samples", type=int, default=5, help="Samples per scenario.")
    parser.add_argument("--idle-minutes", type=int, default=3)
    parser.add_argument(
        "--skip",
        default="",
        help="Comma-separated: full-pass, periodic, daemon (edits, webhook, idle), poll.",
    )
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    arguments = parser.parse_args(argv)
    skip = set(arguments.skip.split(","))
    workdir = (arguments.workdir or Path(tempfile.mkdtemp(prefix="harmonia-realtime-"))).resolve()
    started = datetime.now(UTC)
    stem = "realtime-" + started.strftime("%Y%m%dT%H%M%SZ")
    series: list[Series] = []
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    meta: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.realtime", *(argv or sys.argv[1:])]),
        "machine": {"cores": os.cpu_count(), "load_at_start": load},
        "versions": {
            "python": platform.python_version(),
            "harmonia": __version__,
            "commit": _commit(),
        },
    }

    def publish() -> None:
        meta["machine"]["load_at_end"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
        write_report(
            arguments.results_dir.resolve(),
            stem,
            meta,
            [s for s in series if s.samples or s.errors],
        )

    log(f"working in {workdir}")
    # The in-process passes render as `harmonia run` in the image does: through the renderer.
    os.environ[RENDERER_VARIABLE] = str(ensure_binaries(log)["harmonia-renderer"])
    for size in (int(value) for value in arguments.releases.split(",")):
        folder = workdir / f"n{size}"
        with own_cluster(folder, log, pods=size) as cluster:
            meta["versions"].update(cluster.versions())
            run = Run(cluster, size, folder, arguments.samples, publish)
            series += run.series.values()
            cold = run.cold()
            meta[f"cold_apply_seconds_n{size}"] = round(cold.seconds, 1)
            meta[f"cold_apply_peak_rss_mib_n{size}"] = round(cold.peak_rss_mib)
            if "full-pass" not in skip:
                run.full_passes()
            if "periodic" not in skip:
                run.periodic()
            if "daemon" not in skip:
                run.webhook_and_edits(arguments.idle_minutes)
            if "poll" not in skip:
                run.poll()
        log(f"N={size} done: {arguments.results_dir / stem}.md")
    return 0 if not any(s.errors for s in series) else 1


if __name__ == "__main__":
    sys.exit(main())
