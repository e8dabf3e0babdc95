"""`harmonia promote NAMESPACE/NAME --from staging --to prod`: a commit on a new branch
whose overlay change makes the release run in prod the chart and values it runs in
staging, for review as a pull request (docs/environments.md, "Promotion").

Reads the repository as committed at HEAD (uncommitted changes are neither read nor
touched), computes the target's overlay with `release_requests.promotion` and commits it
with `source.branch_commit`, without a checkout. Exit 2 for usage errors (an environment
not declared, a malformed name), 1 when the promotion is refused (no such release,
absent or invalid in either environment, nothing to promote, the branch exists).
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import yaml

from reconciler.cli.options import environment_usage, repository_argument
from reconciler.cli.review import checkout_or_exit
from reconciler.release_requests import LoadedRepository, SourceFormat, load_repository
from reconciler.release_requests.environments import ENVIRONMENTS_DIR
from reconciler.release_requests.promotion import (
    effective,
    is_empty_overlay,
    promoted_fields_differ,
    promoted_overlay,
)
from reconciler.release_requests.yaml_source import read_yaml_file
from reconciler.source.branch_commit import FileChange, commit_on_new_branch
from reconciler.source.errors import SourceError
from reconciler.types import JsonObject, ReleaseKey, split_release_key

_RELEASE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9]*[a-z0-9])?")


class PromotionRefused(click.ClickException):
    """The promotion cannot be made as asked (exit 1)."""

    def show(self, file: object = None) -> None:
        click.echo(f"error: {self.message}", err=True)


@click.command()
@click.argument("release", metavar="NAMESPACE/NAME")
@repository_argument
@click.option("--from", "source", required=True, metavar="ENV", help="The environment to copy.")
@click.option("--to", "target", required=True, metavar="ENV", help="The environment to change.")
@click.option(
    "--branch",
    metavar="NAME",
    help="The new branch to commit on (default: promote/<namespace>-<name>-<from>-to-<to>).",
)
def promote(release: str, path: Path, source: str, target: str, branch: str | None) -> None:
    """Commit, on a new branch, the overlay change that makes a release run in one
    environment the chart and values it runs in another.

    Release NAMESPACE/NAME gets in --to the chart (source and version) and configValues
    it runs in --from. Reads HEAD's commit of the repository at PATH and leaves the
    working tree, the index and the current branch as they are. Exit 1 when refused (no
    such release, absent or invalid in either environment, already the same, the branch
    exists), 2 on usage errors.
    """
    if not _RELEASE.fullmatch(release):
        raise click.UsageError(f"release '{release}': expected NAMESPACE/NAME")
    if source == target:
        raise click.UsageError(f"--from and --to are both '{source}': name two environments")
    key = ReleaseKey(release)
    snapshot = checkout_or_exit(path, "HEAD")
    root = snapshot.root
    with environment_usage():
        loaded = {name: load_repository(root, environment=name) for name in (source, target)}
    for name, found in loaded.items():
        _check_release(key, name, found)
    file = loaded[source].releases[key].source.file
    base = _read_mapping(root / file)
    namespace, name = split_release_key(key)
    overlays = {env: _overlay_path(root, env, namespace, name) for env in (source, target)}
    before = {env: _read_optional(root / overlays[env]) for env in (source, target)}
    wanted, current = (effective(base, before[env]) or {} for env in (source, target))
    fields = promoted_fields_differ(wanted, current)
    if not fields:
        raise PromotionRefused(
            f"release {key}: {target} already runs the chart and configValues of {source}"
        )
    after = promoted_overlay(base, before[source], before[target])
    content = None if is_empty_overlay(after) else _dumped(after, root / overlays[target])
    branch = branch or f"promote/{namespace}-{name}-{source}-to-{target}"
    message = (
        f"Promote {key} from {source} to {target}\n\n"
        f"{target} runs the {', '.join(fields)} of {source} ({overlays[target]})."
    )
    try:
        commit = commit_on_new_branch(
            path,
            start=snapshot.commit,
            branch=branch,
            change=FileChange(overlays[target], content),
            message=message,
        )
    except SourceError as error:
        raise PromotionRefused(str(error)) from None
    verb = "deleted" if content is None else "written"
    click.echo(
        f"release {key}: {', '.join(fields)} promoted from {source} to {target}; "
        f"{overlays[target]} {verb} in commit {commit[:12]} on branch {branch}"
    )
    click.echo(f"review it: harmonia diff --base HEAD --head {branch} {path}", err=True)


def _check_release(key: ReleaseKey, environment: str, loaded: LoadedRepository) -> None:
    if key in loaded.invalid_releases:
        raise PromotionRefused(
            f"release {key}: invalid in {environment} "
            f"(see harmonia validate --environment {environment})"
        )
    if key in loaded.releases:
        if loaded.releases[key].format is not SourceFormat.HARMONIA:
            raise PromotionRefused(
                f"release {key}: its file is a WALM request; convert it first "
                "(harmonia import-walm)"
            )
        return
    unclaimed = load_repository(loaded.root).releases
    if key in unclaimed:
        raise PromotionRefused(f"release {key}: absent in {environment} (its overlay says so)")
    raise PromotionRefused(f"release {key}: no release file defines it")


def _overlay_path(root: Path, environment: str, namespace: str, name: str) -> str:
    """The overlay's path from the repository root: the existing one (`.yml` too)."""
    folder = f"{ENVIRONMENTS_DIR}/{environment}/{namespace}"
    for suffix in (".yaml", ".yml"):
        if (root / folder / f"{name}{suffix}").is_file():
            return f"{folder}/{name}{suffix}"
    return f"{folder}/{name}.yaml"


def _read_mapping(path: Path) -> JsonObject:
    """The file's data as loading sees it (its reader, not PyYAML's own: a date stays
    the text written, as the release gets it), so that prod gets what staging runs."""
    read = read_yaml_file(path, display_name=path.name)
    return read.document.data if read.document is not None else {}


def _read_optional(path: Path) -> JsonObject | None:
    return _read_mapping(path) if path.is_file() else None


def _dumped(overlay: JsonObject, path: Path) -> bytes:
    """The overlay as YAML, in its fields' order, under the comment lines that opened
    the file (PyYAML keeps no other comments)."""
    header = ""
    if path.is_file():
        for line in path.read_text().splitlines(keepends=True):
            if not line.startswith("#"):
                break
            header += line
    body = yaml.safe_dump(overlay, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return (header + body).encode()


COMMANDS = (promote,)
