"""`harmonia diff --base/--head/--live`: which sides to compare, checking revisions out of
the local Git repository, and printing the review.

The diff command (cluster.py) calls these; the comparison itself is `reconciler.review`,
pure. An unknown revision is a usage error (exit 2); a repository that cannot be read
exits 3; validation errors, or differences with --exit-code, exit 1.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath

import click
import yaml

from reconciler.cli.options import RenderInputs
from reconciler.cli.session import EXIT_UNREACHABLE, desired_state
from reconciler.desired import DesiredState
from reconciler.diff import ChangeSet
from reconciler.kube.connection import KubeTarget
from reconciler.locations import cache_home
from reconciler.policy import Policy
from reconciler.reconcile import Outcome, PassReport, ReleaseReport
from reconciler.release_requests import Diagnostic, load_repository
from reconciler.release_requests.environments import unknown_environment
from reconciler.render.secrets.redaction import redacted
from reconciler.review import (
    EnvironmentReviews,
    ReleaseChange,
    ReleaseReview,
    Review,
    RevisionName,
    compare_revisions,
    render_environments_json,
    render_environments_markdown,
    render_environments_text,
    render_json,
    render_markdown,
    render_text,
)
from reconciler.review.encrypted import Ciphertexts, EncryptedSides
from reconciler.review.environments import without_releases
from reconciler.source.errors import SourceError
from reconciler.source.git_source import checkout_revision
from reconciler.source.snapshot import Snapshot
from reconciler.types import JsonValue, ReleaseKey

EXIT_USAGE = 2
_SOPS_SUFFIXES = frozenset({".yaml", ".yml", ".json"})
_SOPS_MARK = b"ENC[AES256_GCM,"
OUTPUTS = ("text", "markdown", "json")
RENDERERS: dict[str, Callable[[Review], str]] = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
}
ENVIRONMENT_RENDERERS: dict[str, Callable[[EnvironmentReviews], str]] = {
    "text": render_environments_text,
    "markdown": render_environments_markdown,
    "json": render_environments_json,
}
WORKING_TREE = RevisionName("working tree")
CLUSTER = RevisionName("cluster")


@dataclass(frozen=True)
class Sides:
    """What `harmonia diff` compares."""

    base: str | None
    """A revision; None: the cluster."""
    head: str | None
    """A revision; None: the files at PATH as they are (the working tree)."""


def choose_sides(base: str | None, head: str | None, *, live: bool) -> Sides:
    """Like `git diff REV`, `--base` alone compares with the working tree; `--live` alone
    compares HEAD (committed files only) with the cluster."""
    if head is not None and base is None and not live:
        raise click.UsageError("--head needs --base (two revisions) or --live (the cluster)")
    if live and base is not None:
        click.echo("note: --live compares the head with the cluster; --base is not used", err=True)
    if live and head is None:
        head = "HEAD"
    return Sides(base=None if live else base, head=head)


def checkout_or_exit(path: Path, revision: str) -> Snapshot:
    try:
        return checkout_revision(path, revision, cache_root=cache_home() / "git")
    except SourceError as error:
        click.echo(f"error: {error}", err=True)
        code = EXIT_UNREACHABLE if error.unreachable else EXIT_USAGE
        raise click.exceptions.Exit(code) from None


def review_revisions(
    path: Path,
    base_revision: str,
    head_revision: str | None,
    *,
    policy: Policy,
    inputs: RenderInputs,
    release: str | None,
    environment: str | None = None,
) -> Review | EnvironmentReviews:
    """Both sides rendered for their `harmonia.yaml`'s Kubernetes version (no cluster) and
    compared; no head revision means the files at `path` as they are. When the head (or
    else the base) declares environments, once per environment (only `environment` if
    given): a change is then seen in each environment it reaches."""
    only = ReleaseKey(release) if release else None
    base = checkout_or_exit(path, base_revision)
    base_name = RevisionName(base_revision, base.commit)
    if head_revision is None:
        head_root, head_name = path, WORKING_TREE
    else:
        head = checkout_or_exit(path, head_revision)
        head_root, head_name = head.root, RevisionName(head_revision, head.commit)
    sides = _Sides(
        base.root,
        head_root,
        base_name,
        head_name,
        declared_environments(base.root),
        declared_environments(head_root),
        EncryptedSides(ciphertexts_in(base.root), ciphertexts_in(head_root)),
    )
    names = environments_to_review(sides.head_declared or sides.base_declared, environment)

    def compared(name: str | None) -> Review:
        review = _compare(sides, policy=policy, inputs=inputs, only=only, environment=name)
        return dataclasses.replace(review, diagnostics=seen_from(path, review.diagnostics))

    if not names:
        return compared(None)
    return EnvironmentReviews(base_name, head_name, tuple((name, compared(name)) for name in names))


@dataclass(frozen=True)
class _Sides:
    base_root: Path
    head_root: Path
    base_name: RevisionName
    head_name: RevisionName
    base_declared: tuple[str, ...]
    head_declared: tuple[str, ...]
    encrypted: EncryptedSides


def _compare(
    sides: _Sides,
    *,
    policy: Policy,
    inputs: RenderInputs,
    only: ReleaseKey | None,
    environment: str | None,
) -> Review:
    """One environment's review (None: the repository declares none). A side that
    declares no environments is the same in every one, as before environments; a base
    that declares others but not this one has none of its releases (a new environment)."""
    head = _offline_state(
        sides.head_root,
        policy=policy,
        inputs=inputs,
        only=only,
        environment=environment if sides.head_declared else None,
    )
    new = bool(sides.base_declared) and environment not in sides.base_declared
    if new:
        base = without_releases(head)
    else:
        base = _offline_state(
            sides.base_root,
            policy=policy,
            inputs=inputs,
            only=only,
            environment=environment if sides.base_declared else None,
        )
    review = compare_revisions(
        base,
        head,
        base_name=sides.base_name,
        head_name=sides.head_name,
        only=only,
        encrypted=sides.encrypted,
    )
    if new:
        note = f"environment {environment} is new at the head: its releases are all added"
        review = dataclasses.replace(review, notes=(note, *review.notes))
    return review


def declared_environments(root: Path) -> tuple[str, ...]:
    """The environments the `harmonia.yaml` at `root` declares (none if it is invalid:
    loading the side reports that)."""
    config = load_repository(root).config
    return tuple(config.environments) if config is not None else ()


def environments_to_review(declared: tuple[str, ...], environment: str | None) -> tuple[str, ...]:
    """All the declared environments, or the one asked for; a name not declared raises
    `EnvironmentChoiceError` (a usage error naming the declared ones)."""
    if environment is None:
        return declared
    if environment not in declared:
        raise unknown_environment(environment, declared)
    return (environment,)


def ciphertexts_in(root: Path) -> Ciphertexts:
    """The SOPS files of a checkout (YAML or JSON, wherever they lie), for the review to
    tell an encrypted value's change from its placeholder's. Files that do not parse are
    left to rendering to report."""
    documents: dict[str, JsonValue] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix not in _SOPS_SUFFIXES or ".git" in path.relative_to(root).parts:
            continue
        try:
            content = path.read_bytes()
            if _SOPS_MARK not in content:
                continue
            parsed = list(yaml.safe_load_all(content))
        except (OSError, yaml.YAMLError):
            continue
        name = path.relative_to(root).as_posix()
        for index, document in enumerate(parsed):
            documents[name if index == 0 else f"{name}#{index}"] = document
    return Ciphertexts.of(documents)


def _offline_state(
    root: Path,
    *,
    policy: Policy,
    inputs: RenderInputs,
    only: ReleaseKey | None,
    environment: str | None,
) -> DesiredState:
    return desired_state(
        root,
        policy=policy,
        target=KubeTarget(),
        inputs=dataclasses.replace(inputs, offline=True, decrypt=False),
        environment=environment,
        only=frozenset({only}) if only else None,
    )


def review_of_pass(
    report: PassReport, *, head: RevisionName, diagnostics: tuple[Diagnostic, ...]
) -> Review:
    """A live dry-run pass as a review (for `-o markdown`): the cluster is the base."""
    return Review(
        base=CLUSTER,
        head=head,
        releases=tuple(_live_release(report.releases[key]) for key in sorted(report.releases)),
        diagnostics=diagnostics,
        notes=("compared with the cluster through server-side-apply dry-runs",),
    )


def _live_release(entry: ReleaseReport) -> ReleaseReview:
    changes = entry.changes or ChangeSet(entry.release, dry_run=True)
    not_rendered = ReleaseChange.not_rendered(entry.outcome)
    if not_rendered is not None:
        change = not_rendered
    elif entry.outcome is Outcome.PLANNED and entry.changes is None:
        change = ReleaseChange.REMOVED  # its file left Git: the pass would remove it
    else:
        change = ReleaseChange.CHANGED if changes.has_changes else ReleaseChange.UNCHANGED
    return ReleaseReview(entry.release, change, changes, message=entry.message)


def seen_from(path: Path, diagnostics: tuple[Diagnostic, ...]) -> tuple[Diagnostic, ...]:
    """The diagnostics with their files named as seen from the working folder, as
    `harmonia validate PATH` names them."""
    return tuple(
        dataclasses.replace(item, file=str(PurePath(path) / item.file)) for item in diagnostics
    )


def print_review(
    review: Review | EnvironmentReviews,
    output: str,
    *,
    secrets: frozenset[str] = frozenset(),
) -> str:
    """Print the review as `output` says, and return what was printed (the comment
    `--comment` posts); the values of `secrets` (decrypted SOPS values a release put
    outside a Secret, when rendered with the key) read `***`."""
    if isinstance(review, EnvironmentReviews):
        text = redacted(ENVIRONMENT_RENDERERS[output](review), secrets)
        where = f" in environments {', '.join(review.environments)}"
    else:
        text = redacted(RENDERERS[output](review), secrets)
        where = ""
    click.echo(text, nl=False)
    changing = sum(item.change is not ReleaseChange.UNCHANGED for item in review.releases)
    click.echo(
        f"{len(review.releases)} releases compared{where}, {changing} to show; "
        f"base {review.base}, head {review.head}",
        err=True,
    )
    return text


def exit_status(review: Review | EnvironmentReviews, *, exit_code: bool) -> int:
    return 1 if review.failed or (exit_code and review.has_changes) else 0
