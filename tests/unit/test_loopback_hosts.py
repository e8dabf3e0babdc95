"""Which `Host` headers name loopback (`loopback_hosts.py`): what `harmonia ui` on loopback
answers, so that no DNS-rebinding page reads it."""

from __future__ import annotations

import pytest

from reconciler.loop.loopback_hosts import is_loopback, names_loopback


@pytest.mark.parametrize(
    "header",
    [
        "localhost",
        "LOCALHOST:8484",
        "127.0.0.1",
        "127.0.0.1:8484",
        "127.1.2.3:1",
        "[::1]",
        "[::1]:80",
    ],
)
def test_a_host_naming_loopback_is_this_machines(header: str) -> None:
    assert names_loopback(header)


@pytest.mark.parametrize(
    "header",
    [
        "attacker.example",
        "attacker.example:8484",
        "127.0.0.1.nip.io:8484",
        "localhost.attacker.example",
        "10.0.0.1:8484",
        "[::2]:8484",
        "[::1",
        "::1",
        "",
    ],
)
def test_a_host_naming_anything_else_is_not(header: str) -> None:
    assert not names_loopback(header)


def test_every_interface_is_not_loopback_and_a_loopback_address_is() -> None:
    assert [is_loopback(host) for host in ("", "0.0.0.0", "127.0.0.1", "::1", "localhost")] == [
        False,
        False,
        True,
        True,
        True,
    ]
