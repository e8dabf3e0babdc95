"""Push webhooks, the pure part: each host's signature, its push payload, and whether a
push is to the repository and ref the reconciler follows."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from reconciler.loop.webhooks import (
    PushTarget,
    delivery_id,
    event_kind,
    ignored_because,
    push_target,
    repository_path,
    verify,
)

SECRET = "s3cret-value"
BODY = b'{"ref": "refs/heads/main"}'


def hex_mac(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


SIGNED = {
    "github": {"x-hub-signature-256": f"sha256={hex_mac(BODY)}"},
    "gitlab": {"x-gitlab-token": SECRET},
    "gitea": {"x-gitea-signature": hex_mac(BODY)},
    "generic": {"x-harmonia-signature": f"sha256={hex_mac(BODY)}"},
}


@pytest.mark.parametrize("provider", sorted(SIGNED))
def test_a_delivery_signed_with_the_secret_is_verified(provider: str) -> None:
    assert verify(provider, SIGNED[provider], BODY, SECRET) is None


def test_forgejo_s_own_signature_header_is_verified_by_the_gitea_hook() -> None:
    assert verify("gitea", {"x-forgejo-signature": hex_mac(BODY)}, BODY, SECRET) is None


@pytest.mark.parametrize("provider", sorted(SIGNED))
def test_a_signature_made_with_another_secret_is_refused(provider: str) -> None:
    problem = verify(provider, SIGNED[provider], BODY, "another-secret")
    assert problem is not None and "does not match" in problem
    assert SECRET not in problem


@pytest.mark.parametrize("provider", ["github", "gitea", "generic"])
def test_a_body_changed_after_signing_is_refused(provider: str) -> None:
    problem = verify(provider, SIGNED[provider], BODY + b" ", SECRET)
    assert problem is not None and "does not match the body" in problem


@pytest.mark.parametrize("provider", sorted(SIGNED))
def test_a_delivery_without_a_signature_is_refused_naming_the_header(provider: str) -> None:
    problem = verify(provider, {"content-type": "application/json"}, BODY, SECRET)
    assert problem is not None and problem.startswith("no x-")


@pytest.mark.parametrize(
    "given", ["", "sha256=", "sha1=abc", hex_mac(BODY), "sha256=zz", "sha256=\u00e9\u00e9"]
)
def test_malformed_github_signatures_are_refused_not_crashed_on(given: str) -> None:
    assert verify("github", {"x-hub-signature-256": given}, BODY, SECRET) is not None


def test_a_gitlab_token_that_only_begins_like_the_secret_is_refused() -> None:
    assert verify("gitlab", {"x-gitlab-token": SECRET[:-1]}, BODY, SECRET) is not None
    assert verify("gitlab", {"x-gitlab-token": SECRET + "x"}, BODY, SECRET) is not None


@pytest.mark.parametrize(
    ("provider", "headers", "expected"),
    [
        ("github", {"x-github-delivery": "72d3162e"}, "72d3162e"),
        ("gitlab", {"x-gitlab-event-uuid": "13792a34"}, "13792a34"),
        ("gitea", {"x-gitea-delivery": "f6266f16"}, "f6266f16"),
        ("gitea", {"x-forgejo-delivery": "f6266f17"}, "f6266f17"),
        ("generic", {"x-harmonia-delivery": "run-42"}, "run-42"),
        ("github", {}, None),
        ("github", {"x-github-delivery": "  "}, None),
        ("github", {"x-github-delivery": "a\x1b[31mb\x00"}, "a[31mb"),
        ("github", {"x-github-delivery": "d" * 500}, "d" * 128),
    ],
)
def test_each_host_s_delivery_id_is_read_from_its_header(
    provider: str, headers: dict[str, str], expected: str | None
) -> None:
    assert delivery_id(provider, headers) == expected


@pytest.mark.parametrize(
    ("provider", "headers", "expected"),
    [
        ("github", {"x-github-event": "push"}, "push"),
        ("github", {"x-github-event": "ping"}, "ping"),
        ("github", {"x-github-event": "issues"}, "issues"),
        ("gitlab", {"x-gitlab-event": "Push Hook"}, "push"),
        ("gitlab", {"x-gitlab-event": "Tag Push Hook"}, "push"),
        ("gitlab", {"x-gitlab-event": "Merge Request Hook"}, "merge request hook"),
        ("gitea", {"x-gitea-event": "push"}, "push"),
        ("gitea", {"x-forgejo-event": "push"}, "push"),
        ("generic", {}, "push"),
    ],
)
def test_the_event_kind_says_push_ping_or_the_host_s_name(
    provider: str, headers: dict[str, str], expected: str
) -> None:
    assert event_kind(provider, headers) == expected


# -- payloads -------------------------------------------------------------------------


GITHUB_PUSH = {
    "ref": "refs/heads/main",
    "repository": {
        "full_name": "Acme/Releases",
        "clone_url": "https://github.com/Acme/Releases.git",
        "ssh_url": "git@github.com:Acme/Releases.git",
        "html_url": "https://github.com/Acme/Releases",
        "default_branch": "main",
    },
}
GITLAB_PUSH = {
    "object_kind": "push",
    "ref": "refs/heads/main",
    "project": {
        "path_with_namespace": "platform/deploy/releases",
        "git_http_url": "https://gitlab.example/platform/deploy/releases.git",
        "git_ssh_url": "git@gitlab.example:platform/deploy/releases.git",
        "web_url": "https://gitlab.example/platform/deploy/releases",
        "default_branch": "main",
    },
}
GITEA_PUSH = {
    "ref": "refs/heads/release",
    "repository": {
        "full_name": "ops/releases",
        "clone_url": "http://gitea.example:3000/ops/releases.git",
        "ssh_url": "ssh://git@gitea.example:2222/ops/releases.git",
        "default_branch": "main",
    },
}


def test_a_github_push_names_its_repository_by_every_url_and_its_full_name() -> None:
    target = push_target("github", GITHUB_PUSH)
    assert target == PushTarget(frozenset({"acme/releases"}), "refs/heads/main", "main")


def test_a_gitlab_push_names_its_project_with_its_subgroups() -> None:
    target = push_target("gitlab", GITLAB_PUSH)
    assert target.repositories == {"platform/deploy/releases"}
    assert (target.ref, target.default_branch) == ("refs/heads/main", "main")


def test_a_gitea_push_names_its_repository_and_branch() -> None:
    target = push_target("gitea", GITEA_PUSH)
    assert target == PushTarget(frozenset({"ops/releases"}), "refs/heads/release", "main")


def test_a_generic_push_may_name_a_repository_and_ref_or_neither() -> None:
    named = push_target("generic", {"repository": "git@h:ops/r.git", "ref": "refs/heads/x"})
    assert named == PushTarget(frozenset({"ops/r"}), "refs/heads/x")
    assert push_target("generic", {}) == PushTarget(frozenset(), None)


@pytest.mark.parametrize(
    ("provider", "payload", "message"),
    [
        ("github", [], "not a JSON object"),
        ("github", {"repository": GITHUB_PUSH["repository"]}, "names no ref"),
        ("github", {"ref": "refs/heads/main"}, "names no repository"),
        ("gitlab", {"ref": "refs/heads/main", "project": "x"}, "names no repository"),
        ("generic", {"repository": 3}, "repository must be"),
        ("generic", {"ref": ""}, "ref must be"),
    ],
)
def test_a_payload_that_names_no_push_is_a_clear_error(
    provider: str, payload: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        push_target(provider, payload)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/releases.git",
        "https://github.com/Acme/Releases",
        "https://user:token@github.com/acme/releases.git/",
        "http://github.com:8080/acme/releases",
        "ssh://git@github.com:22/acme/releases.git",
        "git@github.com:acme/releases.git",
        "github.com:acme/releases",
        "git://github.com/acme/releases.git",
        "acme/releases",
    ],
)
def test_every_form_of_a_repository_url_has_the_same_path(url: str) -> None:
    assert repository_path(url) == "acme/releases"


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("/srv/git/releases.git", "srv/git/releases"),
        ("file:///srv/git/releases.git", "srv/git/releases"),
        ("https://gitlab.example/group/sub/releases.git", "group/sub/releases"),
        ("https://github.com/acme/releases-prod.git", "acme/releases-prod"),
        ("http://[::1", ""),
    ],
)
def test_local_paths_subgroups_and_near_names_keep_their_own_path(url: str, path: str) -> None:
    assert repository_path(url) == path


# -- matching -------------------------------------------------------------------------


def target(ref: str | None, *, default: str | None = "main") -> PushTarget:
    return PushTarget(frozenset({"acme/releases"}), ref, default)


FOLLOWED = "git@github.com:acme/releases.git"


@pytest.mark.parametrize(
    ("pushed", "followed_ref", "default"),
    [
        ("refs/heads/main", "main", "main"),
        ("refs/heads/main", "refs/heads/main", "main"),
        ("refs/heads/main", "HEAD", "main"),
        ("refs/heads/trunk", "HEAD", None),
        ("refs/tags/v1", "v1", None),
        ("refs/tags/v1", "refs/tags/v1", None),
        (None, "main", None),
    ],
)
def test_a_push_to_the_followed_ref_of_the_followed_repository_matches(
    pushed: str | None, followed_ref: str, default: str | None
) -> None:
    assert ignored_because(target(pushed, default=default), url=FOLLOWED, ref=followed_ref) is None


def test_a_push_over_https_matches_a_reconciler_that_fetches_over_ssh() -> None:
    pushed = push_target("github", GITHUB_PUSH)
    assert ignored_because(pushed, url="ssh://git@github.com/acme/releases", ref="main") is None


@pytest.mark.parametrize(
    ("pushed", "followed_ref", "reason"),
    [
        ("refs/heads/feature", "main", "a push to refs/heads/feature, not the followed main"),
        ("refs/heads/feature", "HEAD", "a push to refs/heads/feature, not the followed HEAD"),
        ("refs/tags/main", "refs/heads/main", "not the followed refs/heads/main"),
        ("refs/heads/main", "0" * 40, "the reconciler follows a fixed commit"),
    ],
)
def test_a_push_to_another_ref_is_ignored_with_the_reason(
    pushed: str, followed_ref: str, reason: str
) -> None:
    found = ignored_because(target(pushed), url=FOLLOWED, ref=followed_ref)
    assert found is not None and reason in found


def test_a_push_to_another_repository_is_ignored_naming_it() -> None:
    other = PushTarget(frozenset({"acme/releases-prod"}), "refs/heads/main", "main")
    assert ignored_because(other, url=FOLLOWED, ref="main") == (
        "a push to another repository (acme/releases-prod)"
    )


def test_a_generic_push_naming_nothing_matches_any_reconciler() -> None:
    assert ignored_because(PushTarget(frozenset(), None), url=FOLLOWED, ref="main") is None
