"""Bad input against the real cluster: one pass over a repository holding one good release
and every kind of bad one applies the good one, reports each bad one with its message,
creates nothing of the bad ones and deletes nothing that was there before.

Three releases are applied in a good state first and then broken (unreadable file,
invalid field, a ClusterRoleBinding to cluster-admin): their objects must stay.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from reconciler.desired import DesiredState
from reconciler.policy import Policy
from reconciler.reconcile import Outcome, PassOptions, PassReport, reconcile
from reconciler.types import JsonObject, ReleaseKey
from tests import manifests
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster
from tests.unit.test_bad_input import ALIAS_BOMB, DEEP

RELEASE_NAME_LABEL = "harmonia.dev/release-name"
ESCAPED = "escaped-from-the-repository"
"""Written outside the repository: must never reach the cluster."""
ESCAPING_JSONNET = """\
local s = import '../../../outside/secret.libsonnet';
[{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'bad-jsonnet'}, data: s}]
"""
MANIFEST_ALIAS_BOMB = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad-manifest-bomb}\n" + (
    "data:\n" + "".join(f"  {line}\n" for line in ALIAS_BOMB.splitlines())
)


def config_map(name: str, phase: str) -> JsonObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"phase": phase},
    }


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def archive_with_escaping_member() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in (
            ("bad-archive/Chart.yaml", "apiVersion: v2\nname: bad-archive\nversion: 1.0.0\n"),
            ("bad-archive/templates/cm.yaml", yaml.safe_dump(config_map("bad-archive", "2"))),
            ("bad-archive/../../escaped.yaml", ESCAPED),
        ):
            data = text.encode()
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture()
def cluster_widget_kind(cluster: LiveCluster, namespace: str) -> Iterator[str]:
    """A cluster-scoped custom kind, served by a CRD of this test's own (apiVersion)."""
    group = f"{namespace}.test.harmonia.dev"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"clusterwidgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Cluster",
            "names": {
                "plural": "clusterwidgets",
                "singular": "clusterwidget",
                "kind": "ClusterWidget",
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(crd))
    cluster.kubectl("wait", "--for=condition=Established", f"crd/clusterwidgets.{group}")
    try:
        yield f"{group}/v1"
    finally:
        cluster.kubectl("delete", "crd", f"clusterwidgets.{group}", "--wait=false", check=False)


def one_pass(bench: Workbench, revision: str) -> tuple[DesiredState, PassReport]:
    """A pass as `harmonia apply` runs it, errors in the repository and all."""
    with bench.client() as client:
        state = bench.desired(client)
        return state, reconcile(client, state, PassOptions(revision, bench.source))


def names_in(cluster: LiveCluster, namespace: str) -> dict[str, str]:
    """Every object of the usual kinds in `namespace`: `kind/name` -> its release label."""
    listed = cluster.kubectl(
        "-n",
        namespace,
        "get",
        "configmaps,secrets,services,deployments,roles,rolebindings",
        "-o",
        "json",
    )
    return {
        f"{item['kind']}/{item['metadata']['name']}": (item["metadata"].get("labels") or {}).get(
            RELEASE_NAME_LABEL, ""
        )
        for item in json.loads(listed.stdout)["items"]
    }


def test_one_pass_applies_the_good_release_and_every_bad_one_stays_its_own_problem(
    cluster: LiveCluster, namespace: str, cluster_widget_kind: str, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.libsonnet").write_text(f"{{ stolen: '{ESCAPED}' }}\n")
    (outside / "values.yaml").write_text(f"stolen: {ESCAPED}\n")
    (outside / "configmap.yaml").write_text(yaml.safe_dump(config_map("bad-chart-link", ESCAPED)))
    bench = Workbench(
        cluster,
        tmp_path / "repo",
        tmp_path / "cache",
        policy=Policy(allowed_namespaces=(namespace,), allow_cluster_scoped=False),
    )
    ns = namespace
    for name in ("good", "victim-syntax", "victim-schema", "victim-rbac"):
        bench.release(ns, name, chartPath=bench.chart(name, [config_map(name, "1")]))
    first = bench.run()
    assert not first.failed, {key: report.message for key, report in first.releases.items()}
    before = names_in(cluster, ns)

    # The next commit: the good release changes, three applied ones break, bad ones arrive.
    bench.chart("good", [config_map("good", "2")])
    crb: JsonObject = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": f"{ns}-escalate"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "cluster-admin",
        },
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}],
    }
    bench.chart("victim-rbac", [config_map("victim-rbac", "2"), crb])
    widget: JsonObject = {
        "apiVersion": cluster_widget_kind,
        "kind": "ClusterWidget",
        "metadata": {"name": f"{ns}-widget"},
    }
    releases = f"releases/{ns}"
    write(
        bench.root,
        {
            "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"
            f"allowedNamespaces: [{ns}, kube-system]\nallowClusterScoped: true\n",
            f"{releases}/victim-syntax.yaml": "name: victim-syntax\n  namespace: [oops\n",
            f"{releases}/victim-schema.yaml": manifests.release_yaml(
                ns, "victim-schema", chartPath="charts/victim-schema", timeoutSec="soon"
            ),
            f"{releases}/bad-binary.yaml": b"\x7fELF\x02\x01\x01\x00",
            f"{releases}/bad-utf8.yaml": b"name: bad-utf8\nnamespace: x\ndescription: caf\xe9\n",
            f"{releases}/bad-alias-bomb.yaml": ALIAS_BOMB,
            f"{releases}/bad-deep.yaml": DEEP,
            f"{releases}/bad-huge.yaml": "name: bad-huge\ndescription: " + "x" * (1 << 20) + "\n",
            f"{releases}/bad-name.yaml": manifests.release_yaml(
                ns, "Bad_Name", chartPath="charts/good"
            ),
            f"{releases}/bad-chart-path.yaml": manifests.release_yaml(
                ns, "bad-chart-path", chartPath="../outside"
            ),
            f"{releases}/bad-values-link.yaml": manifests.release_yaml(
                ns, "bad-values-link", chartPath="charts/good", valuesFiles=["values/linked.yaml"]
            ),
            "releases/kube-system/bad-namespace.yaml": manifests.release_yaml(
                "kube-system", "bad-namespace", chartPath="charts/good"
            ),
            f"{releases}/bad-jsonnet.yaml": manifests.release_yaml(
                ns, "bad-jsonnet", chartPath="charts/bad-jsonnet"
            ),
            "charts/bad-jsonnet/main.jsonnet": ESCAPING_JSONNET,
            f"{releases}/bad-chart-link.yaml": manifests.release_yaml(
                ns, "bad-chart-link", chartPath="charts/bad-chart-link"
            ),
            f"{releases}/bad-archive.yaml": manifests.release_yaml(
                ns, "bad-archive", chartPath="charts/bad-archive-1.0.0.tgz"
            ),
            "charts/bad-archive-1.0.0.tgz": archive_with_escaping_member(),
            f"{releases}/bad-widget.yaml": manifests.release_yaml(
                ns, "bad-widget", chartPath=bench.chart("bad-widget", [widget])
            ),
            f"{releases}/bad-chart-yaml.yaml": manifests.release_yaml(
                ns, "bad-chart-yaml", chartPath="charts/bad-chart-yaml"
            ),
            "charts/bad-chart-yaml/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\nx: "
            + "[" * 5000
            + "]" * 5000,
            "charts/bad-chart-yaml/templates/cm.yaml": yaml.safe_dump(
                config_map("bad-chart-yaml", "2")
            ),
            f"{releases}/bad-manifest-bomb.yaml": manifests.release_yaml(
                ns, "bad-manifest-bomb", chartPath="charts/bad-manifest-bomb"
            ),
            "charts/bad-manifest-bomb/cm.yaml": MANIFEST_ALIAS_BOMB,
        },
    )
    (bench.root / "values").mkdir(exist_ok=True)
    (bench.root / "values/linked.yaml").symlink_to(outside / "values.yaml")
    (bench.root / "charts/bad-chart-link").mkdir()
    (bench.root / "charts/bad-chart-link/configmap.yaml").symlink_to(outside / "configmap.yaml")

    state, report = one_pass(bench, "rev-2")

    def key(name: str, in_namespace: str = ns) -> ReleaseKey:
        return ReleaseKey(f"{in_namespace}/{name}")

    # The good release went on.
    assert report.releases[key("good")].outcome is Outcome.APPLIED
    good = json.loads(cluster.kubectl("-n", ns, "get", "configmap", "good", "-o", "json").stdout)
    assert good["data"] == {"phase": "2"}

    # Every problem in a file is reported at its place.
    places = {(d.file, d.line): d.message for d in state.diagnostics if d.is_error}
    expected_places = {
        ("harmonia.yaml", 3): "'kube-system' is outside the reconciler's allowed namespaces",
        ("harmonia.yaml", 4): "allowClusterScoped: true would widen the reconciler's policy",
        (f"{releases}/victim-syntax.yaml", 2): "YAML syntax error",
        (f"{releases}/victim-schema.yaml", 6): 'expected an integer, got string "soon"',
        (f"{releases}/bad-binary.yaml", 1): "binary file (it contains NUL bytes)",
        (f"{releases}/bad-utf8.yaml", 3): "not UTF-8 text",
        (f"{releases}/bad-alias-bomb.yaml", 1): "aliases expand the document",
        (f"{releases}/bad-deep.yaml", 1): "nested deeper than 100 levels",
        (f"{releases}/bad-huge.yaml", 1): "file is larger than",
        (f"{releases}/bad-name.yaml", 3): '"Bad_Name" is not a valid release name',
        (f"{releases}/bad-chart-path.yaml", 5): '"../outside" is not a valid path',
        (f"{releases}/bad-values-link.yaml", 7): "values file 'values/linked.yaml' leads outside",
        ("releases/kube-system/bad-namespace.yaml", 4): "namespace 'kube-system' is not allowed",
    }
    for place, message in expected_places.items():
        assert place in places and places[place].startswith(message), (place, places.get(place))

    # Every bad release that can be named has its own outcome, saying why.
    expected_reports = {
        key("victim-schema"): (Outcome.INVALID, f"{releases}/victim-schema.yaml:6: "),
        key("bad-chart-path"): (Outcome.INVALID, '"../outside" is not a valid path'),
        key("bad-values-link"): (Outcome.INVALID, "leads outside the repository"),
        key("bad-namespace", "kube-system"): (Outcome.INVALID, "namespace 'kube-system' is not"),
        key("bad-jsonnet"): (Outcome.FAILED, "it leads outside the chart and its library folders"),
        key("bad-chart-link"): (Outcome.FAILED, "a symbolic link to outside the repository"),
        key("bad-archive"): (Outcome.FAILED, "climbs out with '..'"),
        key("victim-rbac"): (
            Outcome.FAILED,
            f"ClusterRoleBinding/{ns}-escalate: cluster-scoped objects are not allowed",
        ),
        key("bad-widget"): (
            Outcome.FAILED,
            f"ClusterWidget/{ns}-widget: cluster-scoped objects are not allowed",
        ),
        key("bad-chart-yaml"): (Outcome.FAILED, "Chart.yaml is nested too deeply to read"),
        key("bad-manifest-bomb"): (Outcome.FAILED, "rendered an object of over 1000000 values"),
    }
    for name, (outcome, words) in expected_reports.items():
        found = report.releases[name]
        assert (found.outcome, words in found.message) == (outcome, True), found
    assert report.releases[key("victim-schema")].message.endswith("it keeps running as it was")

    # Nothing of the bad ones was created; nothing that was there was deleted.
    after = names_in(cluster, ns)
    assert {name: label for name, label in after.items() if name not in before} == {}
    assert before.keys() <= after.keys()
    for victim in ("victim-syntax", "victim-schema", "victim-rbac"):
        live = json.loads(cluster.kubectl("-n", ns, "get", "cm", victim, "-o", "json").stdout)
        assert live["data"] == {"phase": "1"}, victim
    assert report.prune_withheld is not None
    assert f"{releases}/bad-binary.yaml" in report.prune_withheld
    # Its file cannot be read, so it may be the release's: its removal waits, said so.
    assert report.releases[key("victim-syntax")].outcome is Outcome.REMOVAL_WITHHELD
    assert cluster.kubectl("get", "clusterrolebinding", f"{ns}-escalate", check=False).returncode
    # By its full name: kubectl's discovery cache may still know earlier runs' groups.
    widgets = f"clusterwidgets.{cluster_widget_kind.split('/')[0]}"
    assert cluster.kubectl("get", widgets, "-o", "name").stdout.strip() == ""
    labelled = cluster.kubectl(
        "-n",
        "kube-system",
        "get",
        "configmaps",
        "-l",
        f"{RELEASE_NAME_LABEL}=bad-namespace",
        "-o",
        "name",
    )
    assert labelled.stdout.strip() == ""
    dump = json.dumps([after, report.to_json()])
    assert ESCAPED not in dump


def test_a_broken_harmonia_yaml_or_an_emptied_releases_folder_removes_nothing(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    for name in ("kept", "dropped"):
        bench.release(namespace, name, chartPath=bench.chart(name, [config_map(name, "1")]))
    assert not bench.run().failed
    before = names_in(cluster, namespace)

    # harmonia.yaml broken in the same commit that deletes a release file.
    (bench.root / "harmonia.yaml").write_text(ALIAS_BOMB)
    bench.remove_release(namespace, "dropped")
    state, report = one_pass(bench, "rev-2")
    assert state.loaded.config is None
    assert report.prune_withheld == (
        "harmonia.yaml did not load: releases whose files are missing were not removed"
    )
    assert report.releases[ReleaseKey(f"{namespace}/kept")].outcome is Outcome.UNCHANGED

    # harmonia.yaml fixed, and every release file gone: an empty snapshot.
    (bench.root / "harmonia.yaml").write_text(
        "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"
    )
    bench.remove_release(namespace, "kept")
    _state, report = one_pass(bench, "rev-3")
    assert report.prune_withheld is not None
    assert report.prune_withheld.startswith("the snapshot lost 2 of 2 releases (over 50%)")
    assert {key: entry.outcome for key, entry in report.releases.items()} == {
        ReleaseKey(f"{namespace}/{name}"): Outcome.REMOVAL_WITHHELD for name in ("kept", "dropped")
    }
    assert names_in(cluster, namespace) == before
