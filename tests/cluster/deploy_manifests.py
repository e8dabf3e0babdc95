"""deploy/ rendered the way users render it, for the deploy tests: `kubectl kustomize` of
the Kustomize base (optionally under names of a test's own) and `helm template` of the chart.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE = ROOT / "deploy" / "kustomize"
CHART = ROOT / "deploy" / "helm" / "harmonia"
NOTIFICATIONS_EXAMPLE = "notifications.example"
"""The example component turning on alerts and commit statuses (docs/notifications.md)."""
NOTIFICATION_SECRETS = {"notifications": "harmonia-notifications", "forge": "harmonia-forge"}
"""The Secrets the example component mounts, by the folder of /etc/harmonia they go to."""

Document = dict[str, Any]


def rendered(*command: str | Path) -> list[Document]:
    done = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return [document for document in yaml.safe_load_all(done.stdout) if document]


def find(docs: list[Document], kind: str, name_start: str = "") -> list[Document]:
    return [
        doc
        for doc in docs
        if doc["kind"] == kind and doc["metadata"]["name"].startswith(name_start)
    ]


def kustomize(kubectl: Path, folder: Path) -> list[Document]:
    return rendered(kubectl, "kustomize", folder)


def helm_template(helm: Path, release: str, *args: str) -> list[Document]:
    return rendered(helm, "template", release, CHART, *args)


def example_notifications() -> Document:
    """The example component's config.yaml, parsed."""
    loaded: Document = yaml.safe_load(
        (KUSTOMIZE / NOTIFICATIONS_EXAMPLE / "config.yaml").read_text()
    )
    return loaded


def notification_values(folder: Path) -> Path:
    """A values file giving the chart the example component's receivers, forge and Secrets."""
    example = example_notifications()
    forge = {key: value for key, value in example["forge"].items() if key != "tokenFile"}
    values = {
        "notifications": {
            **example["notifications"],
            "secretName": NOTIFICATION_SECRETS["notifications"],
        },
        "forge": {**forge, "tokenSecret": NOTIFICATION_SECRETS["forge"], "tokenKey": "token"},
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notifications-values.yaml").write_text(yaml.safe_dump(values))
    return folder / "notifications-values.yaml"


def _relative(part: str, folder: Path) -> str:
    return os.path.relpath(KUSTOMIZE / part, folder)


def cronjob_overlay(folder: Path) -> Path:
    """The default install with the CronJob component, as docs/install.md shows it."""
    return component_overlay(folder, "cronjob")


def component_overlay(folder: Path, component: str) -> Path:
    """The default install with one of deploy/kustomize's components (cronjob, webhooks, the
    notifications example)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(
        f"resources: [{_relative('', folder)}]\ncomponents: [{_relative(component, folder)}]\n"
    )
    return folder


def unique_overlay(folder: Path, *, prefix: str, system: str, allowed: tuple[str, ...]) -> Path:
    """deploy/kustomize's base in namespace `system`, a release-manager RoleBinding in each of
    `allowed`, and `prefix-` before the cluster-scoped names, so parallel runs never collide."""
    (folder / "system").mkdir(parents=True, exist_ok=True)
    (folder / "system" / "kustomization.yaml").write_text(
        f"namespace: {system}\nresources: [{_relative('base', folder / 'system')}]\n"
    )
    for namespace in allowed:
        (folder / namespace).mkdir()
        (folder / namespace / "kustomization.yaml").write_text(
            f"namespace: {namespace}\n"
            f"resources: [{_relative('release-namespace', folder / namespace)}]\n"
            "patches:\n"
            "  - target: {kind: RoleBinding}\n"
            "    patch: |-\n"
            "      - {op: replace, path: /subjects/0/namespace, value: " + system + "}\n"
        )
    (folder / "cluster-names.yaml").write_text(
        "apiVersion: builtin\n"
        "kind: PrefixSuffixTransformer\n"
        "metadata: {name: unique-cluster-names}\n"
        f"prefix: {prefix}-\n"
        "fieldSpecs:\n"
        "  - {kind: ClusterRole, path: metadata/name}\n"
        "  - {kind: ClusterRoleBinding, path: metadata/name}\n"
    )
    (folder / "kustomization.yaml").write_text(
        f"resources: [system, {', '.join(allowed)}]\ntransformers: [cluster-names.yaml]\n"
    )
    return folder
