"""The status branch: the report files of a pass committed and pushed back to Git.

The last step of a cycle, after `reconciler.status.files` has composed `status/`. It
imports GitPython (its commands run through `git_runner.py`) and only ever writes
`<folder>/status/` of one branch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import git

from reconciler.source.cache import RemoteCache, default_cache_root, remove_tree
from reconciler.source.credentials import Credentials, GitAuth, ensure_askpass, git_auth
from reconciler.source.errors import (
    PermanentError,
    RefNotFound,
    SourceConfigError,
    SubfolderInvalid,
    TemporaryError,
)
from reconciler.source.git_runner import (
    local_output,
    remote_error,
    run_remote,
    scrubbed_detail,
)
from reconciler.source.refs import RefKind, normalise_subfolder, parse_ref
from reconciler.source.snapshot import STATUS_FOLDER
from reconciler.source.urls import cache_key, parse_remote_url

_WORK_BRANCH = "refs/heads/harmonia-status-work"
_TIP_REF = "refs/harmonia/status-tip"

Compose = Callable[[Mapping[str, str]], Mapping[str, str]]
"""Given the status files on the branch tip (path -> text), the files it should hold."""


_LOST_REF_RACE = ("failed to update ref", "cannot lock ref")


@dataclass(frozen=True)
class StatusCommit:
    commit: str | None
    """The new commit's SHA; None when nothing changed."""
    attempts: int
    """Pushes tried: 1 normally, more after rejected pushes, 0 when nothing changed."""


class StatusBranch:
    """Publishes `<folder>/status/` of one branch of one remote; for an `environment`,
    `<folder>/status/<environment>/` (the composed files' `status/` stands for it), and
    the other environments' status there is left as it is.

    Keeps a working clone under `<cache_root>/status/<cache key>-<branch>/`, locked
    against other processes like the Git source's cache. `publish` fetches the branch
    (or starts it as an orphan holding nothing else), lets `compose` turn the current
    files into the new ones, commits only when the tree changed, as the fixed identity
    (through the environment, never Git's config) and pushes. When the remote moved
    meanwhile, it fetches and composes again on the new tip, up to `max_attempts` pushes.
    Credentials come as for `GitSource` and never reach a command line or the clone's
    config; failures raise the `reconciler.source.errors` classes.
    """

    def __init__(
        self,
        url: str,
        *,
        branch: str,
        folder: str = "",
        environment: str | None = None,
        credentials: Credentials | None = None,
        cache_root: Path | None = None,
        author_name: str = "Harmonia",
        author_email: str = "harmonia@harmonia.dev",
        timeout: float = 300.0,
        max_attempts: int = 5,
    ) -> None:
        self._remote = parse_remote_url(url)
        self._branch = _branch_name(branch)
        self._folder = normalise_subfolder(folder)
        self._environment = environment
        self._credentials = Credentials.from_env() if credentials is None else credentials
        self._cache_root = default_cache_root() if cache_root is None else cache_root
        safe_branch = re.sub(r"[^A-Za-z0-9._-]+", "-", self._branch)
        self._cache = RemoteCache(
            self._cache_root / "status" / f"{cache_key(self._remote.address)}-{safe_branch}"
        )
        self._identity = {
            "GIT_AUTHOR_NAME": author_name,
            "GIT_AUTHOR_EMAIL": author_email,
            "GIT_COMMITTER_NAME": author_name,
            "GIT_COMMITTER_EMAIL": author_email,
        }
        self._timeout = timeout
        self._max_attempts = max(max_attempts, 1)
        self._subject = f"{self._remote.redacted} (status branch {self._branch})"

    def publish(self, compose: Compose, *, message: str) -> StatusCommit:
        """Commit and push what `compose` makes of the current status files, if it differs."""
        with self._cache.locked():
            auth = git_auth(
                self._remote,
                self._credentials,
                askpass_program=ensure_askpass(self._cache_root),
                subject=self._subject,
            )
            with self._open_clone() as repo:
                for attempt in range(1, self._max_attempts + 1):
                    tip = self._fetch_tip(repo, auth)
                    self._reset(repo, tip)
                    self._write_status(compose(self._read_status(repo, tip)))
                    commit = self._commit(repo, tip, message)
                    if commit is None:
                        return StatusCommit(commit=None, attempts=attempt - 1)
                    if self._push(repo, auth, commit):
                        return StatusCommit(commit=commit, attempts=attempt)
        reason = f"push rejected {self._max_attempts} times: the branch kept moving"
        raise TemporaryError(self._subject, reason)

    @property
    def _clone_folder(self) -> Path:
        return self._cache.folder / "clone"

    def _open_clone(self) -> git.Repo:
        folder = self._clone_folder
        if (folder / ".git" / "HEAD").is_file():
            try:
                return git.Repo(folder)
            except (git.InvalidGitRepositoryError, git.NoSuchPathError):
                pass
        remove_tree(folder)
        repo = git.Repo.init(folder, mkdir=True)
        with repo.config_writer() as config:
            # A detached `git gc` would outlive the publish and race the next one; the
            # files must be committed byte for byte; no hook of the host may run.
            config.set_value("gc", "autoDetach", "false")
            config.set_value("core", "autocrlf", "false")
            config.set_value("core", "hooksPath", str(folder / ".git" / "no-hooks"))
        self._local(repo, "symbolic-ref", "HEAD", _WORK_BRANCH)
        return repo

    def _fetch_tip(self, repo: git.Repo, auth: GitAuth) -> str | None:
        """The branch's commit on the remote (kept under `_TIP_REF`); None if it has none."""
        run = run_remote(
            repo,
            "fetch",
            "--no-tags",
            "--no-write-fetch-head",
            "--",
            self._remote.address,
            f"+refs/heads/{self._branch}:{_TIP_REF}",
            auth=auth,
            timeout=self._timeout,
        )
        if not run.ok:
            error = remote_error(run, self._subject, "fetch failed", auth=auth)
            if isinstance(error, RefNotFound):
                return None
            raise error
        return self._local(repo, "rev-parse", "--verify", f"{_TIP_REF}^{{commit}}").strip()

    def _reset(self, repo: git.Repo, tip: str | None) -> None:
        """Work tree and index exactly `tip`, or empty on an unborn branch for an orphan."""
        if tip is None:
            self._local(repo, "update-ref", "-d", _WORK_BRANCH)
            self._local(repo, "read-tree", "--empty")
        else:
            self._local(repo, "reset", "--quiet", "--hard", tip)
        self._local(repo, "clean", "-ffdxq")

    def _read_status(self, repo: git.Repo, tip: str | None) -> dict[str, str]:
        """The status files of `tip`, relative to the folder, read from Git's objects (a
        link in the branch cannot read a file of the host); unreadable ones are left out."""
        if tip is None:
            return {}
        try:
            status = repo.commit(tip).tree / self._status_path
        except KeyError:
            return {}
        if not isinstance(status, git.Tree):
            return {}
        files: dict[str, str] = {}
        for item in status.traverse():
            if isinstance(item, git.Blob) and item.mode in (0o100644, 0o100755):
                inside = PurePosixPath(item.path).relative_to(self._status_path)
                relative = PurePosixPath(STATUS_FOLDER) / inside
                try:
                    files[relative.as_posix()] = item.data_stream.read().decode("utf-8")
                except UnicodeDecodeError:
                    continue
        return files

    def _write_status(self, files: Mapping[str, str]) -> None:
        """Replace `<folder>/status/` in the work tree with `files` (paths like the input's)."""
        status = self._clone_folder / self._status_path
        self._refuse_non_folders(status)
        if status.is_symlink() or status.is_file():
            status.unlink()
        else:
            remove_tree(status)
        for relative, text in sorted(files.items()):
            path = status / _checked_status_file(relative).relative_to(STATUS_FOLDER)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    def _refuse_non_folders(self, status: Path) -> None:
        """The folder's parts must be plain folders: through a link the files would land
        outside the clone."""
        clone = self._clone_folder
        for part in reversed(status.relative_to(clone).parents):
            path = clone / part
            if path != clone and (path.is_symlink() or (path.exists() and not path.is_dir())):
                shown = path.relative_to(clone).as_posix()
                raise SubfolderInvalid(self._subject, f"{shown} is not a folder in the branch")

    def _commit(self, repo: git.Repo, tip: str | None, message: str) -> str | None:
        """A commit of the work tree on top of `tip`; None when its tree is `tip`'s."""
        self._local(repo, "add", "--all", "--force")
        if not self._local(repo, "diff", "--cached", "--name-only", "-z"):
            return None
        tree = self._local(repo, "write-tree").strip()
        parents = ["-p", tip] if tip is not None else []
        return self._local(
            repo, "commit-tree", "--no-gpg-sign", *parents, "-m", message, tree, env=self._identity
        ).strip()

    def _push(self, repo: git.Repo, auth: GitAuth, commit: str) -> bool:
        """Push `commit` to the branch; False when rejected because the remote moved."""
        run = run_remote(
            repo,
            "push",
            "--porcelain",
            "--",
            self._remote.address,
            f"{commit}:refs/heads/{self._branch}",
            auth=auth,
            timeout=self._timeout,
        )
        if run.ok:
            return True
        said = f"{run.stdout}\n{run.stderr}"
        # "failed to update ref" / "cannot lock ref": another push won the race for the
        # branch at the server itself; like a non-fast-forward, fetch and try again.
        if "[rejected]" in said or any(lost in said for lost in _LOST_REF_RACE):
            return False
        if "[remote rejected]" in said:
            reason = "the remote refused the push"
            raise PermanentError(self._subject, reason, detail=scrubbed_detail(said, auth))
        raise remote_error(run, self._subject, "push failed", auth=auth)

    def _local(
        self, repo: git.Repo, command: str, *args: str, env: Mapping[str, str] | None = None
    ) -> str:
        """Run a Git command that needs no network in the clone; its stdout."""
        return local_output(
            repo, command, *args, subject=self._subject, where="in the clone", env=env
        )

    @property
    def _status_path(self) -> str:
        """The status folder in the branch: `status/`, below the subfolder, and for an
        environment its own folder in it."""
        parts = (self._folder, STATUS_FOLDER, self._environment or "")
        return "/".join(part for part in parts if part)


def _branch_name(branch: str) -> str:
    ref = parse_ref(branch)
    if ref.kind not in (RefKind.BRANCH, RefKind.NAME):
        raise SourceConfigError(f"status branch {branch!r}", "must name a branch")
    return ref.name


def _checked_status_file(relative: str) -> PurePosixPath:
    """A composed file's path, refused unless it lies under `status/`."""
    path = PurePosixPath(relative)
    inside = path.parts[:1] == (STATUS_FOLDER,) and len(path.parts) > 1
    if not inside or path.is_absolute() or any(part in ("", ".", "..") for part in path.parts):
        raise ValueError(f"status file {relative!r}: not a path under {STATUS_FOLDER}/")
    return path
