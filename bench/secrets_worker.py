"""One process of issue 21's benchmark (`bench/secrets.py`): the desired state of a
repository computed in process, cold and then again with the same caches, as a running
reconciler computes it every pass.

Run as a script (`python -P`: bench/ must not shadow the standard library's `secrets`),
not as `bench.…`, so that `PYTHONPATH` picks the code measured: the tree of today or a
worktree of the commit before SOPS support. It imports only what both
have. Prints one JSON line: seconds per pass, helm runs per pass, where `reconciler` came
from.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import reconciler
from reconciler.desired import Tools, compute_desired_state
from reconciler.policy import load_policy
from reconciler.render.environment import choose_versions


def passes(arguments: argparse.Namespace) -> dict[str, Any]:
    """Pass 1 finds empty caches (a new cache folder, a new process: nothing in memory);
    the passes after it find what pass 1 left, on disk and in this process's memory."""
    extra: dict[str, Any] = {}
    if arguments.sops is not None:
        from reconciler.render.secrets.sops_decryption import SopsSettings

        extra["sops"] = SopsSettings(binary=arguments.sops, age_key_file=arguments.age_key_file)
    tools = Tools(helm=arguments.helm, kubectl=None, cache_dir=arguments.cache, **extra)
    seconds: list[float] = []
    engine_runs: list[int] = []
    for _ in range(1 + arguments.warm):
        started = time.monotonic()
        state = compute_desired_state(
            arguments.repository,
            policy=load_policy(None),
            versions_for=lambda config: choose_versions(config, cluster=None),
            tools=tools,
        )
        seconds.append(time.monotonic() - started)
        engine_runs.append(state.render.engine_runs)
        if state.render.failed or state.render.blocked or state.has_errors:
            failed = sorted(state.render.failed)[:3]
            raise SystemExit(f"render: {len(state.render.failed)} failed ({failed}), "
                             f"{len(state.render.blocked)} blocked")  # fmt: skip
        rendered = len(state.render.rendered)
    return {
        "seconds": seconds,
        "engine_runs": engine_runs,
        "releases": rendered,
        "code": str(Path(reconciler.__file__).parent.parent),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("repository", type=Path)
    parser.add_argument("--cache", type=Path, required=True, help="A new, empty folder.")
    parser.add_argument("--helm", type=Path, required=True)
    parser.add_argument("--sops", type=Path, help="Decrypt with this sops (code with SOPS).")
    parser.add_argument("--age-key-file", type=Path)
    parser.add_argument("--warm", type=int, default=2, help="Passes after the cold one.")
    print(json.dumps(passes(parser.parse_args())))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
