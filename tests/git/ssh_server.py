"""A real git-over-SSH remote on loopback for the Git source's SSH tests.

Run as its own process (so its event loop and sockets never meet pytest's
warnings filter): it prints its port, then serves `git-upload-pack <path>`
(protocol v0) to clients whose key is authorised, until it is terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import sys

import asyncssh


async def serve_git_upload_pack(process: asyncssh.SSHServerProcess[bytes]) -> None:
    command = shlex.split(process.command or "")
    if len(command) != 2 or command[0] not in ("git-upload-pack", "git upload-pack"):
        process.stderr.write(b"only git-upload-pack is served here\n")
        process.exit(1)
        return
    # GIT_PROTOCOL is not passed on: the server speaks protocol v0 only and, like
    # many hosted servers, refuses to send a commit that no ref advertises.
    env = {key: value for key, value in os.environ.items() if key != "GIT_PROTOCOL"}
    upload_pack = await asyncio.create_subprocess_exec(
        "git-upload-pack",
        "--strict",
        command[1],
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    await process.redirect(
        stdin=upload_pack.stdin, stdout=upload_pack.stdout, stderr=upload_pack.stderr
    )
    process.exit(await upload_pack.wait())


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host-key", required=True)
    parser.add_argument("--authorized-keys", required=True)
    args = parser.parse_args()
    server = await asyncssh.create_server(
        asyncssh.SSHServer,
        "127.0.0.1",
        0,
        server_host_keys=[args.host_key],
        authorized_client_keys=args.authorized_keys,
        process_factory=serve_git_upload_pack,
        encoding=None,
        allow_scp=False,
    )
    print(server.get_port(), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
