"""An output that a dependent places in a Secret is a secret from then on: the real value
reaches the dependent's Secret in the cluster and nothing else, not the publisher's or
the dependent's inventory record, not `status`, not the API's detail, not a failure
message that quotes it."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from reconciler.apply.records import read_inventory
from reconciler.reconcile import Outcome
from reconciler.render.secrets.masking import MASK
from reconciler.status.live import read_statuses
from reconciler.types import ReleaseKey
from tests.cluster.workbench import Workbench, helm_chart
from tests.conftest import LiveCluster

PUBLISHER_TEMPLATE = """\
apiVersion: harmonia.dev/v1alpha1
kind: ReleaseConfig
metadata:
  name: {{ .Release.Name }}
spec:
  outputConfig:
    password: {{ .Values.password | quote }}
    host: "db.{{ .Release.Namespace }}.svc"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}
data:
  role: database
"""
DEPENDENT_TEMPLATE = """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-db
stringData:
  password: {{ .Values.dependencies.db.password | quote }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}
data:
  host: {{ .Values.dependencies.db.host | quote }}
  {{- if .Values.keyFromPassword }}
  {{ .Values.dependencies.db.password }}/x: invalid
  {{- end }}
"""


def test_an_output_placed_in_a_secret_is_recorded_and_shown_masked(
    cluster: LiveCluster, tmp_path: Path
) -> None:
    namespace = f"secret-outputs-{secrets.token_hex(3)}"
    password = f"pw-{secrets.token_hex(12)}"
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    db = bench.release(
        namespace,
        "db",
        chartPath=helm_chart(bench.root, "db", PUBLISHER_TEMPLATE),
        configValues={"password": password},
    )
    app = bench.release(
        namespace,
        "app",
        chartPath=helm_chart(bench.root, "app", DEPENDENT_TEMPLATE),
        dependencies={"db": "db"},
    )

    report = bench.run()

    assert not report.failed, {k: r.message for k, r in report.releases.items()}
    stored = cluster.kubectl("-n", namespace, "get", "secret", "app-db", "-o", "json").stdout
    assert json.loads(stored)["data"]["password"]  # the real value is in the Secret
    with bench.client() as client:
        published = read_inventory(client, db)
        used = read_inventory(client, app)
        statuses, _problems = read_statuses(client, namespace=namespace)
    assert published is not None and used is not None
    assert published.outputs == {"password": MASK, "host": f"db.{namespace}.svc"}
    assert used.dependency_outputs["db"]["outputs"] == published.outputs
    records = cluster.kubectl("-n", namespace, "get", "configmaps", "-o", "json").stdout
    assert password not in records
    assert password not in json.dumps([status.to_json() for status in statuses])

    # A failure message quoting it: the API server refuses a ConfigMap key made of it
    # (`Invalid value: "pw-.../x"`); the message in the report holds it only as `***`.
    bench.release(
        namespace,
        "app",
        chartPath="charts/app",
        configValues={"keyFromPassword": True},
        dependencies={"db": "db"},
    )
    failing = bench.run()
    message = failing.releases[ReleaseKey(f"{namespace}/app")].message
    assert failing.releases[ReleaseKey(f"{namespace}/app")].outcome is Outcome.FAILED
    assert f"{MASK}/x" in message and password not in message
    recorded = cluster.kubectl("-n", namespace, "get", "configmaps", "-o", "json").stdout
    assert "Failed: " in recorded and password not in recorded
