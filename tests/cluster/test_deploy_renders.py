"""deploy/'s two forms agree: the Helm chart lints, and installs the objects, RBAC rules
and pod the Kustomize base installs, in Deployment and in CronJob mode; the reconciler's
config allows exactly the namespaces it is bound in; the chart's notification and forge
values give the config and Secret mounts the example Kustomize component gives. Needs the
kubectl and helm binaries of the dev cluster build, not a running cluster.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from devcluster.build import ensure_binaries
from reconciler.loop.settings import run_settings
from reconciler.notify.forge import ForgeKind
from reconciler.policy import load_policy
from tests.cluster.deploy_manifests import (
    CHART,
    KUSTOMIZE,
    NOTIFICATION_SECRETS,
    NOTIFICATIONS_EXAMPLE,
    Document,
    component_overlay,
    cronjob_overlay,
    example_notifications,
    find,
    helm_template,
    kustomize,
    notification_values,
)

DEFAULT_RELEASE = ("harmonia", "-n", "harmonia-system")
"""A Helm release named like the Kustomize base's objects, in its namespace."""


@pytest.fixture(scope="module")
def binaries() -> dict[str, Path]:
    return ensure_binaries()


def both_in_deployment_mode(binaries: dict[str, Path]) -> list[list[Document]]:
    return [
        kustomize(binaries["kubectl"], KUSTOMIZE),
        helm_template(binaries["helm"], *DEFAULT_RELEASE),
    ]


def both_in_cronjob_mode(binaries: dict[str, Path], folder: Path) -> list[list[Document]]:
    return [
        kustomize(binaries["kubectl"], cronjob_overlay(folder)),
        helm_template(binaries["helm"], *DEFAULT_RELEASE, "--set", "mode=cronjob"),
    ]


def rbac(docs: list[Document]) -> dict[tuple[str, str, str], Any]:
    """Every RBAC object by kind, namespace and name: its rules, or its role and subjects."""
    return {
        (doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"]): (
            doc.get("rules") or (doc["roleRef"], doc["subjects"])
        )
        for doc in docs
        if doc["apiVersion"].startswith("rbac.authorization.k8s.io/")
    }


def pod_spec(docs: list[Document]) -> Document:
    """The reconciler's pod spec, less what each tool names its own way (the ConfigMap's
    name, the labels the anti-affinity selects on)."""
    (workload,) = find(docs, "Deployment") + find(docs, "CronJob")
    spec = workload["spec"]
    template = spec["template"] if workload["kind"] == "Deployment" else spec["jobTemplate"]
    if workload["kind"] == "CronJob":
        template = template["spec"]["template"]
    pod: Document = json.loads(json.dumps(template["spec"]))
    pod.pop("affinity", None)
    for volume in pod["volumes"]:
        for source in volume.get("projected", {}).get("sources", []):
            if "configMap" in source:
                source["configMap"]["name"] = "harmonia-config"
    return pod


def helm_lint(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm), "lint", "--strict", str(CHART), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("mode", ["deployment", "cronjob"])
def test_helm_lint_passes_in_both_modes(binaries: dict[str, Path], mode: str) -> None:
    linted = helm_lint(binaries["helm"], "--set", f"mode={mode}")
    assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.parametrize("mode", ["deployment", "cronjob"])
def test_helm_lint_passes_with_receivers_and_a_forge_in_both_modes(
    binaries: dict[str, Path], tmp_path: Path, mode: str
) -> None:
    values = notification_values(tmp_path)
    linted = helm_lint(binaries["helm"], "-f", str(values), "--set", f"mode={mode}")
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_chart_refuses_a_mode_it_does_not_know(binaries: dict[str, Path]) -> None:
    refused = subprocess.run(
        [str(binaries["helm"]), "template", str(CHART), "--set", "mode=daemonset"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode != 0 and "mode" in refused.stderr


@pytest.mark.parametrize("mode", ["deployment", "cronjob"])
def test_the_chart_installs_the_kinds_rules_and_pod_kustomize_installs(
    binaries: dict[str, Path], tmp_path: Path, mode: str
) -> None:
    if mode == "deployment":
        by_kustomize, by_helm = both_in_deployment_mode(binaries)
    else:
        by_kustomize, by_helm = both_in_cronjob_mode(binaries, tmp_path)
    # Helm does not own the namespace it installs into (`helm install --create-namespace`).
    kinds = Counter(doc["kind"] for doc in by_kustomize if doc["kind"] != "Namespace")
    assert kinds == Counter(doc["kind"] for doc in by_helm)
    assert rbac(by_kustomize) == rbac(by_helm)
    assert pod_spec(by_kustomize) == pod_spec(by_helm)


def test_the_config_allows_exactly_the_namespaces_harmonia_is_bound_in(
    binaries: dict[str, Path], tmp_path: Path
) -> None:
    for docs in both_in_deployment_mode(binaries):
        (configmap,) = find(docs, "ConfigMap", "harmonia-config")
        config_file = tmp_path / "config.yaml"
        config_file.write_text(configmap["data"]["config.yaml"])
        bindings = find(docs, "RoleBinding", "harmonia-release-manager")
        bound = {binding["metadata"]["namespace"] for binding in bindings}
        assert set(load_policy(config_file).allowed_namespaces) == bound == {"shop", "streaming"}
        settings = run_settings(
            yaml.safe_load(config_file.read_text()),
            {"url": "https://git.example/releases.git"},
            pod_namespace="harmonia-system",
        )
        (lease_role,) = find(docs, "Role", "harmonia-leader-election")
        assert [settings.lease_name] in [rule.get("resourceNames") for rule in lease_role["rules"]]


def test_the_cronjob_runs_one_pass_at_a_time_and_serves_nothing(
    binaries: dict[str, Path], tmp_path: Path
) -> None:
    for docs in both_in_cronjob_mode(binaries, tmp_path):
        assert not find(docs, "Deployment") and not find(docs, "Service")
        (cronjob,) = find(docs, "CronJob")
        assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
        (container,) = pod_spec(docs)["containers"]
        assert container["args"][:2] == ["run", "--once"]
        assert container["args"][-2:] == ["--listen", "off"]
        assert "readinessProbe" not in container and "ports" not in container


def test_the_deployment_listens_on_every_interface_for_its_probes_and_prometheus(
    binaries: dict[str, Path],
) -> None:
    for docs in both_in_deployment_mode(binaries):
        (container,) = pod_spec(docs)["containers"]
        assert container["args"][-2:] == ["--listen", "0.0.0.0:8080"]
        assert [port["containerPort"] for port in container["ports"]] == [8080]
        (service,) = find(docs, "Service")
        assert [port["targetPort"] for port in service["spec"]["ports"]] == ["http-metrics"]


def both_with_webhooks(binaries: dict[str, Path], folder: Path, *helm: str) -> list[list[Document]]:
    return [
        kustomize(binaries["kubectl"], component_overlay(folder, "webhooks")),
        helm_template(
            binaries["helm"], *DEFAULT_RELEASE, "--set", "webhook.secretName=webhook-secret", *helm
        ),
    ]


def test_with_webhooks_both_mount_the_secret_and_add_a_webhook_service(
    binaries: dict[str, Path], tmp_path: Path
) -> None:
    by_kustomize, by_helm = both_with_webhooks(binaries, tmp_path)
    assert pod_spec(by_kustomize) == pod_spec(by_helm)
    for docs in (by_kustomize, by_helm):
        (container,) = pod_spec(docs)["containers"]
        assert {
            "name": "HARMONIA_WEBHOOK_SECRET_FILE",
            "value": "/etc/harmonia/webhook/secret",
        } in (container["env"])
        (config,) = [volume for volume in pod_spec(docs)["volumes"] if volume["name"] == "config"]
        assert {
            "secret": {
                "name": "webhook-secret",
                "items": [{"key": "secret", "path": "webhook/secret"}],
            }
        } in config["projected"]["sources"]
        (service,) = find(docs, "Service", "harmonia-webhooks")
        assert service["spec"]["ports"] == [
            {"name": "http", "port": 80, "targetPort": "http-metrics", "protocol": "TCP"}
        ]
        assert not find(docs, "Ingress")


def test_the_webhook_ingress_routes_the_hooks_alone_never_the_api(
    binaries: dict[str, Path], tmp_path: Path
) -> None:
    _by_kustomize, by_helm = both_with_webhooks(
        binaries, tmp_path, "--set", "webhook.ingress.enabled=true"
    )
    (ingress,) = find(by_helm, "Ingress")
    (rule,) = ingress["spec"]["rules"]
    assert rule["http"]["paths"] == [
        {
            "path": "/hooks/",
            "pathType": "Prefix",
            "backend": {"service": {"name": "harmonia-webhooks", "port": {"name": "http"}}},
        }
    ]


def test_without_a_webhook_secret_the_chart_adds_no_webhook_service_or_ingress(
    binaries: dict[str, Path],
) -> None:
    docs = helm_template(
        binaries["helm"], *DEFAULT_RELEASE, "--set", "webhook.ingress.enabled=true"
    )
    assert not find(docs, "Service", "harmonia-webhooks") and not find(docs, "Ingress")
    (container,) = pod_spec(docs)["containers"]
    assert "WEBHOOK" not in json.dumps(container)


LEADER = {"harmonia.dev/leader": "true"}


def test_the_webhook_service_selects_the_leaders_pod_alone_and_the_metrics_one_every_replica(
    binaries: dict[str, Path], tmp_path: Path
) -> None:
    for docs in both_with_webhooks(binaries, tmp_path):
        (deployment,) = find(docs, "Deployment")
        replicas = deployment["spec"]["selector"]["matchLabels"]
        (webhooks,) = find(docs, "Service", "harmonia-webhooks")
        (metrics,) = find(docs, "Service", "harmonia-metrics")
        assert webhooks["spec"]["selector"] == {**replicas, **LEADER}
        # Ready pods alone: a killed leader's pod keeps its label until its container restarts.
        assert not webhooks["spec"].get("publishNotReadyAddresses")
        assert metrics["spec"]["selector"] == replicas


def test_the_deployment_tells_the_reconciler_its_pod_by_the_downward_api(
    binaries: dict[str, Path], tmp_path: Path
) -> None:
    for docs in both_in_deployment_mode(binaries):
        (container,) = pod_spec(docs)["containers"]
        env = {var["name"]: var.get("valueFrom") for var in container["env"]}
        assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
        assert env["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    for docs in both_in_cronjob_mode(binaries, tmp_path):
        (container,) = pod_spec(docs)["containers"]
        assert "POD_NAME" not in {var["name"] for var in container["env"]}


def test_the_reconciler_may_label_pods_in_its_own_namespace_alone(
    binaries: dict[str, Path],
) -> None:
    for docs in both_in_deployment_mode(binaries):
        (role,) = find(docs, "Role", "harmonia-leader-election")
        assert role["metadata"]["namespace"] == "harmonia-system"
        pod_rules = [rule for rule in role["rules"] if "pods" in rule["resources"]]
        assert pod_rules == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "patch"]}]
        for cluster_role in find(docs, "ClusterRole"):
            for rule in cluster_role["rules"]:
                if "pods" in rule["resources"]:
                    assert "patch" not in rule["verbs"], cluster_role["metadata"]["name"]


AGE_KEY_FILE = "/etc/harmonia/sops/age/keys.txt"


def age_key_wiring(pod: Document) -> tuple[str | None, list[Document]]:
    """SOPS_AGE_KEY_FILE of the container, and the Secret sources projected into the
    read-only volume at /etc/harmonia that hold sops/age/keys.txt."""
    (container,) = pod["containers"]
    env = {entry["name"]: entry.get("value") for entry in container["env"]}
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/etc/harmonia"]
    assert mount["readOnly"] is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    sources = [
        source["secret"]
        for source in volume["projected"]["sources"]
        if "secret" in source
        and any(item["path"] == "sops/age/keys.txt" for item in source["secret"]["items"])
    ]
    return env.get("SOPS_AGE_KEY_FILE"), sources


@pytest.mark.parametrize("mode", ["deployment", "cronjob"])
def test_both_mount_the_age_key_from_an_optional_secret_read_only_and_name_it_for_sops(
    binaries: dict[str, Path], tmp_path: Path, mode: str
) -> None:
    if mode == "deployment":
        both = both_in_deployment_mode(binaries)
    else:
        both = both_in_cronjob_mode(binaries, tmp_path)
    for docs in both:
        key_file, sources = age_key_wiring(pod_spec(docs))
        assert key_file == AGE_KEY_FILE
        assert sources == [
            {
                "name": "harmonia-sops-age",
                "optional": True,
                "items": [{"key": "keys.txt", "path": "sops/age/keys.txt"}],
            }
        ]


def test_the_chart_mounts_the_age_key_secret_its_values_name_or_none(
    binaries: dict[str, Path],
) -> None:
    named = helm_template(
        binaries["helm"],
        *DEFAULT_RELEASE,
        "--set",
        "sopsAgeKey.secretName=team-age,sopsAgeKey.secretKey=age.txt",
    )
    key_file, sources = age_key_wiring(pod_spec(named))
    assert key_file == AGE_KEY_FILE
    assert [(s["name"], s["items"][0]["key"]) for s in sources] == [("team-age", "age.txt")]

    without = helm_template(binaries["helm"], *DEFAULT_RELEASE, "--set", "sopsAgeKey.secretName=")
    assert age_key_wiring(pod_spec(without)) == (None, [])


def config_of(docs: list[Document]) -> Document:
    """The reconciler's config.yaml, parsed."""
    (configmap,) = find(docs, "ConfigMap", "harmonia-config")
    loaded: Document = yaml.safe_load(configmap["data"]["config.yaml"])
    return loaded


def secret_sources(pod: Document) -> dict[str, Document]:
    """The Secrets projected into /etc/harmonia, by name: their items and optional flag."""
    (config,) = [volume for volume in pod["volumes"] if volume["name"] == "config"]
    return {
        source["secret"]["name"]: {k: v for k, v in source["secret"].items() if k != "name"}
        for source in config["projected"]["sources"]
        if "secret" in source
    }


def both_with_notifications(binaries: dict[str, Path], folder: Path) -> list[list[Document]]:
    return [
        kustomize(
            binaries["kubectl"], component_overlay(folder / "kustomize", NOTIFICATIONS_EXAMPLE)
        ),
        helm_template(binaries["helm"], *DEFAULT_RELEASE, "-f", str(notification_values(folder))),
    ]


EXAMPLE_SECRET_ITEMS = {
    NOTIFICATION_SECRETS["notifications"]: {
        "items": [
            {"key": key, "path": f"notifications/{key}"}
            for key in ("ops-webhook-key", "slack-url", "teams-url")
        ]
    },
    NOTIFICATION_SECRETS["forge"]: {"items": [{"key": "token", "path": "forge/token"}]},
}


def test_with_notifications_both_configure_the_receivers_and_forge_and_mount_their_files(
    binaries: dict[str, Path], tmp_path: Path
) -> None:
    example = example_notifications()
    by_kustomize, by_helm = both_with_notifications(binaries, tmp_path)
    assert pod_spec(by_kustomize) == pod_spec(by_helm)
    for docs in (by_kustomize, by_helm):
        config = config_of(docs)
        assert config["notifications"] == example["notifications"]
        assert config["forge"] == {**example["forge"], "tokenFile": "/etc/harmonia/forge/token"}
        sources = secret_sources(pod_spec(docs))
        assert {name: sources[name] for name in EXAMPLE_SECRET_ITEMS} == EXAMPLE_SECRET_ITEMS
        (container,) = pod_spec(docs)["containers"]
        (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/etc/harmonia"]
        assert mount == {"name": "config", "mountPath": "/etc/harmonia", "readOnly": True}
    # Everything else is the default install's (the example's config.yaml replaces the base's).
    for docs, default in zip(
        (by_kustomize, by_helm), both_in_deployment_mode(binaries), strict=True
    ):
        rest = {k: v for k, v in config_of(docs).items() if k not in ("notifications", "forge")}
        assert rest == config_of(default)


def test_the_chart_in_cronjob_mode_mounts_the_receivers_files_and_the_forge_token_too(
    binaries: dict[str, Path], tmp_path: Path
) -> None:
    values = notification_values(tmp_path)
    docs = helm_template(
        binaries["helm"], *DEFAULT_RELEASE, "-f", str(values), "--set", "mode=cronjob"
    )
    sources = secret_sources(pod_spec(docs))
    assert {name: sources[name] for name in EXAMPLE_SECRET_ITEMS} == EXAMPLE_SECRET_ITEMS
    assert config_of(docs)["forge"]["tokenFile"] == "/etc/harmonia/forge/token"


@pytest.mark.parametrize("tool", ["kustomize", "helm"])
def test_a_config_rendered_with_receivers_and_a_forge_is_accepted_by_harmonia_run(
    binaries: dict[str, Path], tmp_path: Path, tool: str
) -> None:
    by_kustomize, by_helm = both_with_notifications(binaries, tmp_path)
    config_file = tmp_path / "config.yaml"
    (configmap,) = find(by_kustomize if tool == "kustomize" else by_helm, "ConfigMap")
    config_file.write_text(configmap["data"]["config.yaml"])
    load_policy(config_file)  # the schema check `harmonia run --config` makes first
    settings = run_settings(
        yaml.safe_load(config_file.read_text()),
        {"url": "https://github.com/acme/releases.git"},
        pod_namespace="harmonia-system",
    )
    receivers = {receiver.name: receiver for receiver in settings.notifications.receivers}
    assert receivers["ops-slack"].url_file == Path("/etc/harmonia/notifications/slack-url")
    assert receivers["ops-webhook"].secret_file == Path(
        "/etc/harmonia/notifications/ops-webhook-key"
    )
    assert receivers["platform-teams"].filter.namespaces == ("prod-*",)
    assert (
        settings.notifications.rate_limit.per_second,
        settings.notifications.rate_limit.burst,
    ) == (1.0, 10)
    assert settings.forge is not None
    assert (settings.forge.kind, settings.forge.token_file) == (
        ForgeKind.GITHUB,
        Path("/etc/harmonia/forge/token"),
    )
    assert settings.forge.link_url == example_notifications()["forge"]["linkUrl"]


def test_by_default_neither_configures_notifications_or_a_forge_nor_mounts_a_secret_for_them(
    binaries: dict[str, Path], tmp_path: Path
) -> None:
    for docs in both_in_deployment_mode(binaries) + both_in_cronjob_mode(binaries, tmp_path):
        assert not {"notifications", "forge"} & set(config_of(docs))
        assert set(secret_sources(pod_spec(docs))) == {"git-credentials", "harmonia-sops-age"}


def chart_values(folder: Path, values: Document) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "values.yaml").write_text(yaml.safe_dump(values))
    return folder / "values.yaml"


def test_the_chart_mounts_each_key_its_receivers_read_from_the_secret_once_and_no_other(
    binaries: dict[str, Path], tmp_path: Path
) -> None:
    receivers = [
        {"name": "inline", "type": "webhook", "url": "https://alerts.example.com/h"},
        {"name": "a", "type": "slack", "urlFile": "/etc/harmonia/notifications/slack-url"},
        {"name": "b", "type": "slack", "urlFile": "/etc/harmonia/notifications/slack-url"},
        {"name": "elsewhere", "type": "msteams", "urlFile": "/var/run/teams/url"},
    ]
    values = {"notifications": {"receivers": receivers, "secretName": "chat-hooks"}}
    docs = helm_template(
        binaries["helm"], *DEFAULT_RELEASE, "-f", str(chart_values(tmp_path, values))
    )
    assert secret_sources(pod_spec(docs))["chat-hooks"] == {
        "items": [{"key": "slack-url", "path": "notifications/slack-url"}]
    }
    assert config_of(docs)["notifications"] == {"receivers": receivers}

    inline_only = {"notifications": {"receivers": receivers[:1], "secretName": "chat-hooks"}}
    docs = helm_template(
        binaries["helm"], *DEFAULT_RELEASE, "-f", str(chart_values(tmp_path, inline_only))
    )
    assert "chat-hooks" not in secret_sources(pod_spec(docs))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {
                "notifications": {
                    "receivers": [
                        {"name": "a", "type": "slack", "urlFile": "/etc/harmonia/notifications/u"}
                    ]
                }
            },
            "notifications.secretName: the receivers read /etc/harmonia/notifications/u",
        ),
        ({"forge": {"type": "gitlab"}}, "forge.tokenSecret: forge.type is set"),
        ({"forge": {"type": "bitbucket", "tokenSecret": "t"}}, "at '/forge/type'"),
        # The chart names the file; the token itself never goes into values.
        ({"forge": {"tokenFile": "/etc/token"}}, "additional properties 'tokenFile' not allowed"),
    ],
    ids=["receiver-file-without-secret", "forge-without-token", "unknown-forge", "token-in-values"],
)
def test_the_chart_refuses_a_secret_file_it_cannot_mount_and_a_forge_it_does_not_know(
    binaries: dict[str, Path], tmp_path: Path, values: Document, message: str
) -> None:
    refused = subprocess.run(
        [
            str(binaries["helm"]),
            "template",
            str(CHART),
            "-f",
            str(chart_values(tmp_path, values)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode != 0 and message in refused.stderr, refused.stderr


def test_the_install_notes_name_the_secrets_the_pods_wait_for(
    binaries: dict[str, Path], tmp_path: Path
) -> None:
    def notes(*args: str) -> str:
        release, *namespace = DEFAULT_RELEASE
        command = [str(binaries["helm"]), "install", "--dry-run=client", release, str(CHART)]
        installed = subprocess.run(
            [*command, *namespace, *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert installed.returncode == 0, installed.stderr
        return installed.stdout.split("NOTES:", 1)[1]

    told = notes("-f", str(notification_values(tmp_path)))
    assert (
        "the Secret harmonia-notifications (keys ops-webhook-key, slack-url, teams-url) exists"
        in told
    )
    assert "the Secret harmonia-forge (key token) exists" in told
    assert "Alerts" not in notes() and "Commit statuses" not in notes()


def test_the_chart_passes_the_forges_api_url_and_repository_and_leaves_out_what_is_empty(
    binaries: dict[str, Path], tmp_path: Path
) -> None:
    forge = {"type": "gitea", "tokenSecret": "codeberg", "tokenKey": "pat"}
    forge |= {"apiUrl": "https://codeberg.org/api/v1", "repository": "acme/releases"}
    docs = helm_template(
        binaries["helm"], *DEFAULT_RELEASE, "-f", str(chart_values(tmp_path, {"forge": forge}))
    )
    assert config_of(docs)["forge"] == {
        "type": "gitea",
        "tokenFile": "/etc/harmonia/forge/pat",
        "apiUrl": "https://codeberg.org/api/v1",
        "repository": "acme/releases",
    }
    assert secret_sources(pod_spec(docs))["codeberg"] == {
        "items": [{"key": "pat", "path": "forge/pat"}]
    }
    assert "notifications" not in config_of(docs)


def test_the_charts_repository_environment_reaches_the_pod_as_harmonia_environment(
    binaries: dict[str, Path],
) -> None:
    def variables(*helm: str) -> dict[str, str]:
        docs = helm_template(binaries["helm"], *DEFAULT_RELEASE, *helm)
        (container,) = pod_spec(docs)["containers"]
        return {item["name"]: item.get("value", "") for item in container["env"]}

    assert variables("--set", "repository.environment=prod")["HARMONIA_ENVIRONMENT"] == "prod"
    assert "HARMONIA_ENVIRONMENT" not in variables()


def test_the_chart_mounts_the_ui_token_secret_its_values_name_and_names_the_file_or_none(
    binaries: dict[str, Path],
) -> None:
    named = helm_template(
        binaries["helm"], *DEFAULT_RELEASE, "--set", "uiToken.secretName=harmonia-ui-token"
    )
    (container,) = pod_spec(named)["containers"]
    assert {
        "name": "HARMONIA_LISTEN_TOKEN_FILE",
        "value": "/etc/harmonia/ui-token/token",
    } in container["env"]
    assert secret_sources(pod_spec(named))["harmonia-ui-token"] == {
        "items": [{"key": "token", "path": "ui-token/token"}]
    }

    without = helm_template(binaries["helm"], *DEFAULT_RELEASE)
    (container,) = pod_spec(without)["containers"]
    assert "HARMONIA_LISTEN_TOKEN_FILE" not in {variable["name"] for variable in container["env"]}
    assert "harmonia-ui-token" not in secret_sources(pod_spec(without))


def test_the_chart_shares_the_releases_out_when_sharding_is_on_and_may_list_the_leases(
    binaries: dict[str, Path],
) -> None:
    plain = helm_template(binaries["helm"], *DEFAULT_RELEASE)
    sharded = helm_template(
        binaries["helm"], *DEFAULT_RELEASE, "--set", "sharding.enabled=true,replicas=3"
    )
    assert "sharding" not in config_of(plain)
    settings = run_settings(config_of(sharded), {"url": "file:///r"}, pod_namespace=None)
    assert settings.sharding is True
    (deployment,) = find(sharded, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    (role,) = find(sharded, "Role", "harmonia-leader-election")
    lease_rules = [rule for rule in role["rules"] if "leases" in rule["resources"]]
    assert {
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "verbs": ["get", "list", "update", "patch"],
    } in lease_rules
    assert all("resourceNames" not in rule for rule in lease_rules)
    assert helm_lint(binaries["helm"], "--set", "sharding.enabled=true").returncode == 0
