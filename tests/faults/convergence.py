"""Releases of many ConfigMaps, and the check that the cluster holds exactly one of them.

A fault test cuts a pass short, lets the next one run, then asks: is every rendered
object there with its rendered data, is nothing else carrying the release's labels, and
does the inventory record name exactly the rendered objects, once each, at the revision?
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from reconciler.apply.inventory import INVENTORY_LABEL, inventory_name, record_from_configmap
from reconciler.render.ownership import OWNER_ANNOTATION, ownership_labels
from reconciler.types import ReleaseKey, release_key, split_release_key
from tests.cluster.workbench import REPOSITORY_FILE
from tests.conftest import LiveCluster

WRITING_TIMEOUT = 120.0
"""Seconds a pass may take to write the objects a test waits for before cutting it."""

Objects = list[dict[str, Any]]
"""Rendered objects, as a chart of this module's holds them."""


def config_maps(names: Iterable[str], *, value: str) -> Objects:
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": value}}
        for name in names
    ]


def numbered(start: int, stop: int) -> list[str]:
    return [f"cm-{number:03d}" for number in range(start, stop)]


def repository_files(namespace: str, releases: Mapping[str, Objects]) -> dict[str, str]:
    """A release repository: `harmonia.yaml` and one plain-manifest chart per release."""
    files = {"harmonia.yaml": REPOSITORY_FILE}
    for name, objects in releases.items():
        release = {
            "apiVersion": "harmonia.dev/v1alpha1",
            "kind": "Release",
            "name": name,
            "namespace": namespace,
            "chartPath": f"charts/{name}",
        }
        files[f"releases/{namespace}/{name}.yaml"] = yaml.safe_dump(release)
        files[f"charts/{name}/objects.yaml"] = yaml.safe_dump_all(objects)
    return files


def write_files(root: Path, files: Mapping[str, str]) -> None:
    """Replace the repository at `root` with `files`."""
    for old in sorted(root.rglob("*.yaml"), reverse=True):
        old.unlink()
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@dataclass(frozen=True)
class ReleaseInCluster:
    objects: dict[str, dict[str, str]]
    """Name -> data of every ConfigMap carrying the release's labels, its record aside."""
    owners: set[str]
    """The owner annotations those ConfigMaps carry."""
    inventory: list[str]
    """The object names in its inventory record, in the record's order."""
    revision: str


def release_in_cluster(cluster: LiveCluster, key: ReleaseKey) -> ReleaseInCluster | None:
    """What the cluster holds of `key`; None when it has no inventory record."""
    namespace, _name = split_release_key(key)
    selector = ",".join(f"{label}={value}" for label, value in ownership_labels(key).items())
    with cluster.api() as api:
        core = client.CoreV1Api(api)
        listed: Any = core.list_namespaced_config_map(
            namespace, label_selector=f"{selector},!{INVENTORY_LABEL}", _preload_content=False
        )
        items = json.loads(listed.data)["items"]
        try:
            raw: Any = core.read_namespaced_config_map(
                inventory_name(key), namespace, _preload_content=False
            )
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise
    record = record_from_configmap(json.loads(raw.data))
    return ReleaseInCluster(
        objects={item["metadata"]["name"]: item.get("data") or {} for item in items},
        owners={item["metadata"].get("annotations", {}).get(OWNER_ANNOTATION) for item in items},
        inventory=[entry.ref.name for entry in record.entries],
        revision=record.revision,
    )


def assert_converged(
    cluster: LiveCluster,
    namespace: str,
    name: str,
    expected: Objects,
    *,
    revision: str | None = None,
) -> None:
    """The release holds exactly `expected`: none missing, none extra, none twice."""
    key = release_key(namespace, name)
    found = release_in_cluster(cluster, key)
    assert found is not None, f"{key} has no inventory record"
    wanted = {str(obj["metadata"]["name"]): obj["data"] for obj in expected}
    assert sorted(set(found.objects) - set(wanted)) == [], "objects left over"
    assert sorted(set(wanted) - set(found.objects)) == [], "objects missing"
    assert found.objects == wanted, "objects with data other than rendered"
    assert found.owners <= {str(key)}
    assert len(found.inventory) == len(set(found.inventory)), "an object recorded twice"
    assert sorted(found.inventory) == sorted(wanted), "the inventory differs from the render"
    if revision is not None:
        assert found.revision == revision


def converged(
    cluster: LiveCluster,
    namespace: str,
    name: str,
    expected: Objects,
    *,
    revision: str | None = None,
) -> bool:
    """`assert_converged` as a condition to wait for."""
    try:
        assert_converged(cluster, namespace, name, expected, revision=revision)
    except AssertionError:
        return False
    return True


def labelled_count(cluster: LiveCluster, key: ReleaseKey, *, value: str | None = None) -> int:
    """How many ConfigMaps carry the release's labels (and `data.v == value`, if given)."""
    found = release_in_cluster(cluster, key)
    if found is None:
        return 0
    return sum(value is None or data.get("v") == value for data in found.objects.values())


def when_written(
    cluster: LiveCluster,
    key: ReleaseKey,
    *,
    at_least: int,
    writer: subprocess.Popen[Any],
    value: str | None = None,
) -> None:
    """Return once `at_least` ConfigMaps carry the release's labels (and `value`), while
    `writer` (the Harmonia process applying it) still runs: the moment to cut its pass
    short. Polls fast, since a pass writes a few hundred objects in seconds."""
    deadline = time.monotonic() + WRITING_TIMEOUT
    while labelled_count(cluster, key, value=value) < at_least:
        assert writer.poll() is None, f"the pass ended (exit {writer.returncode}) before the cut"
        assert time.monotonic() < deadline, f"{key}: fewer than {at_least} objects written"
        time.sleep(0.02)


def set_value(cluster: LiveCluster, namespace: str, name: str, value: str) -> None:
    """Edit a ConfigMap by hand, as someone with kubectl would."""
    patch = json.dumps({"data": {"v": value}})
    cluster.kubectl("-n", namespace, "patch", "configmap", name, "--type=merge", "-p", patch)


def value_of(cluster: LiveCluster, namespace: str, name: str) -> str | None:
    found = cluster.kubectl("-n", namespace, "get", "configmap", name, "-o", "json", check=False)
    if found.returncode != 0:
        return None
    return str(json.loads(found.stdout)["data"]["v"])
