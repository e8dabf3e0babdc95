"""A smart-HTTP Git remote that fails or races on cue, for the fault tests.

It is `tests/git/http_server.py`'s token-guarded server, plus a control folder: while
`<control>/broken` exists every request is answered 500; when `<control>/before-push`
exists, the next push's ref advertisement first runs the command it holds (NUL-separated)
and deletes it, so that someone else's push lands between Harmonia's fetch and its push.
Run as `python -m tests.faults.http_remote` from the repository root; prints its port.
"""

from __future__ import annotations

import argparse
import subprocess
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.git.http_server import GitHttpHandler


class FaultyGitHandler(GitHttpHandler):
    control: Path

    def serve(self) -> None:
        if (self.control / "broken").exists():
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.authorised() and self.advertises_for_push():
            self.run_competitor()
        super().serve()

    def advertises_for_push(self) -> bool:
        url = urlsplit(self.path)
        asked = parse_qs(url.query).get("service", [])
        return url.path.endswith("/info/refs") and asked == ["git-receive-pack"]

    def run_competitor(self) -> None:
        cue = self.control / "before-push"
        try:
            command = cue.read_text().split("\0")
        except FileNotFoundError:
            return
        cue.unlink()
        subprocess.run(command, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--control", required=True)
    args = parser.parse_args()
    FaultyGitHandler.root = args.root
    FaultyGitHandler.token = args.token
    FaultyGitHandler.control = Path(args.control)
    with ThreadingHTTPServer(("127.0.0.1", 0), FaultyGitHandler) as server:
        print(server.server_address[1], flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
