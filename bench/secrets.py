"""Issue 21's benchmark: `python -m bench.secrets --releases 100 --repeats 5`.

What decrypting SOPS values files adds per release, and that releases without SOPS files
pay nothing measurable. The synthetic repository (`bench/generate.py`) in three variants,
each in namespaces of its own on one dev cluster: every release reads a values file
whose `password` is SOPS-encrypted (a new age key, the real sops); the same values in
plain files; and the plain files again under the code before SOPS support (a `git
worktree` of BEFORE_COMMIT). Each repeat runs every variant in turn: the desired state in
process (cold, then again), then a no-op `harmonia apply`. A last, untimed round counts
sops launches through a counting wrapper. Results go to
`bench/results/secrets-<timestamp>.md|.json`, rewritten after each repeat.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bench.cluster import BenchCluster, BenchError, own_cluster
from bench.generate import (
    CHART_FILES,
    CHART_PATH,
    NAMESPACE_PREFIX,
    REPOSITORY_FILE,
    GitRepository,
    SyntheticRelease,
    SyntheticRepository,
    synthetic_repository,
)
from bench.harmonia import harmonia_apply
from bench.run import RESULTS_DIR, _commit, log
from bench.secrets_report import (
    APPLY_COLD,
    APPLY_NOOP,
    BEFORE,
    PLAIN,
    RENDER_COLD,
    RENDER_WARM,
    SOPS,
    SOPS_ALONE,
    VARIANTS,
    Figures,
    write_report,
)
from reconciler import __version__
from reconciler.render.secrets.sops_decryption import SopsSettings, sops_environment

BEFORE_COMMIT = "fff747b"
"""The last commit before SOPS support: the dev cluster's sops pin, no reader of it."""
ENCRYPTED_REGEX = "^password$"
"""Only the password is encrypted (it lands in the chart's Secret); the settings stay
readable, as a team would keep them, and the file is still a SOPS file: sops decrypts it
and checks its MAC over every value."""
WARM_PASSES = 5
"""Passes after the cold one in each worker; their median is the repeat's warm sample (a
warm pass of the plain variant takes some 60 ms, less than the load's jitter)."""
REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("secrets_worker.py")


def in_namespaces(repository: SyntheticRepository, prefix: str) -> SyntheticRepository:
    """The repository with its namespaces `bench-<k>` renamed `<prefix><k>`, so the
    variants live side by side on one cluster without claiming each other's releases."""

    def renamed(key: str) -> str:
        return prefix + key.removeprefix(NAMESPACE_PREFIX)

    return SyntheticRepository(
        tuple(
            dataclasses.replace(
                release,
                namespace=renamed(release.namespace),
                outputs={
                    k: v.replace(f".{release.namespace}.", f".{renamed(release.namespace)}.")
                    for k, v in release.outputs.items()
                },
                dependencies={a: renamed(t) for a, t in release.dependencies.items()},
            )
            for release in repository.releases
        )
    )


def values_file(release: SyntheticRelease) -> str:
    return f"values/{release.namespace}/{release.name}.yaml"


def variant_files(repository: SyntheticRepository) -> dict[str, str]:
    """Every file of a variant: each release's settings and password in a values file of
    its own (plain text; `encrypt` turns them into SOPS files), its outputs and
    dependencies in its release file."""
    files = {"harmonia.yaml": REPOSITORY_FILE}
    files.update({f"{CHART_PATH}/{path}": text for path, text in CHART_FILES.items()})
    for release in repository.releases:
        body = {
            "apiVersion": "harmonia.dev/v1alpha1",
            "kind": "Release",
            "name": release.name,
            "namespace": release.namespace,
            "chartPath": CHART_PATH,
            "valuesFiles": [values_file(release)],
            "configValues": {"outputs": dict(release.outputs)},
            "dependencies": dict(release.dependencies),
        }
        files[release.file] = json.dumps(body, indent=2) + "\n"
        values = {"settings": dict(release.settings), "password": f"pw-{release.name}-bench"}
        files[values_file(release)] = json.dumps(values, indent=2) + "\n"
    return files


class Run:
    """The three variants on one cluster, measured side by side."""

    def __init__(self, cluster: BenchCluster, size: int, folder: Path, figures: Figures) -> None:
        self.cluster, self.size, self.folder, self.figures = cluster, size, folder, figures
        self.sops = cluster.binaries["sops"]
        self.helm = cluster.binaries["helm"]
        self.key = folder / "age.key"
        subprocess.run(
            [str(cluster.binaries["age-keygen"]), "-o", str(self.key)],
            check=True,
            capture_output=True,
        )
        self.recipient = next(
            line.split(": ", 1)[1]
            for line in self.key.read_text().splitlines()
            if line.startswith("# public key: ")
        )
        base = synthetic_repository(size)
        self.repositories: dict[str, GitRepository] = {}
        for variant in VARIANTS:
            repository = in_namespaces(base, f"{variant}-")
            git = GitRepository.create(folder / variant)
            for relative, text in variant_files(repository).items():
                path = git.work / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
            if variant == SOPS:
                self.first_sops_release = repository.releases[0]
                for release in repository.releases:
                    self._encrypt(git.work / values_file(release))
            git.git("add", "--all")
            git.git("commit", "--quiet", "-m", f"{size} releases, {VARIANTS[variant]}")
            git.git("push", "--quiet", "origin", "HEAD:main")
            self.repositories[variant] = git
        self.code = {SOPS: REPOSITORY_ROOT, PLAIN: REPOSITORY_ROOT, BEFORE: folder / "code-before"}

    def _encrypt(self, path: Path) -> None:
        subprocess.run(
            [str(self.sops), "encrypt", "--in-place", "--age", self.recipient,
             "--encrypted-regex", ENCRYPTED_REGEX, str(path)],
            check=True, capture_output=True, env={**os.environ, "SOPS_DISABLE_VERSION_CHECK": "1"},
        )  # fmt: skip

    def render(self, variant: str, *, sops: Path | None = None, warm: int = 1) -> dict[str, Any]:
        """The worker's passes of `variant` under its code, with a new cache folder."""
        cache = Path(tempfile.mkdtemp(prefix="render-", dir=self.folder))
        command = [
            sys.executable, "-P", str(WORKER), str(self.repositories[variant].work),
            "--cache", str(cache), "--helm", str(self.helm), "--warm", str(warm),
        ]  # fmt: skip
        if variant != BEFORE:
            command += ["--sops", str(sops or self.sops), "--age-key-file", str(self.key)]
        env = {**os.environ, "PYTHONPATH": str(self.code[variant])}
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BenchError(f"{variant} render: {done.stderr.strip().splitlines()[-1:]}")
        result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
        if Path(result["code"]) != self.code[variant] or result["releases"] != self.size:
            raise BenchError(f"{variant} render: {result['releases']} releases by {result['code']}")
        return result

    def apply(self, variant: str, *, name: str, sops: Path | None = None) -> float:
        """One `harmonia apply` of `variant` under its code, its cache kept across passes;
        renders holding a Secret may go to that cache on disk (the operator's choice for
        one-shot passes), the decrypted ones never do."""
        environment = [
            f"PYTHONPATH={self.code[variant]}",
            "HARMONIA_RENDER_CACHE_SECRETS=1",
            f"HARMONIA_SOPS={sops or self.sops}",
            f"SOPS_AGE_KEY_FILE={self.key}",
        ]
        measure = harmonia_apply(
            self.cluster,
            self.repositories[variant].work,
            cache=self.folder / f"cache-{variant}",
            log=self.folder / f"{name}-{variant}.log",
            wrapper=["env", *environment],
        )
        return measure.seconds

    def decrypt_alone(self, times: int = 10) -> float:
        """The median seconds of `sops decrypt` of one values file, run as the renderer
        runs it (JSON on stdin, its minimal environment): what one launch costs."""
        release = self.first_sops_release
        path = self.repositories[SOPS].work / values_file(release)
        document = json.dumps(yaml.safe_load(path.read_text())).encode()
        settings = SopsSettings(binary=self.sops, age_key_file=self.key)
        command = [str(self.sops), "decrypt", "--input-type", "json", "--output-type", "json",
                   "/dev/stdin"]  # fmt: skip
        timings = []
        for _ in range(times):
            started = time.monotonic()
            subprocess.run(
                command, input=document, capture_output=True, check=True, cwd="/",
                env=sops_environment(settings),
            )  # fmt: skip
            timings.append(time.monotonic() - started)
        return statistics.median(timings)

    def repeat(self, index: int, *, applies: bool) -> None:
        """Every variant once per pass, the order turned by one each repeat."""
        order = list(VARIANTS)[index % 3 :] + list(VARIANTS)[: index % 3]
        for variant in order:
            result = self.render(variant, warm=WARM_PASSES)
            self.figures.add(RENDER_COLD, variant, result["seconds"][0])
            self.figures.add(RENDER_WARM, variant, statistics.median(result["seconds"][1:]))
            for name, runs in ((RENDER_COLD, result["engine_runs"][0]),
                               (RENDER_WARM, result["engine_runs"][-1])):  # fmt: skip
                self.figures.engine_runs.setdefault(name, {})[variant] = runs
            log(f"repeat {index + 1} {variant}: render {result['seconds']}")
        self.figures.add(SOPS_ALONE, SOPS, self.decrypt_alone())
        for variant in order if applies else ():
            seconds = self.apply(variant, name=f"noop-{index}")
            self.figures.add(APPLY_NOOP, variant, seconds)
            log(f"repeat {index + 1} {variant}: no-op apply {seconds:.2f} s")

    def count_launches(self, *, applies: bool) -> None:
        """Each pass once more, untimed, through a wrapper that counts sops's starts."""
        count = self.folder / "sops-launches"
        wrapper = self.folder / "sops-counting"
        wrapper.write_text(f'#!/bin/sh\necho x >> "{count}"\nexec "{self.sops}" "$@"\n')
        wrapper.chmod(0o755)

        def counted(run: Callable[..., object], variant: str, **options: Any) -> int:
            count.write_text("")
            run(variant, sops=wrapper, **options)
            return len(count.read_text().splitlines())

        for variant in (SOPS, PLAIN):
            cold = counted(self.render, variant, warm=0)
            both = counted(self.render, variant, warm=1)
            self.figures.launches.setdefault(RENDER_COLD, {})[variant] = cold
            self.figures.launches.setdefault(RENDER_WARM, {})[variant] = both - cold
            if applies:
                self.figures.launches.setdefault(APPLY_NOOP, {})[variant] = counted(
                    self.apply, variant, name="counted"
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.secrets", description=__doc__)
    parser.add_argument("--releases", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip", default="", help="apply: no `harmonia apply` passes.")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    arguments = parser.parse_args(argv)
    applies = "apply" not in arguments.skip.split(",")
    workdir = (arguments.workdir or Path(tempfile.mkdtemp(prefix="harmonia-secrets-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    stem = "secrets-" + started.strftime("%Y%m%dT%H%M%SZ")
    figures = Figures(arguments.releases)
    meta: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.secrets", *(argv or sys.argv[1:])]),
        "machine": {"cores": os.cpu_count(), "load_at_start": _load()},
        "versions": {
            "python": platform.python_version(),
            "harmonia": __version__,
            "commit": _commit(),
            "before": BEFORE_COMMIT,
        },
    }

    def publish() -> None:
        meta["machine"]["load_at_end"] = _load()
        write_report(arguments.results_dir.resolve(), stem, meta, figures)

    log(f"working in {workdir}")
    with own_cluster(workdir, log) as cluster, before_tree(workdir / "code-before"):
        meta["versions"].update(cluster.versions())
        meta["versions"]["sops"] = _sops_version(cluster.binaries["sops"])
        run = Run(cluster, arguments.releases, workdir, figures)
        try:
            for variant in VARIANTS if applies else ():
                figures.add(APPLY_COLD, variant, run.apply(variant, name="cold"))
                log(f"{variant}: cold apply {figures.samples(APPLY_COLD, variant)[-1]:.1f} s")
                publish()
            for index in range(arguments.repeats):
                run.repeat(index, applies=applies)
                publish()
            run.count_launches(applies=applies)
        except (BenchError, subprocess.SubprocessError, OSError) as error:
            figures.errors.append(str(error).splitlines()[0])
            log(f"FAILED: {error}")
        publish()
    log(f"done: {arguments.results_dir / stem}.md")
    return 0 if not figures.errors else 1


@contextmanager
def before_tree(folder: Path) -> Iterator[Path]:
    """A worktree of BEFORE_COMMIT outside the repository, removed afterwards."""
    git = ["git", "-C", str(REPOSITORY_ROOT)]
    subprocess.run([*git, "worktree", "add", "--detach", str(folder), BEFORE_COMMIT],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield folder
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(folder)],
                       check=False, capture_output=True)  # fmt: skip


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _sops_version(binary: Path) -> str:
    done = subprocess.run(
        [str(binary), "--version", "--disable-version-check"], capture_output=True, text=True
    )
    return done.stdout.split("\n", 1)[0].removeprefix("sops ").strip()


if __name__ == "__main__":
    sys.exit(main())
