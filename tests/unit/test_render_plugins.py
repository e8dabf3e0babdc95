"""WALM's plugins on rendered objects: each one's effect and bad args, order and defaults."""

from __future__ import annotations

import copy

import pytest

from reconciler.release_requests.model import Plugin
from reconciler.render.model import KubeObject, RenderError
from reconciler.render.plugins import (
    KEEP,
    KNOWN_PLUGINS,
    UPGRADE_POLICY_ANNOTATION,
    apply_plugins,
    effective_plugins,
    validate_plugins,
)
from reconciler.types import JsonObject, JsonValue, ReleaseKey

RELEASE = ReleaseKey("shop/web")


def workload(kind: str, name: str, **pod: JsonValue) -> KubeObject:
    container: JsonObject = {
        "name": "app",
        "image": "app:1",
        "livenessProbe": {"httpGet": {"path": "/live", "port": 80}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 80}},
    }
    pod_spec: JsonObject = {"containers": [container], **pod}
    return {
        "apiVersion": "batch/v1" if kind == "Job" else "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec}},
    }


def plain(kind: str, name: str, api_version: str = "v1") -> KubeObject:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}


CRON_JOB: KubeObject = {
    "apiVersion": "batch/v1",
    "kind": "CronJob",
    "metadata": {"name": "nightly"},
    "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}},
}


def release_objects() -> list[KubeObject]:
    return [
        workload("Deployment", "web"),
        workload("StatefulSet", "db"),
        workload("DaemonSet", "agent"),
        workload("Job", "migrate"),
        copy.deepcopy(CRON_JOB),
        plain("Service", "web"),
        plain("Ingress", "web", "networking.k8s.io/v1"),
        plain("ConfigMap", "web-config"),
    ]


def run(*plugins: Plugin, defaults: tuple[Plugin, ...] = ()) -> list[KubeObject]:
    return list(
        apply_plugins(release_objects(), plugins, chart_default_plugins=defaults, release=RELEASE)
    )


def find(objects: list[KubeObject], kind: str, name: str) -> JsonObject:
    for obj in objects:
        metadata = obj.get("metadata")
        if obj.get("kind") == kind and isinstance(metadata, dict) and metadata.get("name") == name:
            return obj
    raise AssertionError(f"no {kind}/{name}")


def at(value: JsonValue, *path: str | int) -> JsonValue:
    for key in path:
        if isinstance(key, int):
            assert isinstance(value, list), f"no item {key} in {value!r}"
            value = value[key]
        else:
            assert isinstance(value, dict), f"no {key} in {value!r}"
            value = value[key]
    return value


def pod_spec(objects: list[KubeObject], kind: str, name: str) -> JsonValue:
    return at(find(objects, kind, name), "spec", "template", "spec")


def problems_of(name: str, args: JsonValue) -> list[str]:
    return validate_plugins([Plugin(name=name, args=args)])


def test_every_walm_plugin_is_known() -> None:
    assert KNOWN_PLUGINS == (
        "CustomConfigmap",
        "CustomHealthProbe",
        "CustomIngress",
        "LabelPod",
        "NodeSelector",
    )


# LabelPod


def test_label_pod_labels_and_annotates_the_pod_templates_of_workloads() -> None:
    args: JsonObject = {
        "labelsToAdd": {"team": "shop", "app": "overridden"},
        "annotationsToAdd": {"example.com/owner": "shop"},
    }
    objects = run(Plugin("LabelPod", args))
    for kind, name in (("Deployment", "web"), ("StatefulSet", "db"), ("DaemonSet", "agent")):
        metadata = at(find(objects, kind, name), "spec", "template", "metadata")
        assert metadata == {
            "labels": {"app": "overridden", "team": "shop"},
            "annotations": {"example.com/owner": "shop"},
        }
    assert at(find(objects, "Job", "migrate"), "spec", "template", "metadata", "labels") == {
        "app": "overridden",
        "team": "shop",
    }
    assert find(objects, "CronJob", "nightly") == CRON_JOB
    assert find(objects, "Service", "web") == plain("Service", "web")


def test_label_pod_reads_field_names_ignoring_case_as_walm_did() -> None:
    objects = run(Plugin("LabelPod", {"LabelsToAdd": {"team": "shop"}}))
    assert at(find(objects, "Deployment", "web"), "spec", "template", "metadata", "labels") == {
        "app": "web",
        "team": "shop",
    }


def test_label_pod_without_args_changes_nothing() -> None:
    assert run(Plugin("LabelPod")) == release_objects()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"labelToAdd": {}},
            "args.labelToAdd: unknown field (known: labelsToAdd, annotationsToAdd)",
        ),
        ({"labelsToAdd": ["team"]}, "args.labelsToAdd: expected a mapping, got a list"),
        (
            {"labelsToAdd": {"team": 3}},
            "args.labelsToAdd.team: expected a string, got the number 3",
        ),
        (
            {"labelsToAdd": {"team": "a b"}},
            "args.labelsToAdd.team: value 'a b' is not a label value",
        ),
        ({"labelsToAdd": {"-team": "a"}}, "args.labelsToAdd.-team: key '-team': the name must"),
        ({"annotationsToAdd": {"a/b/c": "x"}}, "key 'a/b/c': the prefix must be a DNS subdomain"),
        ("labels", "args: expected a mapping, got the string 'labels'"),
        ({"labelsToAdd": {}, "LABELSTOADD": {}}, "labelsToAdd is given twice"),
    ],
)
def test_label_pod_with_bad_args_is_refused_precisely(args: JsonValue, message: str) -> None:
    problems = problems_of("LabelPod", args)
    assert any(message in problem for problem in problems), problems
    assert all(problem.startswith("plugins[0] LabelPod: ") for problem in problems)


# NodeSelector


NODE_SELECTOR_ARGS: JsonObject = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}
            ]
        },
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {
                "weight": 10,
                "preference": {"matchExpressions": [{"key": "zone", "operator": "Exists"}]},
            }
        ],
    },
    "nodeTolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "shop", "effect": "NoSchedule"},
        {"Key": "maintenance", "Operator": "Exists"},
    ],
}


def test_node_selector_adds_affinity_and_tolerations_to_pod_templates() -> None:
    existing_term: JsonObject = {"matchExpressions": [{"key": "os", "operator": "Exists"}]}
    objects = [
        workload(
            "Deployment",
            "web",
            tolerations=[{"key": "old", "operator": "Exists"}],
            affinity={
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [existing_term]
                    }
                }
            },
        ),
        plain("Service", "web"),
    ]
    changed = list(
        apply_plugins(
            objects,
            [Plugin("NodeSelector", NODE_SELECTOR_ARGS)],
            chart_default_plugins=(),
            release=RELEASE,
        )
    )
    spec = pod_spec(changed, "Deployment", "web")
    assert at(spec, "tolerations") == [
        {"key": "old", "operator": "Exists"},
        {"key": "dedicated", "operator": "Equal", "value": "shop", "effect": "NoSchedule"},
        {"key": "maintenance", "operator": "Exists"},
    ]
    assert at(spec, "affinity", "nodeAffinity") == {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                existing_term,
                {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]},
            ]
        },
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {
                "weight": 10,
                "preference": {"matchExpressions": [{"key": "zone", "operator": "Exists"}]},
            }
        ],
    }
    assert find(changed, "Service", "web") == plain("Service", "web")


def test_node_selector_with_only_tolerations_leaves_affinity_alone() -> None:
    objects = run(Plugin("NodeSelector", {"nodeTolerations": [{"operator": "Exists"}]}))
    spec = pod_spec(objects, "Job", "migrate")
    assert isinstance(spec, dict)
    assert "affinity" not in spec
    assert spec["tolerations"] == [{"operator": "Exists"}]


def expression(**fields: JsonValue) -> JsonObject:
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [fields]}]
            }
        }
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (expression(key="a", operator="Is"), "operator: 'Is' is not one of In, NotIn"),
        (expression(key="a", operator="In"), "values: In needs at least one value"),
        (expression(key="a", operator="Exists", values=["x"]), "values: Exists takes no values"),
        (expression(key="a", operator="Gt", values=["x"]), "Gt takes exactly one whole number"),
        (expression(operator="Exists"), "matchExpressions[0].key: is required"),
        (
            {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{}]}
                }
            },
            "nodeSelectorTerms[0]: a term needs matchExpressions or matchFields",
        ),
        (
            {
                "nodeAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 0, "preference": {"matchFields": []}}
                    ]
                }
            },
            "weight: expected a whole number from 1 to 100, got the number 0",
        ),
        (
            {"nodeTolerations": [{"key": "a", "operator": "Exists", "value": "b"}]},
            "nodeTolerations[0].value: must be empty when the operator is Exists",
        ),
        (
            {"nodeTolerations": [{"key": "a", "effect": "NoRun"}]},
            "nodeTolerations[0].effect: 'NoRun' is not one of NoSchedule",
        ),
        (
            {"nodeTolerations": [{"key": "a", "tolerationSeconds": 30}]},
            "tolerationSeconds: applies only with effect NoExecute",
        ),
        ({"nodeTolerations": [{"value": "x"}]}, "an empty key tolerates every taint only with"),
        ({"nodeTolerations": {"key": "a"}}, "args.nodeTolerations: expected a list, got a mapping"),
    ],
)
def test_node_selector_with_bad_args_is_refused_precisely(args: JsonValue, message: str) -> None:
    problems = problems_of("NodeSelector", args)
    assert any(message in problem for problem in problems), problems


# CustomIngress


def test_custom_ingress_adds_an_ingress_to_the_release() -> None:
    args: JsonObject = {
        "ingressToAdd": {
            "web-public": {
                "host": "shop.example.com",
                "path": "/",
                "serviceName": "web",
                "servicePort": "8080",
                "annotations": {"kubernetes.io/ingress.class": "traefik"},
            }
        }
    }
    objects = run(Plugin("CustomIngress", args))
    assert objects[-1] == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "web-public",
            "namespace": "shop",
            "labels": {"release": "web", "heritage": "walmplugin"},
            "annotations": {
                "transwarp/walmplugin.custom.ingress": "true",
                "kubernetes.io/ingress.class": "traefik",
            },
        },
        "spec": {
            "rules": [
                {
                    "host": "shop.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "ImplementationSpecific",
                                "backend": {"service": {"name": "web", "port": {"number": 8080}}},
                            }
                        ]
                    },
                }
            ]
        },
    }


def test_custom_ingress_marks_skipped_ingresses_to_be_kept_as_they_are() -> None:
    objects = run(Plugin("CustomIngress", {"ingressToSkipNames": ["web"]}))
    annotations = at(find(objects, "Ingress", "web"), "metadata", "annotations")
    assert annotations == {UPGRADE_POLICY_ANNOTATION: KEEP}
    all_skipped = run(Plugin("CustomIngress", {"ingressSkipAll": True}))
    assert at(find(all_skipped, "Ingress", "web"), "metadata", "annotations") == {
        UPGRADE_POLICY_ANNOTATION: KEEP
    }


def test_custom_ingress_refuses_to_add_an_ingress_the_chart_renders() -> None:
    args: JsonObject = {
        "ingressToAdd": {"web": {"path": "/", "serviceName": "web", "servicePort": 80}}
    }
    with pytest.raises(RenderError, match=r"plugin CustomIngress: .*already renders Ingress web"):
        run(Plugin("CustomIngress", args))


def added_ingress(**fields: JsonValue) -> JsonObject:
    return {
        "ingressToAdd": {"extra": {"path": "/", "serviceName": "web", "servicePort": 80, **fields}}
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"ingressToAdd": {"Bad_Name": {}}}, "args.ingressToAdd.Bad_Name: the Ingress name must"),
        (added_ingress(path="api"), "args.ingressToAdd.extra.path: 'api' must start with /"),
        (added_ingress(servicePort="http"), "servicePort: expected a port number from 1 to 65535"),
        (added_ingress(servicePort=70000), "servicePort: expected a port number"),
        (added_ingress(serviceName=None), "args.ingressToAdd.extra.serviceName: is required"),
        ({"ingressToSkipNames": "web"}, "args.ingressToSkipNames: expected a list"),
        ({"ingressSkipAll": "yes"}, "args.ingressSkipAll: expected true or false"),
    ],
)
def test_custom_ingress_with_bad_args_is_refused_precisely(args: JsonValue, message: str) -> None:
    problems = problems_of("CustomIngress", args)
    assert any(message in problem for problem in problems), problems


# CustomConfigmap


def config_map_args(**fields: JsonValue) -> JsonObject:
    entry: JsonObject = {
        "kind": "Deployment",
        "resourceName": "web",
        "volumeMountPath": "/etc/extra",
        "items": [
            {"configMapData": "a=1", "configMapVolumeMountsSubPath": "conf/app.properties"},
            {
                "configMapData": "#!/bin/sh",
                "configMapVolumeMountsSubPath": "run.sh",
                "configMapMode": 0o755,
            },
        ],
        **fields,
    }
    return {"configmapToAdd": {"extra": entry}}


def test_custom_configmap_adds_a_config_map_and_mounts_it_into_the_chosen_workload() -> None:
    objects = run(Plugin("CustomConfigmap", config_map_args()))
    name = "walmplugin-extra-web-cm"
    assert objects[-1] == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "labels": {"release": "web", "heritage": "walmplugin"},
            "annotations": {"transwarp/walmplugin.custom.configmap": "true"},
        },
        "data": {"app.properties": "a=1", "run.sh": "#!/bin/sh"},
    }
    spec = pod_spec(objects, "Deployment", "web")
    assert at(spec, "volumes") == [
        {
            "name": name,
            "configMap": {
                "name": name,
                "items": [
                    {"key": "app.properties", "path": "conf/app.properties"},
                    {"key": "run.sh", "path": "run.sh", "mode": 0o755},
                ],
            },
        }
    ]
    assert at(spec, "containers", 0, "volumeMounts") == [{"name": name, "mountPath": "/etc/extra"}]
    other = pod_spec(objects, "StatefulSet", "db")
    assert isinstance(other, dict)
    assert "volumes" not in other


def test_custom_configmap_can_mount_into_every_workload() -> None:
    objects = run(Plugin("CustomConfigmap", config_map_args(applyAllResources=True)))
    for kind, name in (("Deployment", "web"), ("StatefulSet", "db"), ("DaemonSet", "agent")):
        assert at(
            pod_spec(objects, kind, name), "containers", 0, "volumeMounts", 0, "mountPath"
        ) == ("/etc/extra")


def test_custom_configmap_mounts_into_the_named_container_only() -> None:
    deployment = workload("Deployment", "web")
    containers = at(deployment, "spec", "template", "spec", "containers")
    assert isinstance(containers, list)
    containers.append({"name": "sidecar", "image": "proxy:1"})
    changed = list(
        apply_plugins(
            [deployment],
            [Plugin("CustomConfigmap", config_map_args(containerName="sidecar"))],
            chart_default_plugins=(),
            release=RELEASE,
        )
    )
    spec = pod_spec(changed, "Deployment", "web")
    assert at(spec, "containers", 0) == containers[0]
    assert at(spec, "containers", 1, "volumeMounts") == [
        {"name": "walmplugin-extra-web-cm", "mountPath": "/etc/extra"}
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            config_map_args(resourceName="api"),
            "the release renders no Deployment/api to mount it into",
        ),
        (config_map_args(containerName="nope"), "Deployment/web has no container nope"),
    ],
)
def test_custom_configmap_refuses_a_mount_it_cannot_make(args: JsonObject, message: str) -> None:
    with pytest.raises(RenderError, match="plugin CustomConfigmap: ") as error:
        run(Plugin("CustomConfigmap", args))
    assert message in str(error.value)


def test_custom_configmap_refuses_a_mount_path_already_in_use() -> None:
    deployment = workload("Deployment", "web")
    container = at(deployment, "spec", "template", "spec", "containers", 0)
    assert isinstance(container, dict)
    container["volumeMounts"] = [{"name": "config", "mountPath": "/etc/extra"}]
    with pytest.raises(RenderError, match="container app already mounts config at /etc/extra"):
        apply_plugins(
            [deployment],
            [Plugin("CustomConfigmap", config_map_args())],
            chart_default_plugins=(),
            release=RELEASE,
        )


def test_custom_configmap_marks_skipped_config_maps_to_be_kept() -> None:
    objects = run(Plugin("CustomConfigmap", {"configmapToSkipNames": ["web-config"]}))
    assert at(find(objects, "ConfigMap", "web-config"), "metadata", "annotations") == {
        UPGRADE_POLICY_ANNOTATION: KEEP
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            config_map_args(items=[]),
            "args.configmapToAdd.extra.items: at least one item is required",
        ),
        (config_map_args(kind=None), "args.configmapToAdd.extra.kind: is required"),
        (config_map_args(kind="Service"), "kind: expected one of DaemonSet, Deployment, Job"),
        (config_map_args(volumeMountPath="etc"), "volumeMountPath: 'etc' must be an absolute path"),
        (
            config_map_args(items=[{"configMapVolumeMountsSubPath": "../x"}]),
            "items[0].configMapVolumeMountsSubPath: '../x' must be a relative path",
        ),
        (
            config_map_args(items=[{"configMapVolumeMountsSubPath": "x", "configMapMode": 1000}]),
            "items[0].configMapMode: expected a whole number from 0 to 511",
        ),
        (
            config_map_args(
                items=[
                    {"configMapVolumeMountsSubPath": "a/x"},
                    {"configMapVolumeMountsSubPath": "b/x"},
                ]
            ),
            "two items end in 'x'",
        ),
        ({"configmapToAdd": {"with.dot": {}}}, "args.configmapToAdd.with.dot: the name must be"),
    ],
)
def test_custom_configmap_with_bad_args_is_refused_precisely(args: JsonValue, message: str) -> None:
    problems = problems_of("CustomConfigmap", args)
    assert any(message in problem for problem in problems), problems


# CustomHealthProbe


def probes(objects: list[KubeObject], kind: str, name: str) -> set[str]:
    container = at(pod_spec(objects, kind, name), "containers", 0)
    assert isinstance(container, dict)
    return {key for key in container if key.endswith("Probe")}


def test_custom_health_probe_removes_every_liveness_probe_of_deployments_and_stateful_sets() -> (
    None
):
    objects = run(Plugin("CustomHealthProbe", {"disableAllLivenessProbe": True}))
    assert probes(objects, "Deployment", "web") == {"readinessProbe"}
    assert probes(objects, "StatefulSet", "db") == {"readinessProbe"}
    assert probes(objects, "DaemonSet", "agent") == {"livenessProbe", "readinessProbe"}


def test_custom_health_probe_removes_the_probes_of_the_listed_workloads_only() -> None:
    args: JsonObject = {
        "disableReadinessProbeResourceList": [{"kind": "StatefulSet", "resourceName": "db"}]
    }
    objects = run(Plugin("CustomHealthProbe", args))
    assert probes(objects, "StatefulSet", "db") == {"livenessProbe"}
    assert probes(objects, "Deployment", "web") == {"livenessProbe", "readinessProbe"}


def test_custom_health_probe_refuses_a_listed_workload_the_release_does_not_render() -> None:
    args: JsonObject = {
        "disableLivenessProbeResourceList": [{"kind": "Deployment", "resourceName": "api"}]
    }
    with pytest.raises(RenderError, match="the release renders no Deployment/api"):
        run(Plugin("CustomHealthProbe", args))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"disableLivenessProbeResourceList": [{"kind": "DaemonSet", "resourceName": "a"}]},
            "kind: DaemonSet: CustomHealthProbe acts on Deployment and StatefulSet only",
        ),
        (
            {"disableReadinessProbeResourceList": [{"kind": "Deployment"}]},
            "disableReadinessProbeResourceList[0].resourceName: is required",
        ),
        ({"disableAllReadinessProbe": 1}, "disableAllReadinessProbe: expected true or false"),
    ],
)
def test_custom_health_probe_with_bad_args_is_refused_precisely(
    args: JsonValue, message: str
) -> None:
    problems = problems_of("CustomHealthProbe", args)
    assert any(message in problem for problem in problems), problems


# Choosing and ordering plugins


def test_plugins_run_highest_priority_first_and_ties_keep_their_order() -> None:
    plugins = [
        Plugin("LabelPod", priority=1),
        Plugin("NodeSelector", priority=5),
        Plugin("CustomIngress", priority=1),
    ]
    defaults = [Plugin("CustomHealthProbe", priority=1), Plugin("CustomConfigmap", priority=9)]
    order = effective_plugins(plugins, chart_default_plugins=defaults)
    assert [plugin.name for plugin in order] == [
        "CustomConfigmap",
        "NodeSelector",
        "LabelPod",
        "CustomIngress",
        "CustomHealthProbe",
    ]


@pytest.mark.parametrize(
    ("probe_priority", "first"), [(2, "CustomHealthProbe"), (0, "CustomConfigmap")]
)
def test_apply_runs_the_higher_priority_plugin_first(probe_priority: int, first: str) -> None:
    missing_probe_target: JsonObject = {
        "disableLivenessProbeResourceList": [{"kind": "Deployment", "resourceName": "api"}]
    }
    with pytest.raises(RenderError, match=f"^plugin {first}: "):
        run(
            Plugin("CustomConfigmap", config_map_args(resourceName="api"), priority=1),
            Plugin("CustomHealthProbe", missing_probe_target, priority=probe_priority),
        )


def test_a_chart_default_plugin_runs_unless_the_release_names_it() -> None:
    default = Plugin("LabelPod", {"labelsToAdd": {"from": "chart"}})
    objects = run(defaults=(default,))
    assert at(find(objects, "Deployment", "web"), "spec", "template", "metadata", "labels") == {
        "app": "web",
        "from": "chart",
    }
    replaced = run(Plugin("LabelPod", {"labelsToAdd": {"from": "release"}}), defaults=(default,))
    assert at(find(replaced, "Deployment", "web"), "spec", "template", "metadata", "labels") == {
        "app": "web",
        "from": "release",
    }


def test_disable_removes_a_plugin_including_a_chart_default() -> None:
    default = Plugin("LabelPod", {"labelsToAdd": {"from": "chart"}})
    assert run(Plugin("LabelPod", disable=True), defaults=(default,)) == release_objects()
    assert run(Plugin("LabelPod", {"labelsToAdd": {"a": "b"}}, disable=True)) == release_objects()


def test_a_disabled_plugins_args_are_not_checked_but_its_name_is() -> None:
    assert validate_plugins([Plugin("LabelPod", "nonsense", disable=True)]) == []
    assert validate_plugins([Plugin("LablePod", disable=True)]) == [
        "plugins[0] LablePod: unknown plugin (known: CustomConfigmap, CustomHealthProbe, "
        "CustomIngress, LabelPod, NodeSelector)"
    ]


def test_an_unknown_or_repeated_plugin_is_refused() -> None:
    with pytest.raises(RenderError, match=r"plugins\[0\] Mystery: unknown plugin"):
        run(Plugin("Mystery"))
    problems = validate_plugins([Plugin("LabelPod"), Plugin("LabelPod")])
    assert problems == ["plugins[1] LabelPod: named more than once; give each plugin once"]


def test_a_bad_chart_default_plugin_is_named_as_the_charts() -> None:
    with pytest.raises(
        RenderError, match=r"chart metainfo plugins\[0\] LabelPod: args.labelsToAdd"
    ):
        run(defaults=(Plugin("LabelPod", {"labelsToAdd": 1}),))


def test_a_bad_chart_default_the_release_replaces_does_not_matter() -> None:
    objects = run(Plugin("LabelPod"), defaults=(Plugin("LabelPod", {"labelsToAdd": 1}),))
    assert objects == release_objects()


def test_plugins_never_change_the_objects_given() -> None:
    objects = release_objects()
    before = copy.deepcopy(objects)
    apply_plugins(
        objects,
        [
            Plugin("LabelPod", {"labelsToAdd": {"a": "b"}}),
            Plugin("NodeSelector", NODE_SELECTOR_ARGS),
            Plugin("CustomHealthProbe", {"disableAllReadinessProbe": True}),
            Plugin("CustomConfigmap", config_map_args(applyAllResources=True)),
            Plugin("CustomIngress", {"ingressSkipAll": True}),
        ],
        chart_default_plugins=(),
        release=RELEASE,
    )
    assert objects == before
