"""`harmonia validate` finds plugin problems with the file and line, before any render."""

from __future__ import annotations

from pathlib import Path

from reconciler.desired import check_repository
from reconciler.policy import Policy

RELEASE = """apiVersion: harmonia.dev/v1alpha1
kind: Release
name: web
namespace: shop
chartPath: charts/web
plugins:
- name: NoSuchPlugin
- name: LabelPod
  args: {labelsToAdd: 5}
"""


def test_unknown_plugins_and_bad_args_are_validation_errors_naming_the_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "harmonia.yaml").write_text("apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n")
    (tmp_path / "charts" / "web").mkdir(parents=True)
    (tmp_path / "charts" / "web" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n")
    (tmp_path / "releases" / "shop").mkdir(parents=True)
    (tmp_path / "releases" / "shop" / "web.yaml").write_text(RELEASE)

    *_, diagnostics = check_repository(tmp_path, policy=Policy())

    found = [(d.file, d.line, d.message) for d in diagnostics if d.is_error]
    assert found == [
        ("releases/shop/web.yaml", 6, found[0][2]),
        ("releases/shop/web.yaml", 6, found[1][2]),
    ]
    assert "NoSuchPlugin: unknown plugin" in found[0][2]
    assert "LabelPod: args.labelsToAdd: expected a mapping" in found[1][2]
