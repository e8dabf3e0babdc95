"""One process of the renderer benchmark (`bench/render.py`): the desired state of a
repository computed once with an empty render cache, Helm charts rendered either by one
`helm template` per release (no renderer) or by harmonia-renderer.

Prints one JSON line: the pass's seconds, how many engines ran, and per release the
sha256 of the exact text helm (or the renderer) printed, so the driver can check the two
byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from reconciler.desired import Tools, compute_desired_state
from reconciler.policy import load_policy
from reconciler.render.environment import choose_versions
from reconciler.render.helm import engine
from reconciler.render.manifests.parse import parse_manifests as original_parse
from reconciler.render.model import KubeObject

digests: dict[str, str] = {}


def recording_parse(text: str, *, subject: str) -> tuple[KubeObject, ...]:
    """engine.parse_manifests, noting the digest of the text it is given: the engine's
    output as printed, whichever engine printed it."""
    digests[subject] = hashlib.sha256(text.encode()).hexdigest()
    return original_parse(text, subject=subject)


def one_pass(arguments: argparse.Namespace) -> dict[str, Any]:
    # The engine's own name for the parser, so both ways are recorded at the same point.
    setattr(engine, "parse_manifests", recording_parse)  # noqa: B010
    tools = Tools(
        helm=arguments.helm, kubectl=None, cache_dir=arguments.cache, renderer=arguments.renderer
    )
    started = time.monotonic()
    state = compute_desired_state(
        arguments.repository,
        policy=load_policy(None),
        versions_for=lambda config: choose_versions(config, cluster=None),
        tools=tools,
    )
    seconds = time.monotonic() - started
    if state.render.failed or state.render.blocked or state.has_errors:
        failed = sorted(str(key) for key in state.render.failed)[:3]
        raise SystemExit(f"render: {len(state.render.failed)} failed ({failed})")
    return {
        "seconds": seconds,
        "engine_runs": state.render.engine_runs,
        "releases": len(state.render.rendered),
        "digests": digests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("repository", type=Path)
    parser.add_argument("--cache", type=Path, required=True, help="A new, empty folder.")
    parser.add_argument("--helm", type=Path, required=True)
    parser.add_argument("--renderer", type=Path, help="Render with harmonia-renderer.")
    print(json.dumps(one_pass(parser.parse_args())))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
