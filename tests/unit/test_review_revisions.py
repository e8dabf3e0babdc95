"""compare_revisions: two desired states of a repository, compared release by release.

Each side is a repository loaded from files (the real loader) with a render written out
by hand, so every case (fan-out, removal, an unreadable file, a failed render) is exact.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from reconciler.desired import DesiredState, check_repository
from reconciler.diff import Action
from reconciler.policy import Policy
from reconciler.render.environment import VersionChoice
from reconciler.render.model import KubeObject, Outputs, RenderedRelease
from reconciler.render.pipeline import ReleaseProblem, RepositoryRender
from reconciler.review import (
    DependencyChange,
    ReleaseChange,
    Review,
    RevisionName,
    compare_revisions,
)
from reconciler.review.revisions import changed_outputs, object_changes
from reconciler.types import JsonObject, ReleaseKey
from tests.unit.samples import release, write_repository

ZOOKEEPER = ReleaseKey("streaming/zookeeper")
KAFKA = ReleaseKey("streaming/kafka")
WEB = ReleaseKey("apps/web")
VERSIONS = VersionChoice("v1.36.3", (), "harmonia.yaml")


def config_map(name: str, namespace: str, **data: str) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": dict(data),
    }


def stateful_set(
    name: str, namespace: str, replicas: int, *, storage: str = "1Gi", memory: str = "128Mi"
) -> KubeObject:
    container: JsonObject = {
        "name": name,
        "image": "example:1",
        "resources": {"requests": {"cpu": "100m", "memory": memory}},
    }
    claim: JsonObject = {
        "metadata": {"name": "data"},
        "spec": {"resources": {"requests": {"storage": storage}}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [container]}},
            "volumeClaimTemplates": [claim],
        },
    }


def rendered(
    key: ReleaseKey,
    objects: list[KubeObject],
    *,
    outputs: Outputs | None = None,
    values: JsonObject | None = None,
) -> RenderedRelease:
    return RenderedRelease(
        key=key,
        objects=tuple(objects),
        hooks=(),
        outputs=outputs or {},
        values=values or {},
        input_hash="",
    )


def state(
    root: Path,
    files: dict[str, str | bytes],
    renders: list[RenderedRelease],
    *,
    failed: dict[ReleaseKey, str] | None = None,
) -> DesiredState:
    """A desired state: the files loaded for real, the render as given."""
    write_repository(root, files)
    loaded, graph, policy, diagnostics = check_repository(root, policy=Policy())
    render = RepositoryRender(
        rendered={item.key: item for item in renders},
        failed={key: ReleaseProblem(message) for key, message in (failed or {}).items()},
    )
    return DesiredState(root, loaded, graph, policy, VERSIONS, render, diagnostics)


def streaming(root: Path, *, zookeeper_replicas: int, kafka_file: str = "") -> DesiredState:
    """ZooKeeper publishing one address per member; Kafka rendered with them."""
    addresses = ",".join(f"zk-{index}:2181" for index in range(zookeeper_replicas))
    files: dict[str, str | bytes] = {
        "releases/zookeeper.yaml": release(
            "zookeeper", "streaming", configValues=f"{{replicas: {zookeeper_replicas}}}"
        ),
        "releases/kafka.yaml": kafka_file
        or release("kafka", "streaming", dependencies="{zookeeper: zookeeper}"),
    }
    return state(
        root,
        files,
        [
            rendered(
                ZOOKEEPER,
                [stateful_set("zookeeper", "streaming", zookeeper_replicas)],
                outputs={"zookeeper_addresses": addresses, "zookeeper_port": 2181},
                values={"replicas": zookeeper_replicas},
            ),
            rendered(
                KAFKA,
                [config_map("kafka", "streaming", connect=addresses)],
                values={"ZOOKEEPER_CLIENT_CONFIG": {"zookeeper_addresses": addresses}},
            ),
        ],
    )


def review_of(base: DesiredState, head: DesiredState, *, only: ReleaseKey | None = None) -> Review:
    return compare_revisions(
        base,
        head,
        base_name=RevisionName("main", "a" * 40),
        head_name=RevisionName("HEAD"),
        only=only,
    )


def test_scaling_zookeeper_changes_kafka_through_its_outputs_and_says_so(tmp_path: Path) -> None:
    base = streaming(tmp_path / "base", zookeeper_replicas=3)
    head = streaming(tmp_path / "head", zookeeper_replicas=5)

    review = review_of(base, head)

    zookeeper, kafka = review.releases
    assert (zookeeper.release, kafka.release) == (ZOOKEEPER, KAFKA)  # dependencies first
    assert zookeeper.change is ReleaseChange.CHANGED and zookeeper.request_changed
    assert zookeeper.cause == "its request changed"
    assert kafka.change is ReleaseChange.CHANGED and not kafka.request_changed
    assert kafka.dependencies == (
        DependencyChange("zookeeper", ZOOKEEPER, ("zookeeper_addresses",)),
    )
    assert kafka.cause == "the outputs of streaming/zookeeper change"
    (change,) = kafka.objects.changes
    assert change.action is Action.CONFIGURED and change.changed_paths == ("/data/connect",)
    assert review.has_changes and not review.failed


def test_a_changed_object_diffs_base_against_head_not_live_against_desired(
    tmp_path: Path,
) -> None:
    review = review_of(
        streaming(tmp_path / "base", zookeeper_replicas=3),
        streaming(tmp_path / "head", zookeeper_replicas=5),
    )

    (statefulset,) = review.releases[0].objects.changes
    assert statefulset.diff_text is not None
    assert statefulset.diff_text.startswith(
        "--- base apps/v1 StatefulSet/streaming/zookeeper\n"
        "+++ head apps/v1 StatefulSet/streaming/zookeeper\n"
    )
    assert "-  replicas: 3\n+  replicas: 5\n" in statefulset.diff_text
    assert statefulset.reason == "differs at /spec/replicas"


def one_stateful_set(root: Path, **quantities: str) -> DesiredState:
    files: dict[str, str | bytes] = {"releases/zookeeper.yaml": release("zookeeper", "streaming")}
    objects = [stateful_set("zookeeper", "streaming", 3, **quantities)]
    return state(root, files, [rendered(ZOOKEEPER, objects)])


def test_a_quantity_spelled_another_way_is_no_change_as_the_server_stores_one_string(
    tmp_path: Path,
) -> None:
    review = review_of(
        one_stateful_set(tmp_path / "base", memory="0.125Gi", storage="1024Mi"),
        one_stateful_set(tmp_path / "head", memory="128Mi", storage="1Gi"),
    )

    (zookeeper,) = review.releases
    assert zookeeper.change is ReleaseChange.UNCHANGED, zookeeper.objects.to_json()
    assert not review.has_changes


def test_a_quantity_that_changes_its_value_is_a_change_at_that_field(tmp_path: Path) -> None:
    review = review_of(
        one_stateful_set(tmp_path / "base", memory="0.125Gi"),
        one_stateful_set(tmp_path / "head", memory="0.25Gi"),
    )

    (statefulset,) = review.releases[0].objects.changes
    assert statefulset.changed_paths == (
        "/spec/template/spec/containers/0/resources/requests/memory",
    )
    assert statefulset.diff_text is not None
    assert "-            memory: 128Mi\n+            memory: 256Mi\n" in statefulset.diff_text


def test_the_resource_delta_counts_every_pod_and_claim(tmp_path: Path) -> None:
    review = review_of(
        streaming(tmp_path / "base", zookeeper_replicas=3),
        streaming(tmp_path / "head", zookeeper_replicas=5),
    )

    delta = review.releases[0].resources
    assert delta is not None
    assert (delta.cpu_cores, delta.memory_mib, delta.storage_gib) == (0.2, 256, 2)
    assert delta.base.requests.cpu_cores == 0.3 and delta.head.requests.cpu_cores == 0.5
    total = review.resources
    assert total is not None and total.storage_gib == 2


def test_identical_revisions_have_no_changes(tmp_path: Path) -> None:
    review = review_of(
        streaming(tmp_path / "base", zookeeper_replicas=3),
        streaming(tmp_path / "head", zookeeper_replicas=3),
    )

    assert [item.change for item in review.releases] == [ReleaseChange.UNCHANGED] * 2
    assert not review.has_changes and not review.failed
    assert all(item.dependencies == () for item in review.releases)


def test_a_release_whose_file_is_gone_is_removed_with_every_object_deleted(
    tmp_path: Path,
) -> None:
    base = state(
        tmp_path / "base",
        {"releases/web.yaml": release("web")},
        [rendered(WEB, [config_map("web", "apps", mode="fast")])],
    )
    head = state(tmp_path / "head", {}, [])

    (web,) = review_of(base, head).releases

    assert web.change is ReleaseChange.REMOVED
    assert [(c.action, c.reason) for c in web.objects.changes] == [
        (Action.DELETED, "only in the base")
    ]
    assert "its file left Git" in web.message


def test_a_release_whose_file_no_longer_parses_is_invalid_not_removed(tmp_path: Path) -> None:
    base = state(
        tmp_path / "base",
        {"releases/web.yaml": release("web")},
        [rendered(WEB, [config_map("web", "apps", mode="fast")])],
    )
    head = state(tmp_path / "head", {"releases/web.yaml": release("web") + "name: [oops\n"}, [])

    review = review_of(base, head)

    (web,) = review.releases
    assert web.change is ReleaseChange.INVALID and not web.objects.changes
    assert review.failed and not review.has_changes
    (error,) = review.diagnostics
    assert (error.file, error.line) == ("releases/web.yaml", 7)


def test_a_new_release_is_added_and_requests_from_nothing(tmp_path: Path) -> None:
    base = state(tmp_path / "base", {}, [])
    head = streaming(tmp_path / "head", zookeeper_replicas=1)

    review = review_of(base, head)

    assert [item.change for item in review.releases] == [ReleaseChange.ADDED] * 2
    zookeeper = review.releases[0]
    assert [c.action for c in zookeeper.objects.changes] == [Action.CREATED]
    assert zookeeper.resources is not None and zookeeper.resources.cpu_cores == 0.1
    assert not zookeeper.request_changed and zookeeper.cause == ""


def test_a_release_that_fails_to_render_at_the_head_fails_the_review(tmp_path: Path) -> None:
    base = state(
        tmp_path / "base",
        {"releases/web.yaml": release("web")},
        [rendered(WEB, [config_map("web", "apps")])],
    )
    head = state(
        tmp_path / "head",
        {"releases/web.yaml": release("web", timeoutSec="60")},
        [],
        failed={WEB: "release apps/web: chart web: template error"},
    )

    review = review_of(base, head)

    (web,) = review.releases
    assert web.change is ReleaseChange.FAILED and web.message.endswith("template error")
    assert web.resources is None
    assert review.failed


def test_only_one_release_is_reviewed_when_asked(tmp_path: Path) -> None:
    review = review_of(
        streaming(tmp_path / "base", zookeeper_replicas=3),
        streaming(tmp_path / "head", zookeeper_replicas=5),
        only=KAFKA,
    )

    assert [item.release for item in review.releases] == [KAFKA]


def test_secret_values_never_reach_the_review_in_any_form(tmp_path: Path) -> None:
    def secret(value: str) -> KubeObject:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": "apps"},
            "data": {"password": base64.b64encode(value.encode()).decode()},
            "stringData": {"token": value + "-token"},
        }

    changes = object_changes(WEB, (secret("old-secret-value"),), (secret("new-secret-value"),))

    shown = json.dumps(changes.to_json())
    for value in ("old-secret-value", "new-secret-value"):
        assert value not in shown
        assert base64.b64encode(value.encode()).decode() not in shown
        assert base64.b64encode(f"{value}-token".encode()).decode() not in shown
    assert "*** (before)" in shown and "*** (after)" in shown


@pytest.mark.parametrize(
    ("before", "after", "changed"),
    [
        ({"port": 2181}, {"port": 2181}, ()),
        ({"port": 2181}, {"port": "2181"}, ("port",)),
        ({"tls": 1}, {"tls": True}, ("tls",)),
        ({"a": "x"}, {"b": "x"}, ("a", "b")),
        ({}, {}, ()),
    ],
)
def test_changed_outputs_are_the_keys_whose_json_differs(
    before: Outputs, after: Outputs, changed: tuple[str, ...]
) -> None:
    assert changed_outputs(before, after) == changed
