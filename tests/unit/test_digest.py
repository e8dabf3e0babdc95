"""sha256_hex is sha256, whatever the length and however it slices the input."""

from __future__ import annotations

import hashlib

import pytest

from reconciler.digest import sha256_hex


@pytest.mark.parametrize("length", [0, 1, 2046, 2047, 2048, 4094, 4095, 10_000, 1_000_003])
def test_sha256_hex_is_hashlibs_sha256_at_every_length(length: int) -> None:
    data = bytes(range(256)) * (length // 256) + bytes(length % 256)

    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
