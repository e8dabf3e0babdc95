"""`harmonia diff` and `harmonia apply`: the repository against the live cluster.

Both compute the desired state (rendering with the cluster's versions and the
external dependencies' outputs from their inventory records), then plan every
release through server-side-apply dry-runs; `apply` writes. `diff --base/--head`
compares two revisions without a cluster instead (see review.py). Exit codes are the
Contracts': 1 for differences with `--exit-code` or a failed release, 3 when the
cluster cannot be reached; and 4 when `diff --comment`'s forge did not take the comment.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import click

from reconciler.apply.external_outputs import external_outputs_from
from reconciler.cli.comment import CommentFlags, comment_options, comment_target, post_or_exit
from reconciler.cli.options import (
    RenderInputs,
    cluster_options,
    environment_option,
    environment_usage,
    policy_options,
    render_options,
    repository_argument,
    shown,
)
from reconciler.cli.review import (
    OUTPUTS,
    WORKING_TREE,
    checkout_or_exit,
    choose_sides,
    exit_status,
    print_review,
    review_of_pass,
    review_revisions,
    seen_from,
)
from reconciler.cli.session import EXIT_UNREACHABLE, desired_state
from reconciler.desired import DesiredState
from reconciler.kube.client import KubeClient
from reconciler.kube.connection import KubeTarget
from reconciler.kube.errors import ClusterUnreachable, KubeError
from reconciler.locations import cache_home
from reconciler.policy import Policy
from reconciler.reconcile import (
    FAILING,
    PassOptions,
    PassReport,
    reconcile,
)
from reconciler.release_requests import environment_source
from reconciler.render.secrets.redaction import redacted
from reconciler.review import RevisionName
from reconciler.source.git_source import describe_checkout
from reconciler.types import ReleaseKey

release_option = click.option(
    "--release",
    "-r",
    "release",
    metavar="NAMESPACE/NAME",
    help="Only this release (and what it depends on).",
)
dependents_option = click.option(
    "--with-dependents",
    "dependents",
    is_flag=True,
    help="With --release: also the releases that depend on it (and what they depend on).",
)


def connect_or_exit(target: KubeTarget) -> KubeClient:
    """A client for the target; exit 3 (the Contracts) when it cannot be reached."""
    try:
        return KubeClient.connect(target, cache_dir=cache_home() / "discovery")
    except ClusterUnreachable as error:
        click.echo(f"error: {error}", err=True)
        raise click.exceptions.Exit(EXIT_UNREACHABLE) from None


def _state(
    path: Path,
    client: KubeClient,
    *,
    policy: Policy,
    target: KubeTarget,
    inputs: RenderInputs,
    release: str | None,
    environment: str | None,
    dependents: bool = False,
    shown_as: Path | None = None,
) -> DesiredState:
    """The desired state of the files at `path`, limited to `release` (and what its pass
    takes) when given; problems go to stderr, their files named under `shown_as`
    (default `path`)."""
    if dependents and not release:
        raise click.UsageError("--with-dependents needs --release")
    only = frozenset({ReleaseKey(release)}) if release else None
    state = desired_state(
        path,
        policy=policy,
        target=target,
        inputs=dataclasses.replace(inputs, decrypt=True),
        environment=environment,
        only=only,
        dependents=dependents,
        external_outputs=external_outputs_from(client),
    )
    for item in state.diagnostics:
        if item.is_error:
            click.echo(shown(shown_as or path, item), err=True)
    if only is not None and not only <= {*state.loaded.releases, *state.loaded.invalid_releases}:
        click.echo(f"error: release {release}: no file of {shown_as or path} holds it", err=True)
        raise click.exceptions.Exit(1)
    return state


def _pass(client: KubeClient, state: DesiredState, options: PassOptions) -> PassReport:
    """One pass over the state's scope; each release's outcome and why go to stderr, one
    line apiece (the releases removed because their files left Git among them, and with
    `--release` what it depends on: a dependency that kept it back is named with its own
    reason)."""
    try:
        report = reconcile(client, state, options)
    except KubeError as error:
        # A release's refusals are in the report; this one stopped the pass (the
        # inventory records cannot be listed, or the cluster does not answer).
        click.echo(f"error: {error}", err=True)
        raise click.exceptions.Exit(EXIT_UNREACHABLE if error.temporary else 1) from None
    # One write: a line apiece, thousands of them, each flushed alone, took a share of a
    # no-op pass.
    lines = "".join(
        f"{key}: {report.releases[key].describe()}\n" for key in sorted(report.releases)
    )
    click.echo(lines, err=True, nl=False)
    return report


def _print_report(report: PassReport, secrets: frozenset[str], *, as_json: bool) -> None:
    """The pass's changes, as JSON or as text diffs. A decrypted SOPS value that a release
    put outside a Secret (a warning of its render) reads `***` here as in a Secret."""
    if as_json:
        click.echo(redacted(json.dumps(report.to_json(), indent=2), secrets))
        return
    for key in sorted(report.releases):
        entry = report.releases[key]
        if entry.changes is None or not entry.changes.has_changes:
            continue
        click.echo(f"# release {key}: {entry.changes.summary()}")
        for change in entry.changes.changes:
            if change.is_change:
                text = change.diff_text or f"{change.ref} {change.action}: {change.reason}\n"
                click.echo(redacted(text, secrets), nl=False)


source_id_option = click.option(
    "--source-id",
    help="The repository identity releases are recorded under; a release recorded under "
    "another is its owner's, not this repository's (default: the origin URL and "
    "subfolder of PATH, and #ENVIRONMENT with --environment).",
)


@click.command()
@repository_argument
@release_option
@dependents_option
@source_id_option
@click.option(
    "--base",
    metavar="REV",
    help="Compare revision REV (branch, tag, SHA, HEAD~1 of the Git repository holding "
    "PATH) with the head instead of the cluster; no cluster is needed.",
)
@click.option(
    "--head",
    metavar="REV",
    help="The revision to review (default: the files at PATH as they are, as `git diff "
    "REV` compares with the working tree; with --live: HEAD).",
)
@click.option(
    "--live",
    is_flag=True,
    help="Compare the head (default HEAD) with the cluster through server-side-apply "
    "dry-runs, as without --base.",
)
@click.option("-o", "--output", type=click.Choice(OUTPUTS), default="text")
@click.option(
    "--exit-code", is_flag=True, help="Exit 1 when there are differences (like git diff)."
)
@comment_options
@environment_option
@render_options
@cluster_options
@policy_options
def diff(
    path: Path,
    release: str | None,
    dependents: bool,
    source_id: str | None,
    base: str | None,
    head: str | None,
    live: bool,
    output: str,
    exit_code: bool,
    comment: CommentFlags,
    environment: str | None,
    policy: Policy,
    target: KubeTarget,
    inputs: RenderInputs,
) -> None:
    """Show what would change, Secret values masked: in the cluster (`harmonia apply`),
    or between two revisions of the repository (a pull request: --base, --head).

    Against the cluster, each rendered object is compared with the live one through a
    server-side-apply dry run, so fields the API server defaults never show. Between
    revisions, both are rendered for harmonia.yaml's Kubernetes version, once per
    environment it declares (or the one --environment names); `-o markdown` prints a
    pull-request comment, which `--comment` posts. Exit 1 on validation errors
    (or differences with --exit-code), 2 on an unknown revision, 3 when the cluster
    cannot be reached, 4 when the forge did not take the comment.
    """
    sides = choose_sides(base, head, live=live)
    posting = comment_target(comment, output=output, path=path)
    if sides.base is not None:
        if source_id is not None:
            raise click.UsageError("--source-id names releases in the cluster: not with --base")
        if dependents:
            raise click.UsageError("--with-dependents is for a pass: not with --base")
        with environment_usage():
            review = review_revisions(
                path,
                sides.base,
                sides.head,
                policy=policy,
                inputs=inputs,
                release=release,
                environment=environment,
            )
        markdown = print_review(review, output)
        if posting is not None:
            post_or_exit(*posting, markdown)
        raise click.exceptions.Exit(exit_status(review, exit_code=exit_code))
    snapshot = checkout_or_exit(path, sides.head) if sides.head is not None else None
    root = snapshot.root if snapshot is not None else path
    with connect_or_exit(target) as client:
        state = _state(
            root,
            client,
            policy=policy,
            target=target,
            inputs=inputs,
            release=release,
            environment=environment,
            dependents=dependents,
            shown_as=path,
        )
        checkout = describe_checkout(path)
        revision = snapshot.commit if snapshot is not None else checkout.revision
        source = source_id or environment_source(checkout.source, environment)
        report = _pass(client, state, PassOptions(revision, source, dry_run=True))
    if output == "markdown":
        head_name = RevisionName(sides.head, revision) if sides.head else WORKING_TREE
        diagnostics = seen_from(path, state.diagnostics)
        review = review_of_pass(report, head=head_name, diagnostics=diagnostics)
        markdown = print_review(review, output, secrets=state.render.secrets)
        if posting is not None:
            post_or_exit(*posting, markdown)
    else:
        _print_report(report, state.render.secrets, as_json=output == "json")
    if report.failed or state.has_errors:
        raise click.exceptions.Exit(1)
    raise click.exceptions.Exit(1 if exit_code and report.has_changes else 0)


@click.command()
@repository_argument
@release_option
@dependents_option
@click.option("--dry-run", is_flag=True, help="Plan only: print what would change, write nothing.")
@click.option(
    "--prune/--no-prune",
    default=True,
    show_default=True,
    help="Delete objects and releases that left Git (a release's `prune` can opt out).",
)
@source_id_option
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text")
@environment_option
@render_options
@cluster_options
@policy_options
def apply(
    path: Path,
    release: str | None,
    dependents: bool,
    dry_run: bool,
    prune: bool,
    source_id: str | None,
    output: str,
    environment: str | None,
    policy: Policy,
    target: KubeTarget,
    inputs: RenderInputs,
) -> None:
    """Run one pass: apply the repository at PATH to the cluster, in dependency order.

    Exit 0 when every release applied, 1 when one is invalid, failed or blocked.
    """
    started = time.monotonic()
    with connect_or_exit(target) as client:
        state = _state(
            path,
            client,
            policy=policy,
            target=target,
            inputs=inputs,
            release=release,
            environment=environment,
            dependents=dependents,
        )
        checkout = describe_checkout(path)
        options = PassOptions(
            checkout.revision,
            source_id or environment_source(checkout.source, environment),
            dry_run=dry_run,
            prune=prune and release is None,
        )
        report = _pass(client, state, options)
        requests = client.requests_sent
    if output == "json" or dry_run:
        _print_report(report, state.render.secrets, as_json=output == "json")
    if report.prune_withheld:
        click.echo(f"prune withheld: {report.prune_withheld}", err=True)
    failed = sum(r.outcome in FAILING for r in report.releases.values())
    click.echo(
        f"{len(report.releases)} releases, {failed} not applied, "
        f"revision {checkout.revision[:12]}, {time.monotonic() - started:.1f}s, "
        f"{requests} API requests",
        err=True,
    )
    raise click.exceptions.Exit(1 if report.failed or state.has_errors else 0)


COMMANDS = (diff, apply)
