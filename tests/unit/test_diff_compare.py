"""compare: the dry-run result against the live object, as an action and a unified YAML diff."""

from __future__ import annotations

import base64
import copy
import json

import pytest

from reconciler.diff import compare
from reconciler.diff.normalize import LAST_APPLIED_ANNOTATION
from reconciler.render.model import KubeObject
from reconciler.types import JsonObject, JsonValue


def dry_run_deployment() -> KubeObject:
    """A Deployment as the server returns it: defaults filled in, server metadata set."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "5f0c",
            "resourceVersion": "41",
            "generation": 2,
            "creationTimestamp": "2026-01-02T03:04:05Z",
            "labels": {"app": "web"},
            "managedFields": [{"manager": "harmonia", "operation": "Apply"}],
        },
        "spec": {
            "replicas": 2,
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.27",
                            "args": ["--port", "8080"],
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                            "env": [
                                {"name": "MODE", "value": "prod"},
                                {"name": "LOG", "value": "info"},
                            ],
                            "imagePullPolicy": "IfNotPresent",
                            "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "File",
                            "resources": {},
                        }
                    ],
                    "dnsPolicy": "ClusterFirst",
                    "restartPolicy": "Always",
                    "schedulerName": "default-scheduler",
                    "securityContext": {},
                    "terminationGracePeriodSeconds": 30,
                },
            },
        },
        "status": {"replicas": 2, "readyReplicas": 2, "observedGeneration": 2},
    }


def live_deployment() -> KubeObject:
    """The same Deployment as stored: other server metadata, status and annotations."""
    live = dry_run_deployment()
    metadata = live["metadata"]
    assert isinstance(metadata, dict)
    metadata.update(
        {
            "resourceVersion": "40",
            "generation": 1,
            "annotations": {"deployment.kubernetes.io/revision": "1"},
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update"}],
        }
    )
    live["status"] = {"replicas": 1, "unavailableReplicas": 1}
    return live


def field_of(obj: JsonObject, name: str) -> JsonObject:
    value = obj[name]
    assert isinstance(value, dict)
    return value


def container_of(obj: KubeObject) -> JsonObject:
    template = field_of(obj, "spec")["template"]
    assert isinstance(template, dict)
    pod = template["spec"]
    assert isinstance(pod, dict)
    containers = pod["containers"]
    assert isinstance(containers, list) and isinstance(containers[0], dict)
    return containers[0]


def changed_lines(text: str | None) -> tuple[list[str], list[str]]:
    """The removed and added lines of a diff, without the --- / +++ headers."""
    assert text is not None
    body = text.splitlines()[2:]
    return [line for line in body if line.startswith("-")], [
        line for line in body if line.startswith("+")
    ]


def test_identical_objects_are_unchanged_with_no_text() -> None:
    change = compare(dry_run_deployment(), dry_run_deployment())
    assert change.action == "unchanged"
    assert change.reason == "matches the cluster"
    assert change.diff_text is None
    assert change.changed_paths == ()


def test_server_defaults_and_server_metadata_on_both_sides_show_no_diff() -> None:
    change = compare(dry_run_deployment(), live_deployment())
    assert change.action == "unchanged"
    assert change.diff_text is None


def test_a_one_field_change_shows_exactly_that_field_with_context() -> None:
    desired = dry_run_deployment()
    field_of(desired, "spec")["replicas"] = 3
    change = compare(desired, live_deployment())
    assert change.action == "configured"
    assert change.reason == "differs at /spec/replicas"
    assert change.changed_paths == ("/spec/replicas",)
    assert changed_lines(change.diff_text) == (["-  replicas: 2"], ["+  replicas: 3"])
    assert change.diff_text == (
        "--- live apps/v1 Deployment/shop/web\n"
        "+++ desired apps/v1 Deployment/shop/web\n"
        "@@ -6,7 +6,7 @@\n"
        "   labels:\n"
        "     app: web\n"
        " spec:\n"
        "-  replicas: 2\n"
        "+  replicas: 3\n"
        "   revisionHistoryLimit: 10\n"
        "   progressDeadlineSeconds: 600\n"
        "   selector:\n"
    )


def test_a_changed_label_shows_in_the_metadata() -> None:
    desired = dry_run_deployment()
    field_of(field_of(desired, "metadata"), "labels")["tier"] = "front"
    change = compare(desired, live_deployment())
    assert change.changed_paths == ("/metadata/labels/tier",)
    assert changed_lines(change.diff_text) == ([], ["+    tier: front"])


def test_an_element_appended_to_a_list_shows_as_one_added_line() -> None:
    desired = dry_run_deployment()
    container_of(desired)["args"] = ["--port", "8080", "--verbose"]
    change = compare(desired, live_deployment())
    assert change.changed_paths == ("/spec/template/spec/containers/0/args/2",)
    assert changed_lines(change.diff_text) == ([], ["+        - --verbose"])


def test_an_element_removed_from_a_list_shows_as_removed_lines() -> None:
    desired = dry_run_deployment()
    container_of(desired)["env"] = [{"name": "MODE", "value": "prod"}]
    change = compare(desired, live_deployment())
    assert change.changed_paths == ("/spec/template/spec/containers/0/env/1",)
    assert changed_lines(change.diff_text) == (
        ["-        - name: LOG", "-          value: info"],
        [],
    )


def test_a_field_inside_a_list_element_shows_exactly_that_field() -> None:
    desired = dry_run_deployment()
    container_of(desired)["ports"] = [{"containerPort": 9090, "protocol": "TCP"}]
    change = compare(desired, live_deployment())
    assert change.changed_paths == ("/spec/template/spec/containers/0/ports/0/containerPort",)
    assert changed_lines(change.diff_text) == (
        ["-        - containerPort: 8080"],
        ["+        - containerPort: 9090"],
    )


def test_a_field_removed_from_the_desired_object_shows_as_removed() -> None:
    desired = dry_run_deployment()
    del container_of(desired)["args"]
    change = compare(desired, live_deployment())
    assert change.changed_paths == ("/spec/template/spec/containers/0/args",)
    assert changed_lines(change.diff_text) == (
        ["-        args:", "-        - --port", "-        - '8080'"],
        [],
    )


def test_keys_in_another_order_are_no_change_and_never_show() -> None:
    live = live_deployment()
    live["spec"] = dict(reversed(list(field_of(live, "spec").items())))
    assert compare(dry_run_deployment(), live).action == "unchanged"
    desired = dry_run_deployment()
    field_of(desired, "spec")["replicas"] = 4
    assert changed_lines(compare(desired, live).diff_text) == (
        ["-  replicas: 2"],
        ["+  replicas: 4"],
    )


def test_values_of_another_json_type_differ() -> None:
    desired = dry_run_deployment()
    container_of(desired)["args"] = ["--port", 8080]
    change = compare(desired, live_deployment())
    assert change.changed_paths == ("/spec/template/spec/containers/0/args/1",)
    assert changed_lines(change.diff_text) == (["-        - '8080'"], ["+        - 8080"])


def test_one_changed_line_in_a_long_object_is_the_only_changed_line() -> None:
    # Over 200 lines of repeated entries: difflib's "popular line" heuristic would
    # otherwise mark unchanged lines as changed.
    def service(port_60: int) -> KubeObject:
        ports: list[JsonValue] = [
            {"name": f"p{i}", "port": port_60 if i == 60 else 8000 + i, "protocol": "TCP"}
            for i in range(120)
        ]
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"type": "ClusterIP", "ports": ports},
        }

    desired, live = service(9999), service(8060)
    change = compare(desired, live)
    assert change.changed_paths == ("/spec/ports/60/port",)
    assert changed_lines(change.diff_text) == (["-    port: 8060"], ["+    port: 9999"])


def test_one_changed_line_of_a_multi_line_value_is_the_only_changed_line() -> None:
    def config_map(level: str) -> KubeObject:
        text = f"listen 8080\nlog_level {level}\nworkers 4\n"
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "web", "namespace": "shop"},
            "data": {"app.conf": text},
        }

    change = compare(config_map("debug"), config_map("info"))
    assert change.changed_paths == ("/data/app.conf",)
    assert changed_lines(change.diff_text) == (["-    log_level info"], ["+    log_level debug"])


def test_context_lines_can_be_narrowed() -> None:
    desired = dry_run_deployment()
    field_of(desired, "spec")["replicas"] = 3
    text = compare(desired, live_deployment(), context_lines=0).diff_text
    assert text is not None
    assert text.splitlines()[2:] == ["@@ -9 +9 @@", "-  replicas: 2", "+  replicas: 3"]


def test_an_object_not_in_the_cluster_is_created_and_its_diff_adds_every_line() -> None:
    change = compare(dry_run_deployment(), None)
    assert change.action == "created"
    assert change.reason == "not in the cluster"
    assert change.diff_text is not None
    removed, added = changed_lines(change.diff_text)
    assert removed == []
    assert added[:3] == ["+apiVersion: apps/v1", "+kind: Deployment", "+metadata:"]
    assert change.diff_text.splitlines()[2] == f"@@ -0,0 +1,{len(added)} @@"
    assert "uid" not in change.diff_text
    assert "status" not in change.diff_text


def test_an_object_no_longer_desired_is_deleted_and_its_diff_removes_every_line() -> None:
    change = compare(None, live_deployment())
    assert change.action == "deleted"
    assert change.reason == "not in the desired state"
    removed, added = changed_lines(change.diff_text)
    assert added == []
    assert removed[0] == "-apiVersion: apps/v1"
    assert change.diff_text is not None
    assert change.diff_text.splitlines()[2] == f"@@ -1,{len(removed)} +0,0 @@"


def test_the_reason_names_at_most_three_fields() -> None:
    desired = dry_run_deployment()
    spec = desired["spec"]
    assert isinstance(spec, dict)
    spec.update(
        {"replicas": 5, "revisionHistoryLimit": 1, "progressDeadlineSeconds": 60, "paused": True}
    )
    container_of(desired)["image"] = "nginx:1.28"
    change = compare(desired, live_deployment())
    assert change.reason == (
        "differs at /spec/replicas, /spec/revisionHistoryLimit, /spec/progressDeadlineSeconds"
        " and 2 more"
    )


def test_the_diff_is_byte_identical_for_identical_inputs() -> None:
    desired = dry_run_deployment()
    field_of(desired, "spec")["replicas"] = 3
    first = compare(desired, live_deployment())
    second = compare(copy.deepcopy(desired), live_deployment())
    assert first == second
    assert json.dumps(first.to_json()) == json.dumps(second.to_json())


def test_compare_leaves_both_objects_alone() -> None:
    desired, live = dry_run_deployment(), live_deployment()
    field_of(desired, "spec")["replicas"] = 3
    before = copy.deepcopy((desired, live))
    compare(desired, live)
    assert (desired, live) == before


def test_the_same_object_read_at_another_api_version_can_be_compared() -> None:
    desired: KubeObject = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"maxReplicas": 5},
    }
    live = copy.deepcopy(desired)
    live["apiVersion"] = "autoscaling/v1"
    change = compare(desired, live)
    assert change.changed_paths == ("/apiVersion",)
    assert change.ref.api_version == "autoscaling/v2"


def test_comparing_two_different_objects_is_refused() -> None:
    other = live_deployment()
    field_of(other, "metadata")["name"] = "api"
    with pytest.raises(
        ValueError,
        match=r"^Deployment/shop/web: compared with another object, Deployment/shop/api$",
    ):
        compare(dry_run_deployment(), other)


def test_comparing_nothing_with_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="neither a desired nor a live object"):
        compare(None, None)


# --- Secrets ----------------------------------------------------------------

PASSWORD_OLD, PASSWORD_NEW, USER, TOKEN, DROPPED = (
    "hunter2-old",
    "correct-horse-battery",
    "admin-user",
    "tok-3141592",
    "legacy-key-value",
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(data: dict[str, str], *, string_data: dict[str, str] | None = None) -> KubeObject:
    obj: KubeObject = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "type": "Opaque",
        "data": {key: b64(value) for key, value in data.items()},
    }
    if string_data is not None:
        obj["stringData"] = dict(string_data)
    return obj


def assert_no_secret_value_in(text: str | None) -> None:
    assert text is not None
    for value in (PASSWORD_OLD, PASSWORD_NEW, USER, TOKEN, DROPPED):
        assert value not in text
        assert b64(value) not in text


def test_a_changed_secret_value_shows_as_a_changed_masked_line() -> None:
    change = compare(
        secret({"user": USER, "password": PASSWORD_NEW}),
        secret({"user": USER, "password": PASSWORD_OLD}),
    )
    assert change.action == "configured"
    assert change.changed_paths == ("/data/password",)
    assert_no_secret_value_in(change.diff_text)
    assert changed_lines(change.diff_text) == (
        ["-  password: '*** (before)'"],
        ["+  password: '*** (after)'"],
    )
    assert change.diff_text is not None
    assert "   user: '***'" in change.diff_text


def test_added_and_removed_secret_keys_show_masked() -> None:
    change = compare(
        secret({"user": USER, "token": TOKEN}),
        secret({"user": USER, "legacy": DROPPED}),
    )
    assert change.changed_paths == ("/data/token", "/data/legacy")
    assert_no_secret_value_in(change.diff_text)
    assert changed_lines(change.diff_text) == (["-  legacy: '***'"], ["+  token: '***'"])


def test_string_data_in_the_desired_secret_is_compared_as_data_and_masked() -> None:
    desired = secret({"user": USER}, string_data={"password": PASSWORD_NEW})
    live = secret({"user": USER, "password": PASSWORD_NEW})
    assert compare(desired, live).action == "unchanged"
    changed = compare(desired, secret({"user": USER, "password": PASSWORD_OLD}))
    assert changed.changed_paths == ("/data/password",)
    assert_no_secret_value_in(changed.diff_text)


def test_a_created_or_deleted_secret_shows_keys_but_no_values() -> None:
    whole = secret({"user": USER, "password": PASSWORD_NEW}, string_data={"token": TOKEN})
    for change in (compare(whole, None), compare(None, whole)):
        assert_no_secret_value_in(change.diff_text)
        assert change.diff_text is not None
        assert "password: '***'" in change.diff_text
        assert "token: '***'" in change.diff_text


def test_a_malformed_secret_value_is_masked_too() -> None:
    desired = secret({})
    desired["data"] = b64(PASSWORD_NEW)
    change = compare(desired, secret({"password": PASSWORD_OLD}))
    assert_no_secret_value_in(change.diff_text)


def test_the_last_applied_annotation_never_shows() -> None:
    live = secret({"password": PASSWORD_OLD})
    last_applied = json.dumps({"stringData": {"password": PASSWORD_OLD}})
    field_of(live, "metadata")["annotations"] = {LAST_APPLIED_ANNOTATION: last_applied}
    change = compare(secret({"password": PASSWORD_NEW}), live)
    assert change.changed_paths == ("/data/password",)
    assert_no_secret_value_in(change.diff_text)
    assert change.diff_text is not None
    assert "last-applied" not in change.diff_text


def test_a_config_maps_values_are_shown() -> None:
    def config_map(level: str) -> KubeObject:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "web", "namespace": "shop"},
            "data": {"level": level},
        }

    change = compare(config_map("debug"), config_map("info"))
    assert changed_lines(change.diff_text) == (["-  level: info"], ["+  level: debug"])
