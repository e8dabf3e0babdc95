"""Reading `helm template` output: documents, hooks and masking, without running helm."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.render.helm.engine import masked, split_hooks, template_arguments
from reconciler.render.manifests.parse import parse_manifests
from reconciler.render.model import RenderEnvironment, RenderError
from reconciler.types import JsonObject

SUBJECT = "release shop/web: chart shop 1.4.2"


def hook_object(annotations: dict[str, str]) -> dict[str, object]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "job", "annotations": annotations},
    }


def test_empty_documents_are_dropped_and_order_is_kept() -> None:
    text = (
        "---\n# Source: shop/templates/empty.yaml\n\n"
        "---\n# Source: shop/templates/b.yaml\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
    )

    objects = parse_manifests(text, subject=SUBJECT)

    assert [o["kind"] for o in objects] == ["Service", "ConfigMap"]


def test_values_are_read_as_kubernetes_reads_yaml() -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
        "  annotations: {built: 2024-05-01T10:00:00Z}\n"
        "data:\n  2: two\n  true: yes-string\n  mode: 0755\n"
    )

    (configmap,) = parse_manifests(text, subject=SUBJECT)

    assert configmap["metadata"] == {"name": "a", "annotations": {"built": "2024-05-01T10:00:00Z"}}
    assert configmap["data"] == {"2": "two", "true": "yes-string", "mode": 493}


def test_a_document_that_is_not_a_mapping_names_its_template() -> None:
    text = "---\n# Source: shop/templates/list.yaml\n- a\n- b\n"

    with pytest.raises(
        RenderError, match=f"{SUBJECT}: shop/templates/list.yaml: rendered a document that is not"
    ):
        parse_manifests(text, subject=SUBJECT)


def test_an_object_without_kind_is_refused() -> None:
    with pytest.raises(RenderError, match="rendered an object without apiVersion and kind"):
        parse_manifests("apiVersion: v1\nmetadata: {name: a}\n", subject=SUBJECT)


def test_invalid_yaml_is_a_render_error_naming_the_template() -> None:
    text = "---\n# Source: shop/templates/bad.yaml\nkind: [unclosed\n"

    with pytest.raises(
        RenderError, match=re.escape("shop/templates/bad.yaml: rendered invalid YAML")
    ):
        parse_manifests(text, subject=SUBJECT)


def test_a_value_json_cannot_hold_is_refused() -> None:
    text = "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\ndata:\n  raw: !!binary aGVsbG8=\n"

    with pytest.raises(RenderError, match=r"rendered a value JSON cannot hold \(bytes\)"):
        parse_manifests(text, subject=SUBJECT)


@pytest.mark.parametrize(
    ("annotations", "events", "weight", "policies"),
    [
        ({"helm.sh/hook": "pre-install"}, ("pre-install",), 0, ()),
        (
            {
                "helm.sh/hook": "pre-install, post-upgrade",
                "helm.sh/hook-weight": " 10 ",
                "helm.sh/hook-delete-policy": "hook-succeeded",
            },
            ("pre-install", "post-upgrade"),
            10,
            ("hook-succeeded",),
        ),
        ({"helm.sh/hook": "post-delete", "helm.sh/hook-weight": "heavy"}, ("post-delete",), 0, ()),
    ],
)
def test_hooks_carry_their_events_weight_and_delete_policies(
    annotations: dict[str, str], events: tuple[str, ...], weight: int, policies: tuple[str, ...]
) -> None:
    output = split_hooks((hook_object(annotations),))  # type: ignore[arg-type]

    assert output.objects == ()
    (hook,) = output.hooks
    assert (hook.events, hook.weight, hook.delete_policies) == (events, weight, policies)


@pytest.mark.parametrize("events", ["test", "test-success", "pre-install,test"])
def test_test_hooks_are_left_out_entirely(events: str) -> None:
    output = split_hooks((hook_object({"helm.sh/hook": events}),))  # type: ignore[arg-type]

    assert output.objects == ()
    assert output.hooks == ()


def test_values_are_masked_in_helms_messages_short_ones_only_under_secret_keys() -> None:
    values: JsonObject = {
        "db": {"password": "hunter2-secret", "host": "db-1"},
        "apiKeys": ["key-one-1234"],
        "auth": {"nested": {"value": "deep-secret"}},
        "pin": {"token": "abc"},
    }
    text = "bad hunter2-secret for db-1 with key-one-1234 and deep-secret, pin abc"

    assert masked(text, values) == "bad *** for db-1 with *** and ***, pin abc"
    # Any value of 8 characters or more: a chart's `fail` may quote it from a Secret.
    assert masked("cannot log in with plain-looking-pw", {"db": {"pw": "plain-looking-pw"}}) == (
        "cannot log in with ***"
    )


def test_the_template_command_names_every_capability_and_never_a_cluster() -> None:
    env = RenderEnvironment(
        kube_version="v1.36.3",
        api_versions=("monitoring.coreos.com/v1", "policy/v1/PodDisruptionBudget"),
        helm=Path("/bin/helm"),
    )

    arguments = template_arguments(
        Path("/charts/shop"),
        release_name="web",
        namespace="shop",
        env=env,
    )

    assert arguments == [
        "template",
        "web",
        "/charts/shop",
        "--namespace",
        "shop",
        "--kube-version",
        "v1.36.3",
        "--include-crds",
        "--values",
        "-",
        "--api-versions",
        "monitoring.coreos.com/v1",
        "--api-versions",
        "policy/v1/PodDisruptionBudget",
    ]


def test_an_equals_sign_is_a_string_as_kubectl_reads_it() -> None:
    # kube-prometheus's Alertmanager CRD lists `=` among an enum's values.
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  ops: [=, '!=', =~]\n"

    (configmap,) = parse_manifests(text, subject=SUBJECT)

    assert configmap["data"] == {"ops": ["=", "!=", "=~"]}


@pytest.mark.parametrize(
    ("document", "position", "problem"),
    [
        ("  password: !s3cr3tValue99\n", "line 5, column 13", "a tag Kubernetes does not read"),
        ("  a: [unclosed\n", "line 6, column 1", "not closed or not indented"),
        ("  a: *nowhere\n", "line 5, column 6", "an alias names no anchor"),
        ("  a: b: c\n", "line 5, column 7", "does not scan as YAML"),
    ],
    ids=["unknown-tag", "unclosed", "undefined-alias", "colon"],
)
def test_invalid_yaml_is_reported_in_harmonias_words_without_the_text(
    document: str, position: str, problem: str
) -> None:
    header = "---\n# Source: shop/templates/s.yaml\napiVersion: v1\nkind: Secret\n"
    text = f"{header}stringData:\n{document}"

    with pytest.raises(RenderError) as raised:
        parse_manifests(text, subject=SUBJECT)

    message = str(raised.value)
    assert message.startswith(
        f"{SUBJECT}: shop/templates/s.yaml: rendered invalid YAML at {position}: "
    )
    assert problem in message
    assert "s3cr3t" not in message and "nowhere" not in message and "\n" not in message
