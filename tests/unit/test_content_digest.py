"""A commit that only touches status/ keeps the revision: the digest ignores that folder."""

from __future__ import annotations

from pathlib import Path

from reconciler.loop.cycle import content_digest


def repository(root: Path) -> Path:
    (root / "releases" / "shop").mkdir(parents=True)
    (root / "harmonia.yaml").write_text("apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n")
    (root / "releases" / "shop" / "web.yaml").write_text("name: web\n")
    return root


def test_status_files_do_not_change_the_digest(tmp_path: Path) -> None:
    root = repository(tmp_path)
    before = content_digest(root)
    (root / "status" / "shop").mkdir(parents=True)
    (root / "status" / "shop" / "web.yaml").write_text("state: Ready\n")
    (root / "status" / "README.md").write_text("# Release status\n")
    assert content_digest(root) == before


def test_a_changed_release_file_changes_the_digest(tmp_path: Path) -> None:
    root = repository(tmp_path)
    before = content_digest(root)
    (root / "releases" / "shop" / "web.yaml").write_text("name: web\npaused: true\n")
    assert content_digest(root) != before


def test_a_renamed_file_changes_the_digest(tmp_path: Path) -> None:
    root = repository(tmp_path)
    before = content_digest(root)
    (root / "releases" / "shop" / "web.yaml").rename(root / "releases" / "shop" / "www.yaml")
    assert content_digest(root) != before


def test_a_status_folder_below_the_root_is_content(tmp_path: Path) -> None:
    root = repository(tmp_path)
    before = content_digest(root)
    (root / "releases" / "status").mkdir()
    (root / "releases" / "status" / "x.yaml").write_text("name: x\n")
    assert content_digest(root) != before
