"""Real SOPS files for tests: age keys made by the real age-keygen, files encrypted by the
real sops (both built by the dev cluster's recipe, devcluster/pins.py)."""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devcluster.build import ensure_binaries


@functools.cache
def binaries() -> dict[str, Path]:
    return ensure_binaries()


def sops_binary() -> Path:
    return binaries()["sops"]


@dataclass(frozen=True)
class AgeKey:
    identity_file: Path
    recipient: str


def age_key(folder: Path, name: str = "key") -> AgeKey:
    """A fresh age identity in `folder`/`name`.txt."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.txt"
    subprocess.run(
        [str(binaries()["age-keygen"]), "-o", str(path)],
        capture_output=True,
        check=True,
        timeout=30,
    )
    recipient = next(
        line.split(": ", 1)[1]
        for line in path.read_text().splitlines()
        if line.startswith("# public key: ")
    )
    return AgeKey(path, recipient)


def encrypted(text: str, key: AgeKey, *, file_type: str = "yaml", **options: str) -> str:
    """`text` encrypted by sops for `key` (`encrypted_regex="^password$"` and the like
    become `--encrypted-regex`)."""
    flags = [f"--{name.replace('_', '-')}={value}" for name, value in options.items()]
    completed = subprocess.run(
        [
            str(sops_binary()),
            "encrypt",
            "--age",
            key.recipient,
            "--input-type",
            file_type,
            "--output-type",
            file_type,
            *flags,
            "/dev/stdin",
        ],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, "SOPS_DISABLE_VERSION_CHECK": "true"},
        cwd="/",
    )
    return completed.stdout


def run_sops(
    folder: Path, *args: str, keys: tuple[AgeKey, ...], editor: Path | None = None
) -> None:
    """The real sops run in `folder` (`edit`, `set`, `rotate`, `updatekeys`...) with
    `keys` as its identities and `editor` as its EDITOR."""
    identities = folder / ".identities.txt"
    identities.write_text("".join(key.identity_file.read_text() for key in keys))
    environment = {
        **os.environ,
        "SOPS_DISABLE_VERSION_CHECK": "true",
        "SOPS_AGE_KEY_FILE": str(identities),
    }
    if editor is not None:
        environment["EDITOR"] = str(editor)
    try:
        subprocess.run(
            [str(sops_binary()), *args],
            cwd=folder,
            env=environment,
            capture_output=True,
            check=True,
            timeout=60,
        )
    finally:
        identities.unlink()


def files_holding(folder: Path, needle: str) -> list[Path]:
    """The files below `folder` whose bytes hold `needle`: where plaintext must not be."""
    return [p for p in folder.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]
