"""The Git source: fetch the release repository and check out one commit per snapshot.

First step of every reconcile cycle (remote -> snapshot -> load -> graph -> ...).
One of the three modules that import GitPython, with the status branch and the runner of
its Git commands (`git_runner.py`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timezone
from pathlib import Path

import git

from reconciler.source.cache import RemoteCache, default_cache_root, remove_tree
from reconciler.source.credentials import Credentials, GitAuth, ensure_askpass, git_auth
from reconciler.source.errors import (
    AuthenticationFailed,
    HostKeyRejected,
    RefNotFound,
    RemoteUnreachable,
    SourceConfigError,
    SourceError,
    SubfolderInvalid,
    TemporaryError,
    UnsafeSymlink,
)
from reconciler.source.git_runner import (
    local_output,
    remote_error,
    run_git,
    run_remote,
    scrubbed_detail,
)
from reconciler.source.refs import Ref, RefKind, normalise_subfolder, parse_ref
from reconciler.source.snapshot import STATUS_FOLDER, Revision, Snapshot
from reconciler.source.urls import cache_key, parse_remote_url, redact_url

log = logging.getLogger(__name__)

_REASONS: dict[type[SourceError], str] = {
    RemoteUnreachable: "remote unreachable",
    AuthenticationFailed: "authentication failed (check the token, user name or SSH key)",
    HostKeyRejected: "SSH host key not trusted (it must be in the known_hosts file)",
    RefNotFound: "not found on the remote",
}


class GitSource:
    """One remote, one ref, one optional subfolder; `fetch()` gives its current snapshot.

    Layout under `<cache_root>/<cache key of the URL>/`: a bare repository
    (`repo.git`) that fetches only the refs followed, and `trees/<sha>/`, one
    plain folder per commit written from Git's objects into a temporary folder
    and renamed into place. Why folders per commit rather than one working copy
    (checkout, reset) or `git archive`:

    - a fetch never writes into a tree that was handed out, so the last good
      snapshot stays intact and readable while a new fetch runs or fails, and a
      half-written tree is never seen (the rename is atomic);
    - the trees hold no `.git`, so nothing downstream can run Git in them, and
      they do not depend on the bare repository surviving a bad fetch;
    - unlike `git archive`, the checkout ignores `export-ignore`/`export-subst`
      attributes, so the files are exactly the commit's.

    A fixed commit already in the cache is served without touching the network.
    Trees are pruned to the `keep_trees` most recent plus the remembered ones;
    `remember=False` records no last good snapshot (a one-off checkout, such as
    one side of a pull-request diff), so its tree is pruned like any other.
    `credentials=None` reads the HARMONIA_GIT_* variables; `timeout` bounds one
    Git command. A malformed URL, ref or subfolder raises `SourceConfigError`
    here, before any fetch. One `fetch()` at a time per source; sources in
    other processes sharing the cache wait on its lock.
    """

    def __init__(
        self,
        url: str,
        *,
        ref: str | Ref = "HEAD",
        subfolder: str = "",
        credentials: Credentials | None = None,
        cache_root: Path | None = None,
        timeout: float = 300.0,
        keep_trees: int = 3,
        remember: bool = True,
    ) -> None:
        self._remote = parse_remote_url(url)
        self._ref = ref if isinstance(ref, Ref) else parse_ref(ref)
        self._subfolder = normalise_subfolder(subfolder)
        self._credentials = Credentials.from_env() if credentials is None else credentials
        self._cache_root = default_cache_root() if cache_root is None else cache_root
        self._cache = RemoteCache(self._cache_root / cache_key(self._remote.address))
        self._timeout = timeout
        self._keep_trees = max(keep_trees, 1)
        self._remember = remember
        self._last_good: Snapshot | None = None

    @property
    def url(self) -> str:
        """The remote's URL, credentials redacted."""
        return self._remote.redacted

    @property
    def ref(self) -> Ref:
        return self._ref

    @property
    def cache_folder(self) -> Path:
        return self._cache.folder

    @property
    def last_good(self) -> Snapshot | None:
        """The newest snapshot fetched successfully by this source, never marked stale."""
        return self._last_good

    @property
    def subject(self) -> str:
        """How messages name this source: redacted URL, ref and subfolder."""
        what = {
            RefKind.HEAD: "default branch",
            RefKind.BRANCH: f"branch {self._ref.name}",
            RefKind.TAG: f"tag {self._ref.name}",
            RefKind.COMMIT: f"commit {self._ref.name[:12]}",
            RefKind.NAME: f"ref {self._ref.name}",
        }[self._ref.kind]
        if self._subfolder:
            what += f", subfolder {self._subfolder}"
        return f"{self.url} ({what})"

    def fetch(self) -> Snapshot:
        """Fetch the ref and return its snapshot.

        On failure, returns the last good snapshot (from this process, else the
        one remembered in the cache) with `stale=True` and the redacted error;
        raises the `SourceError` when there has never been a good one.
        """
        try:
            snapshot = self._fetch_fresh()
        except SourceError as err:
            last = self._last_good or self._cache.load_state(str(self._ref), self._subfolder)
            if last is None:
                raise
            self._last_good = last
            log.warning("%s; serving the last good commit %s", err, last.short_commit)
            return replace(last, stale=True, error=str(err), unreachable=err.unreachable)
        if self._last_good is None or self._last_good.commit != snapshot.commit:
            log.info("%s: at commit %s", self.subject, snapshot.short_commit)
        self._last_good = snapshot
        return snapshot

    def _fetch_fresh(self) -> Snapshot:
        with self._cache.locked():
            auth = git_auth(
                self._remote,
                self._credentials,
                askpass_program=ensure_askpass(self._cache_root),
                subject=self.subject,
            )
            with self._open_repository() as repo:
                commit = self._resolve(repo, auth)
                snapshot = self._snapshot(repo, auth, commit)
            if self._remember:
                self._cache.save_state(snapshot)
            self._cache.prune_trees(keep_recent=self._keep_trees)
        return snapshot

    def _open_repository(self) -> git.Repo:
        git_dir = self._cache.git_dir
        if (git_dir / "HEAD").is_file():
            try:
                return git.Repo(git_dir)
            except (git.InvalidGitRepositoryError, git.NoSuchPathError):
                remove_tree(git_dir)
        repo = git.Repo.init(git_dir, bare=True, mkdir=True)
        with repo.config_writer() as config:
            # A detached `git gc` would outlive the fetch and race the next one.
            config.set_value("gc", "autoDetach", "false")
        return repo

    def _resolve(self, repo: git.Repo, auth: GitAuth) -> Revision:
        name = self._ref.name
        match self._ref.kind:
            case RefKind.COMMIT:
                return self._resolve_commit(repo, auth, Revision(name))
            case RefKind.HEAD:
                return self._fetch_ref(repo, auth, "HEAD")
            case RefKind.BRANCH:
                return self._fetch_ref(repo, auth, f"refs/heads/{name}")
            case RefKind.TAG:
                return self._fetch_ref(repo, auth, f"refs/tags/{name}")
        try:
            return self._fetch_ref(repo, auth, f"refs/heads/{name}")
        except RefNotFound:
            pass
        try:
            return self._fetch_ref(repo, auth, f"refs/tags/{name}")
        except RefNotFound as err:
            reason = "no branch or tag of that name on the remote"
            raise RefNotFound(self.subject, reason, detail=err.detail) from None

    def _fetch_ref(self, repo: git.Repo, auth: GitAuth, remote_ref: str) -> Revision:
        """Fetch one ref (force: a rewritten history is followed) under refs/harmonia/."""
        local_ref = "refs/harmonia/" + remote_ref.removeprefix("refs/")
        self._git_fetch(repo, auth, f"+{remote_ref}:{local_ref}")
        run = run_git(repo, "rev-parse", "--verify", "--quiet", f"{local_ref}^{{commit}}")
        if not run.ok:
            raise RefNotFound(self.subject, "does not point at a commit")
        return Revision(run.stdout.strip())

    def _resolve_commit(self, repo: git.Repo, auth: GitAuth, commit: Revision) -> Revision:
        if _has_commit(repo, commit):
            return commit
        local_ref = f"refs/harmonia/commits/{commit}"
        try:
            self._git_fetch(repo, auth, f"+{commit}:{local_ref}")
        except RefNotFound:
            # A server that refuses unadvertised objects: every branch and tag, then look.
            self._git_fetch(
                repo,
                auth,
                "+refs/heads/*:refs/harmonia/all/heads/*",
                "+refs/tags/*:refs/harmonia/all/tags/*",
            )
            if not _has_commit(repo, commit):
                raise RefNotFound(self.subject, "no branch or tag of the remote has it") from None
            local_output(
                repo, "update-ref", local_ref, commit, subject=self.subject, where="in the cache"
            )
        if not _has_commit(repo, commit):
            raise RefNotFound(self.subject, "is not a commit")
        return commit

    def _git_fetch(self, repo: git.Repo, auth: GitAuth, *refspecs: str) -> None:
        run = run_remote(
            repo,
            "fetch",
            "--no-tags",
            "--no-write-fetch-head",
            "--",
            self._remote.address,
            *refspecs,
            auth=auth,
            timeout=self._timeout,
        )
        if not run.ok:
            raise remote_error(run, self.subject, "fetch failed", auth=auth, reasons=_REASONS)

    def _snapshot(self, repo: git.Repo, auth: GitAuth, sha: Revision) -> Snapshot:
        commit = repo.commit(sha)
        if self._subfolder:
            try:
                entry = commit.tree / self._subfolder
            except KeyError:
                reason = f"subfolder {self._subfolder!r} does not exist in commit {sha[:12]}"
                raise SubfolderInvalid(self.subject, reason) from None
            if entry.type != "tree":
                reason = f"subfolder {self._subfolder!r} is not a folder in commit {sha[:12]}"
                raise SubfolderInvalid(self.subject, reason)
        tree = self._checkout(repo, auth, sha)
        root = tree / self._subfolder if self._subfolder else tree
        if not root.resolve().is_relative_to(tree.resolve()) or not root.is_dir():
            raise SubfolderInvalid(self.subject, f"subfolder {self._subfolder!r} is not usable")
        message = commit.message
        if isinstance(message, bytes):
            message = message.decode("utf-8", errors="replace")
        return Snapshot(
            url=self.url,
            ref=str(self._ref),
            commit=sha,
            content_commit=self._content_commit(repo, sha),
            author=f"{commit.author.name} <{commit.author.email}>",
            committed_at=_plain_datetime(commit.committed_datetime),
            message=message.strip(),
            root=root,
            subfolder=self._subfolder,
            fetched_at=datetime.now(UTC),
        )

    def _content_commit(self, repo: git.Repo, sha: Revision) -> Revision:
        """The newest commit up to `sha` that changed the folder outside its `status/`:
        status commits (Harmonia's own, on the release branch) never make a new revision."""
        folder = self._subfolder or "."
        status = f"{self._subfolder}/{STATUS_FOLDER}" if self._subfolder else STATUS_FOLDER
        run = run_git(repo, "log", "-1", "--format=%H", sha, "--", folder, f":(exclude){status}")
        return Revision(run.stdout.strip()) if run.ok and run.stdout.strip() else sha

    def _checkout(self, repo: git.Repo, auth: GitAuth, sha: Revision) -> Path:
        """The commit's files in their own folder, written once (see the class docstring)."""
        tree = self._cache.tree(sha)
        if tree.is_dir():
            self._cache.touch_tree(sha)
            return tree
        partial = self._cache.partial_tree(sha)
        index = partial.with_name(f"{partial.name}.index")
        env = {"GIT_INDEX_FILE": str(index), "GIT_WORK_TREE": str(partial)}
        try:
            run = run_git(repo, "read-tree", "--reset", "-u", sha, env=env)
            if not run.ok:
                reason = f"cannot check out commit {sha[:12]}"
                raise TemporaryError(self.subject, reason, detail=scrubbed_detail(run.stderr, auth))
            _refuse_escaping_symlinks(partial, subject=self.subject)
            return self._cache.publish_tree(partial, sha)
        finally:
            index.unlink(missing_ok=True)
            if partial.exists():
                remove_tree(partial)


def _has_commit(repo: git.Repo, sha: Revision) -> bool:
    return run_git(repo, "cat-file", "-e", f"{sha}^{{commit}}").ok


def _plain_datetime(value: datetime) -> datetime:
    """The same instant with a standard `timezone`, not GitPython's own tzinfo class."""
    offset = value.utcoffset()
    return value.replace(tzinfo=UTC if offset is None else timezone(offset))


def _refuse_escaping_symlinks(tree: Path, *, subject: str) -> None:
    """A link out of the tree would let a commit read host files (tokens) into manifests."""
    top = tree.resolve()
    for folder, dirnames, filenames in os.walk(tree):
        for name in (*dirnames, *filenames):
            path = Path(folder, name)
            if path.is_symlink() and not path.resolve().is_relative_to(top):
                shown = path.relative_to(tree).as_posix()
                raise UnsafeSymlink(subject, f"symbolic link {shown} points outside the repository")


@dataclass(frozen=True)
class LocalCheckout:
    """A repository folder on local disk, as `harmonia apply PATH` sees it."""

    revision: str
    """HEAD's SHA (with `-dirty` when files differ from it), or "local" outside Git."""
    source: str
    """The identity its releases are recorded under: origin URL (redacted) and subfolder."""
    origin: str | None = None
    """The origin remote's URL, credentials redacted; None without one."""


def describe_checkout(path: Path) -> LocalCheckout:
    """Revision and source identity of a folder that may be inside a Git work tree."""
    folder = path.resolve()
    try:
        repo = git.Repo(folder, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return LocalCheckout(revision="local", source=str(folder))
    with repo:
        top = Path(repo.working_tree_dir or folder)
        subfolder = folder.relative_to(top).as_posix()
        try:
            revision = repo.head.commit.hexsha
        except ValueError:
            revision = "unborn"
        if repo.is_dirty(untracked_files=True, path=str(folder)):
            revision += "-dirty"
        origin = next((r for r in repo.remotes if r.name == "origin"), None)
        base = redact_url(next(iter(origin.urls))) if origin is not None else str(top)
    return LocalCheckout(
        revision=revision,
        source=base if subfolder == "." else f"{base}//{subfolder}",
        origin=base if origin is not None else None,
    )


def checkout_revision(path: Path, revision: str, *, cache_root: Path | None = None) -> Snapshot:
    """The files of `revision` in the local Git repository holding `path`, for
    `harmonia diff --base/--head`; the snapshot's root is `path`'s folder in that commit.

    `revision` is anything `git rev-parse` takes (a branch, tag, SHA, `HEAD~1`,
    `origin/main`), resolved in the local repository without the network. The commit
    is then read through a `GitSource` on the repository's own folder: its tree is
    written once per commit in the cache and never holds uncommitted files.
    """
    folder = path.resolve()
    subject = f"{folder} (revision {revision})"
    if not revision.strip() or revision.startswith("-"):
        raise SourceConfigError(subject, "not a revision")
    try:
        repo = git.Repo(folder, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise SourceConfigError(subject, "not inside a Git work tree") from None
    with repo:
        if repo.working_tree_dir is None:
            raise SourceConfigError(subject, "not inside a Git work tree")
        top = Path(repo.working_tree_dir).resolve()
        run = run_git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if not run.ok:
        raise RefNotFound(subject, "no such commit in the local repository")
    source = GitSource(
        str(top),
        ref=run.stdout.strip(),
        subfolder=folder.relative_to(top).as_posix(),
        credentials=Credentials(),
        cache_root=cache_root,
        remember=False,
    )
    return source.fetch()
