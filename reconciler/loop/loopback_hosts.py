"""Whether a request to a server listening on loopback was meant for this machine.

`harmonia ui` listens on 127.0.0.1 with no token: whoever can connect is the laptop's user.
A web page can still connect, through its browser, by DNS rebinding: its own name made to
resolve to 127.0.0.1, the page then reads the UI's pages and API as same-origin answers. The
browser sends that name in `Host`, so a server on loopback answers only requests whose
`Host` names loopback (`localhost`, `127.x.x.x`, `[::1]`). Pure.
"""

from __future__ import annotations

import ipaddress

LOCALHOST = "localhost"


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 bracketed or not) is this machine's
    loopback: `localhost` or an address of 127.0.0.0/8 or ::1. Not `""` (every interface)."""
    bare = host.strip().lower().removeprefix("[").removesuffix("]")
    if bare == LOCALHOST:
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def names_loopback(host_header: str) -> bool:
    """Whether a `Host` header (`name`, `name:port`, `[v6]:port`) names loopback."""
    text = host_header.strip()
    if text.startswith("["):
        if "]" not in text:
            return False
        host = text[: text.find("]") + 1]
    else:
        host = text.rpartition(":")[0] if ":" in text else text
    return is_loopback(host)
