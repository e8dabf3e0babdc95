"""WALM-layout Jsonnet charts written for the tests (never WALM's own): an older-style
ZooKeeper and a Kafka that depends on it, for the render and the cluster tests.

The ZooKeeper is written as WALM's older charts were: an `apps/v1beta1` Deployment without
a selector, and its outputs as WALM's v1 `provides` in a dummy Service's `transwarp.meta`
annotation. The Kafka is a later (v2) chart: metainfo declaring the dependency and mapping
its role fields with both `mapKey` spellings, outputs in a ReleaseConfig. Neither needs
ksonnet-lib.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from reconciler.types import JsonObject

ZOOKEEPER_MAIN = """\
// An older WALM chart: the API server of the day made the Deployment's selector from
// its template's labels, and dependents read the dummy Service's transwarp.meta.
local defaults = std.parseJson(importstr '../values.yaml');

function(config={})
  local c = std.mergePatch(defaults, config);
  local release = c.helmReleaseName;
  local labels = { 'transwarp.name': 'zookeeper', release: release };
  local addresses = std.join(',', [
    '%s-zookeeper-%d.%s.pod:%d' % [release, i, c.helmReleaseNamespace, c.port]
    for i in std.range(0, c.replicas - 1)
  ]);
  local provides = { ZOOKEEPER_CLIENT_CONFIG: { immediate_value: {
    zookeeper_addresses: addresses,
    zookeeper_port: std.toString(c.port),
  } } };
  {
    'zookeeper-deployment.json': {
      apiVersion: 'apps/v1beta1',
      kind: 'Deployment',
      metadata: { name: release + '-zookeeper', labels: labels },
      spec: {
        replicas: c.replicas,
        template: {
          metadata: { labels: labels },
          spec: { containers: [{ name: 'zookeeper', image: c.image }] },
        },
      },
    },
    'dummy-svc.json': {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'dummy-' + release,
        labels: {
          'transwarp.meta': 'true',
          'transwarp.name': 'app-dummy',
          release: release,
          chart: c.chartName,
        },
        annotations: { 'transwarp.meta': std.toString({ provides: provides }) },
      },
      spec: { clusterIP: 'None', ports: [{ name: 'dummy', port: 5000 }], selector: {} },
    },
  }
"""

KAFKA_MAIN = """\
local defaults = std.parseJson(importstr '../values.yaml');

function(config={})
  local c = std.mergePatch(defaults, config);
  local release = c.helmReleaseName;
  local zk = c.ZOOKEEPER_CLIENT_CONFIG;
  local labels = { app: 'kafka', release: release };
  {
    'kafka-configmap.json': {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: release + '-kafka' },
      data: { 'server.properties': std.lines([
        'zookeeper.connect=' + zk.zookeeper_addresses + '/kafka',
        'log.retention.hours=' + c.kafka.retentionHours,
      ]) },
    },
    'kafka-deployment.json': {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: release + '-kafka', labels: labels },
      spec: {
        replicas: c.kafka.replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels: labels },
          spec: { containers: [{
            name: 'kafka',
            image: c.image,
            env: [{ name: 'ZOOKEEPER_CONNECT', value: zk.zookeeper_addresses }] + c.kafka.extraEnv,
            resources: { requests: c.kafka.resources },
          }] },
        },
      },
    },
    'release-config.json': {
      apiVersion: 'apiextensions.transwarp.io/v1beta1',
      kind: 'ReleaseConfig',
      metadata: { name: release },
      spec: { outputConfig: { kafka_bootstrap: release + '-kafka:9092' } },
    },
  }
"""

KAFKA_METAINFO = """\
friendlyName: Kafka
dependencies:
  - name: zookeeper
    type: single
    chartName: zookeeper
    minVersion: "{min_version}"
    maxVersion: "{max_version}"
    dependencyOptional: false
    aliasConfigVar: ZOOKEEPER_CLIENT_CONFIG
roles:
  - name: kafka
    baseConfig:
      image: {{mapKey: image}}
      replicas: {{mapkey: kafka.replicas}}
    resources:
      requestsCpu: {{mapkey: kafka.resources.cpu}}
      requestsMemory: {{mapKey: kafka.resources.memory}}
params:
  - {{name: retention_hours, mapkey: kafka.retentionHours}}
"""

KAFKA_VALUES: JsonObject = {
    "image": "registry.invalid/kafka:3.7",
    "kafka": {
        "replicas": 1,
        "retentionHours": 168,
        "extraEnv": [{"name": "KAFKA_LOG_DIRS", "value": "/var/lib/kafka"}],
        "resources": {"cpu": "100m", "memory": "256Mi"},
    },
    "ZOOKEEPER_CLIENT_CONFIG": {"zookeeper_addresses": "", "zookeeper_port": ""},
}


def write_walm_chart(
    root: Path,
    *,
    name: str,
    version: str,
    main: str,
    values: JsonObject,
    metainfo: str | None = None,
) -> Path:
    """A WALM (v2) chart: Chart.yaml, values.yaml, template-jsonnet/<name>-main.jsonnet,
    and transwarp-meta/metainfo.yaml when given."""
    files = {
        "Chart.yaml": f"apiVersion: v1\nname: {name}\nversion: {version}\nappVersion: '6.1'\n",
        "values.yaml": json.dumps(values, indent=1),
        f"template-jsonnet/{name}-main.jsonnet": main,
    }
    if metainfo is not None:
        files["transwarp-meta/metainfo.yaml"] = metainfo
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def write_zookeeper_chart(root: Path, *, version: str = "6.1.0") -> Path:
    values: JsonObject = {"replicas": 3, "port": 2181, "image": "registry.invalid/zk:3.9"}
    return write_walm_chart(
        root, name="zookeeper", version=version, main=ZOOKEEPER_MAIN, values=values
    )


def write_kafka_chart(root: Path, *, min_version: str = "6.0", max_version: str = "6.2") -> Path:
    metainfo = KAFKA_METAINFO.format(min_version=min_version, max_version=max_version)
    return write_walm_chart(
        root,
        name="kafka",
        version="6.1.0",
        main=KAFKA_MAIN,
        values=KAFKA_VALUES,
        metainfo=metainfo,
    )
