"""A commit of one file's change on a new branch, made without a checkout: for `harmonia
promote`, which proposes a change for review and must leave the user's working tree,
index and current branch exactly as they were.

The commit is built from a private index (`GIT_INDEX_FILE`) read from the start commit,
so nothing uncommitted can slip into it; the branch is created only if it does not exist.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import git

from reconciler.source.errors import SourceConfigError
from reconciler.source.git_runner import local_output, run_git


@dataclass(frozen=True)
class FileChange:
    """`path` (relative to the folder given, `/`-separated) becomes `content`; None
    deletes it."""

    path: str
    content: bytes | None


class BranchExists(SourceConfigError):
    """The branch to create is there already."""


def commit_on_new_branch(
    folder: Path, *, start: str, branch: str, change: FileChange, message: str
) -> str:
    """Commit `change` on `start` as the new branch `branch` of the repository holding
    `folder`, and return the commit. Raises `BranchExists`, or `SourceConfigError` for a
    folder outside a work tree, an unknown start, a name Git refuses or one Git would read
    as another revision."""
    subject = f"branch {branch}"
    try:
        repo = git.Repo(folder, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise SourceConfigError(str(folder), "not inside a Git work tree") from None
    with repo:
        if repo.working_tree_dir is None:
            raise SourceConfigError(str(folder), "not inside a Git work tree")
        if not run_git(repo, "check-ref-format", "--branch", branch).ok:
            raise SourceConfigError(subject, "not a valid branch name")
        if run_git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}").ok:
            raise BranchExists(subject, "exists already: pass --branch NAME, or delete it")
        if run_git(repo, "rev-parse", "--verify", "--quiet", branch).ok:
            # `heads/main` would be made `refs/heads/heads/main`, and Git would then read
            # the name everywhere (the review's --head, a push) as the revision it names.
            raise SourceConfigError(
                subject, "names an existing branch, tag or commit: pass another --branch NAME"
            )
        found = run_git(repo, "rev-parse", "--verify", "--quiet", f"{start}^{{commit}}")
        if not found.ok:
            raise SourceConfigError(f"revision {start}", "no such commit in the local repository")
        parent = found.stdout.strip()
        top = Path(repo.working_tree_dir).resolve()
        inside = PurePosixPath(folder.resolve().relative_to(top).as_posix(), change.path)
        path = inside.as_posix().removeprefix("./")
        with tempfile.TemporaryDirectory(prefix="harmonia-promote-") as scratch:
            env = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}

            def git_out(command: str, *args: str) -> str:
                return local_output(
                    repo, command, *args, subject=subject, where="building the commit", env=env
                ).strip()

            git_out("read-tree", parent)
            if change.content is None:
                git_out("update-index", "--force-remove", "--", path)
            else:
                blob_file = Path(scratch, "blob")
                blob_file.write_bytes(change.content)
                blob = git_out("hash-object", "-w", "--", str(blob_file))
                git_out("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
            tree = git_out("write-tree")
            commit = git_out("commit-tree", tree, "-p", parent, "-m", message)
            # The empty old value: create the branch, never move one made meanwhile.
            git_out("update-ref", f"refs/heads/{branch}", commit, "")
        return commit
