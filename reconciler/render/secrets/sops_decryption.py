"""SOPS files resolved into token maps: decrypted by the real `sops`, or placeholders.

Rendering asks a `SecretSource` for the token map of each SOPS file a release reads
(`reconciler.sops`). `SopsDecryption` feeds the document to `sops decrypt` on stdin
(plaintext never touches the disk) in a minimal environment, with the key types the
operator did not enable taken out of its metadata first, so a commit cannot make sops
contact a host of its choosing. What it decrypted stays in the process's memory, under
a hash of the document, the key file and sops's environment, so a running reconciler
runs sops again only for a file or key that changed. `Placeholders` is what review
without a key uses (`validate`, `diff --base/--head`): it never runs sops.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from reconciler.render.model import RenderError
from reconciler.sops import (
    DEFAULT_KEY_TYPES,
    MismatchedTree,
    decrypted_tokens,
    placeholder_tokens,
    recipients,
    with_key_types,
)
from reconciler.types import JsonObject, JsonValue

SOPS_NOT_FOUND = "sops not found: put it on PATH or set HARMONIA_SOPS to its path"
DEFAULT_TIMEOUT = 30.0
"""Seconds one `sops decrypt` may take (a cloud KMS call included)."""

PASSED_THROUGH = (
    "SOPS_AGE_KEY",
    "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
    "SOPS_DECRYPTION_ORDER",
    "GNUPGHOME",
    "SOPS_GPG_EXEC",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CREDENTIALS",
)
"""The credentials sops reads for age, PGP and the cloud KMS types."""
PASSED_THROUGH_WHEN_ENABLED = {
    "hc_vault": ("VAULT_ADDR", "VAULT_TOKEN", "VAULT_NAMESPACE", "VAULT_CACERT"),
    "azure_kv": (
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_FEDERATED_TOKEN_FILE",
        "AZURE_AUTHORITY_HOST",
    ),
}
"""Credentials of the opt-in key types: handed to sops only when the type is enabled."""

MEMORY_ENTRIES = 4096
"""SOPS files the process keeps decrypted, in memory only, so that a running reconciler's
next pass does not run sops again for a file that did not change."""
_decrypted: OrderedDict[str, dict[str, JsonValue]] = OrderedDict()
_decrypted_lock = threading.Lock()

_REMOTE_KEY_TYPES = frozenset({"kms", "gcp_kms", "azure_kv", "hc_vault"})
_EXIT_NO_KEY = 128
_EXIT_TAMPERED = frozenset({24, 25, 51, 52})
_QUOTED_STDERR = 400


class DecryptionError(RenderError):
    """A SOPS file could not be decrypted: the release reading it fails alone.

    Temporary when a retry may succeed (a timeout, a cloud KMS that did not answer);
    permanent otherwise (no key, a wrong key, a tampered file, no sops)."""

    def __init__(self, message: str, *, temporary: bool = False) -> None:
        super().__init__(message)
        self.temporary = temporary


@dataclass(frozen=True)
class SopsSettings:
    """How the reconciler decrypts: fixed for its lifetime (flags, environment)."""

    binary: Path | None
    """None when no sops was found: only releases reading SOPS files fail."""
    age_key_file: Path | None = None
    key_types: frozenset[str] = DEFAULT_KEY_TYPES
    timeout: float = DEFAULT_TIMEOUT


class SecretSource(Protocol):
    """Gives the token map of a SOPS document read from `file` (for messages)."""

    @property
    def decrypts(self) -> bool: ...

    def tokens(self, document: JsonObject, *, file: str) -> dict[str, JsonValue]: ...


@dataclass(frozen=True)
class Placeholders:
    """Review without a key: every token stands for its placeholder; sops never runs."""

    @property
    def decrypts(self) -> bool:
        return False

    def tokens(self, document: JsonObject, *, file: str) -> dict[str, JsonValue]:
        return placeholder_tokens(document)


@dataclass(frozen=True)
class SopsDecryption:
    """Decryption by the real `sops`, on stdin, in a minimal environment."""

    settings: SopsSettings

    @property
    def decrypts(self) -> bool:
        return True

    def tokens(self, document: JsonObject, *, file: str) -> dict[str, JsonValue]:
        """Raises DecryptionError naming `file` and who could decrypt it."""
        settings = self.settings
        if settings.binary is None:
            raise DecryptionError(f"{file} could not be decrypted: {SOPS_NOT_FOUND}")
        trimmed = with_key_types(document, settings.key_types)
        sent = json.dumps(trimmed).encode()
        environment = sops_environment(settings)
        remembered = _memory_key(environment, settings, sent)
        with _decrypted_lock:
            if remembered in _decrypted:
                _decrypted.move_to_end(remembered)
                return dict(_decrypted[remembered])
        try:
            completed = subprocess.run(
                [
                    str(settings.binary),
                    "decrypt",
                    "--input-type",
                    "json",
                    "--output-type",
                    "json",
                    "/dev/stdin",
                ],
                input=sent,
                capture_output=True,
                env=environment,
                cwd="/",
                timeout=settings.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DecryptionError(
                f"{file} could not be decrypted: sops did not finish within {settings.timeout:g}s",
                temporary=True,
            ) from None
        except OSError as error:
            raise DecryptionError(
                f"{file} could not be decrypted: sops did not start: {error.strerror}"
            ) from None
        if completed.returncode != 0:
            raise _failure(
                document, trimmed, file, completed.returncode, completed.stderr, settings
            )
        try:
            tokens = decrypted_tokens(document, json.loads(completed.stdout))
        except (ValueError, MismatchedTree) as error:
            # Never quote sops's output: it is plaintext.
            raise DecryptionError(
                f"{file} could not be decrypted: sops's output does not match the file "
                f"({type(error).__name__})"
            ) from None
        with _decrypted_lock:
            _decrypted[remembered] = tokens
            while len(_decrypted) > MEMORY_ENTRIES:
                _decrypted.popitem(last=False)
        return dict(tokens)


def _memory_key(environment: dict[str, str], settings: SopsSettings, sent: bytes) -> str:
    """What a decryption depends on: the document sent, the binary, the key types, the
    environment sops gets (credentials included) and the age key file's content, so a
    changed key or key file is never answered from memory. Only successes are kept."""
    digest = hashlib.sha256()
    for part in (str(settings.binary), *sorted(settings.key_types), *sorted(environment.items())):
        digest.update(repr(part).encode() + b"\0")
    if settings.age_key_file is not None:
        try:
            digest.update(settings.age_key_file.read_bytes())
        except OSError:
            digest.update(b"no key file")
    digest.update(sent)
    return digest.hexdigest()


def sops_environment(settings: SopsSettings) -> dict[str, str]:
    """PATH, HOME, the key file and the credentials of the enabled key types; no version
    check (sops would ask api.github.com)."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/"),
        "SOPS_DISABLE_VERSION_CHECK": "true",
    }
    names = list(PASSED_THROUGH)
    for kind, variables in PASSED_THROUGH_WHEN_ENABLED.items():
        if kind in settings.key_types:
            names.extend(variables)
    environment.update({name: os.environ[name] for name in names if name in os.environ})
    if settings.age_key_file is not None:
        environment["SOPS_AGE_KEY_FILE"] = str(settings.age_key_file)
    return environment


def _failure(
    document: JsonObject,
    trimmed: JsonObject,
    file: str,
    code: int,
    stderr: bytes,
    settings: SopsSettings,
) -> DecryptionError:
    """Why sops failed, saying who could decrypt the file. sops prints no plaintext in
    its errors; its text is quoted only for an exit code this does not know."""
    everyone = recipients(document)
    usable = recipients(trimmed)
    named = ", ".join(everyone) or "no recipients"
    subject = f"{file} could not be decrypted"
    if code == _EXIT_NO_KEY:
        if not usable:
            return DecryptionError(
                f"{subject}: it is encrypted only for key types not enabled ({named}); "
                "allow them with --sops-allow-key-type"
            )
        remote = any(entry.split(" ", 1)[0] in _REMOTE_KEY_TYPES for entry in usable)
        return DecryptionError(
            f"{subject}: no key could decrypt it; it is encrypted for {named}"
            + _missing_key_file(settings),
            temporary=remote,
        )
    if code in _EXIT_TAMPERED:
        return DecryptionError(
            f"{subject}: it was altered after encryption (a value or its MAC does not "
            f"verify); encrypt it again with sops (encrypted for {named})"
        )
    said = " ".join(stderr.decode(errors="replace").split())[:_QUOTED_STDERR]
    return DecryptionError(f"{subject}: sops failed (exit {code}): {said}")


def _missing_key_file(settings: SopsSettings) -> str:
    """The likely reason when the age key file named does not exist (an optional Secret
    that was never created, a typo)."""
    path = settings.age_key_file
    if path is None or path.is_file():
        return ""
    return f" (the age key file {path} does not exist)"
