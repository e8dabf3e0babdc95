"""`POST /hooks/<provider>` on a real server on loopback: what each delivery is answered
and which of them ask for a pass. The secret is a real file; the pass asked for is
recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.loop.hook_receiver import HookAnswer, WebhookReceiver
from reconciler.loop.http_limits import MAX_HOOK_BODY_BYTES, REQUEST_TIMEOUT_SECONDS
from reconciler.loop.metrics import Metrics
from reconciler.loop.pass_queue import PassRequest
from reconciler.loop.server import Endpoints, ObservabilityServer
from tests.unit.test_server import Answer, Providers

SECRET = "hook-secret-7f3a"
REMOTE = "https://github.com/acme/releases.git"


def push(ref: str = "refs/heads/main", full_name: str = "acme/releases") -> bytes:
    return json.dumps(
        {
            "ref": ref,
            "repository": {
                "full_name": full_name,
                "clone_url": f"https://github.com/{full_name}.git",
                "default_branch": "main",
            },
        }
    ).encode()


def github_headers(body: bytes, delivery: str, secret: str = SECRET) -> dict[str, str]:
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": f"sha256={mac}",
    }


@dataclass
class Hooks:
    """The receiver's surroundings: the secret file, the Lease, the passes asked for."""

    secret_file: Path
    leading: bool = True
    asked: list[PassRequest] = field(default_factory=list)
    crash: bool = False

    def ask(self, request: PassRequest) -> None:
        if self.crash:
            raise RuntimeError(f"asking failed with {SECRET}")
        self.asked.append(request)


Post = Callable[..., Answer]


def serve(
    hook: Callable[[str, Mapping[str, str], bytes], HookAnswer] | None,
) -> ObservabilityServer:
    providers = Providers()
    endpoints = Endpoints(
        Metrics(), providers.readiness, providers.releases, providers.release, hook=hook
    )
    server = ObservabilityServer("127.0.0.1:0", endpoints)
    server.start()
    return server


@pytest.fixture
def hooks(tmp_path: Path) -> Hooks:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    return Hooks(secret_file)


@pytest.fixture
def server(hooks: Hooks) -> Iterator[ObservabilityServer]:
    receiver = WebhookReceiver(
        hooks.secret_file,
        url=REMOTE,
        ref="main",
        acting=lambda: hooks.leading,
        ask=hooks.ask,
    )
    running = serve(receiver.receive)
    yield running
    running.stop()


def post_to(port: int, path: str, body: bytes, headers: dict[str, str]) -> Answer:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return Answer(reply.status, reply.read(), reply.headers)
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.read(), error.headers)


@pytest.fixture
def post(server: ObservabilityServer) -> Post:
    def request(
        path: str = "/hooks/github", *, body: bytes | None = None, **headers: str
    ) -> Answer:
        return post_to(server.port, path, push() if body is None else body, headers)

    return request


def test_a_signed_push_to_the_followed_branch_asks_for_a_fetch_and_a_full_pass(
    post: Post, hooks: Hooks
) -> None:
    answer = post(**github_headers(push(), "d-1"))
    assert (answer.status, answer.json()["result"]) == (202, "accepted")
    assert hooks.asked == [PassRequest(full=True, fetch=True, reasons=("push to refs/heads/main",))]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-2"},
        {**github_headers(push(), "d-3", secret="wrong"), "X-GitHub-Delivery": "d-3"},
        {**github_headers(push("refs/heads/other"), "d-4")},
    ],
    ids=["missing", "another-secret", "signature-of-another-body"],
)
def test_a_missing_or_wrong_signature_is_401_and_asks_for_nothing(
    post: Post, hooks: Hooks, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        answer = post(**headers)
    assert answer.status == 401
    assert answer.json()["error"].startswith("signature refused: ")
    assert hooks.asked == []
    assert "github webhook (delivery d-" in caplog.text and "refused" in caplog.text
    assert SECRET not in caplog.text + answer.body.decode()
    assert "Traceback" not in caplog.text


def test_a_replayed_delivery_is_acknowledged_and_asks_for_nothing_more(
    post: Post, hooks: Hooks
) -> None:
    first = post(**github_headers(push(), "same-id"))
    again = post(**github_headers(push(), "same-id"))
    assert (first.status, again.status) == (202, 200)
    assert again.json() == {
        "result": "ignored",
        "detail": "delivery same-id was received already",
    }
    assert len(hooks.asked) == 1


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (push("refs/heads/feature"), "a push to refs/heads/feature, not the followed main"),
        (push(full_name="acme/other"), "a push to another repository (acme/other)"),
    ],
)
def test_a_push_to_another_ref_or_repository_is_acknowledged_and_ignored(
    post: Post, hooks: Hooks, body: bytes, detail: str
) -> None:
    answer = post(body=body, **github_headers(body, "d-5"))
    assert answer.status == 200
    assert answer.json() == {"result": "ignored", "detail": detail}
    assert hooks.asked == []


def test_a_standby_answers_503_asks_for_nothing_and_forgets_the_delivery(
    post: Post, hooks: Hooks
) -> None:
    hooks.leading = False
    standby = post(**github_headers(push(), "d-6"))
    assert standby.status == 503
    assert "standing by" in standby.json()["error"]
    assert hooks.asked == []
    hooks.leading = True
    assert post(**github_headers(push(), "d-6")).status == 202


def test_a_standby_says_it_is_not_the_leader_and_when_to_try_again(
    post: Post, hooks: Hooks
) -> None:
    hooks.leading = False
    standby = post(**github_headers(push(), "d-6b"))
    assert standby.status == 503
    assert "not the leader" in standby.json()["error"]
    assert standby.headers["Retry-After"] == "15"


def test_a_ping_is_answered_and_starts_nothing(post: Post, hooks: Hooks) -> None:
    answer = post(**{**github_headers(push(), "d-7"), "X-GitHub-Event": "ping"})
    assert answer.status == 200
    assert answer.json() == {"result": "ignored", "detail": "a ping event starts nothing"}
    assert hooks.asked == []


def test_a_signed_body_that_is_not_json_is_a_400_naming_the_host(post: Post, hooks: Hooks) -> None:
    body = b"payload=%7B%7D"
    answer = post(body=body, **github_headers(body, "d-8"))
    assert answer.status == 400
    assert answer.json()["error"].startswith("not a github push payload (a JSON body): ")
    assert hooks.asked == []


def test_each_host_s_own_signature_is_accepted_on_its_own_route(post: Post, hooks: Hooks) -> None:
    gitlab = json.dumps(
        {"ref": "refs/heads/main", "project": {"path_with_namespace": "acme/releases"}}
    ).encode()
    mac = lambda body: hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()  # noqa: E731
    answers = [
        post("/hooks/gitlab", body=gitlab, **{"X-Gitlab-Token": SECRET}),
        post("/hooks/gitea", **{"X-Gitea-Signature": mac(push()), "X-Gitea-Event": "push"}),
        post("/hooks/gitea", **{"X-Forgejo-Signature": mac(push())}),
        post("/hooks/generic", body=b"{}", **{"X-Harmonia-Signature": f"sha256={mac(b'{}')}"}),
    ]
    assert [answer.status for answer in answers] == [202, 202, 202, 202]
    assert len(hooks.asked) == 4


def test_a_body_over_the_limit_is_413_before_it_is_read(post: Post, hooks: Hooks) -> None:
    body = b"x" * (MAX_HOOK_BODY_BYTES + 1)
    answer = post(body=body, **github_headers(body, "d-9"))
    assert answer.status == 413
    assert answer.json() == {"error": f"the body exceeds {MAX_HOOK_BODY_BYTES} bytes"}
    assert hooks.asked == []


def test_a_chunked_body_over_the_limit_is_413_once_the_limit_is_passed(
    server: ObservabilityServer, hooks: Hooks
) -> None:
    chunk = b"x" * 65536
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(
            b"POST /hooks/github HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(MAX_HOOK_BODY_BYTES // len(chunk) + 1):
            connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        connection.sendall(b"0\r\n\r\n")
        answer = connection.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert hooks.asked == []


def test_a_body_that_trickles_in_is_408_after_the_request_timeout(
    server: ObservabilityServer, hooks: Hooks
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        connection.sendall(
            b"POST /hooks/github HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
        )
        started = time.monotonic()
        answer = connection.recv(4096)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert REQUEST_TIMEOUT_SECONDS - 1 <= waited <= REQUEST_TIMEOUT_SECONDS + 5
    assert hooks.asked == []


def test_a_rotated_secret_counts_from_the_next_delivery(post: Post, hooks: Hooks) -> None:
    hooks.secret_file.write_text("rotated-secret")
    assert post(**github_headers(push(), "d-10")).status == 401
    assert post(**github_headers(push(), "d-11", secret="rotated-secret")).status == 202


def test_an_unreadable_secret_file_is_503_and_the_log_names_the_file(
    post: Post, hooks: Hooks, caplog: pytest.LogCaptureFixture
) -> None:
    hooks.secret_file.unlink()
    answer = post(**github_headers(push(), "d-12"))
    assert answer.status == 503
    assert answer.json() == {"error": "the webhook secret cannot be read; see the log"}
    assert f"webhook secret file {hooks.secret_file}: No such file or directory" in caplog.text
    assert hooks.asked == []


def test_a_crash_while_asking_is_a_500_without_detail_or_secret(
    post: Post, hooks: Hooks, caplog: pytest.LogCaptureFixture
) -> None:
    hooks.crash = True
    answer = post(**github_headers(push(), "d-13"))
    assert answer.status == 500
    assert answer.json() == {"error": "internal error; see the reconciler's log"}
    assert SECRET not in answer.body.decode()


@pytest.mark.parametrize("path", ["/hooks/bitbucket", "/hooks", "/hooks/github/x"])
def test_an_unknown_hook_is_a_json_404(post: Post, path: str) -> None:
    answer = post(path, **github_headers(push(), "d-14"))
    assert answer.status == 404
    assert "error" in answer.json()


def test_a_get_of_a_hook_is_405(server: ObservabilityServer) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/hooks/github")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 405
    refused.value.close()


def test_without_a_secret_file_every_hook_is_404_saying_webhooks_are_off() -> None:
    asked: list[PassRequest] = []
    receiver = WebhookReceiver(None, url=REMOTE, ref="main", acting=lambda: True, ask=asked.append)
    running = serve(receiver.receive)
    try:
        answer = post_to(running.port, "/hooks/github", push(), github_headers(push(), "x"))
    finally:
        running.stop()
    assert answer.status == 404
    assert answer.json() == {
        "error": "webhooks are off: harmonia run was started without --webhook-secret-file"
    }
    assert asked == []


def test_a_server_given_no_hook_has_no_hook_route() -> None:
    running = serve(None)
    try:
        answer = post_to(running.port, "/hooks/github", push(), github_headers(push(), "x"))
    finally:
        running.stop()
    assert answer.status == 404
    assert answer.json() == {"error": "no such route: POST /hooks/github"}


@pytest.mark.parametrize(("content", "problem"), [(None, "No such file"), ("\n", "empty")])
def test_harmonia_run_refuses_a_secret_file_it_cannot_use_at_start(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    secret_file = tmp_path / "secret"
    if content is not None:
        secret_file.write_text(content)
    result = CliRunner().invoke(
        cli, ["run", "--repo", REMOTE, "--webhook-secret-file", str(secret_file)]
    )
    assert result.exit_code == 2, result.output
    assert f"webhook secret file {secret_file}: {problem}" in result.output
