"""Valid files of every kind the release-requests package reads, and a helper writing a
repository."""

from __future__ import annotations

from pathlib import Path

REPOSITORY = """\
apiVersion: harmonia.dev/v1alpha1
kind: Repository
releasesDir: releases
chartRepositories: {stable: https://charts.example/stable}
kubeVersion: v1.36.3
apiVersions: [monitoring.coreos.com/v1]
defaults: {timeoutSec: 120, prune: false}
statusBranch: harmonia-status
libraryDirs: [lib]
"""

# The agreed format, every field set.
FULL_RELEASE = """\
# yaml-language-server: $schema=../../../schemas/release.schema.json
apiVersion: harmonia.dev/v1alpha1
kind: Release
name: kafka
namespace: streaming
description: Kafka brokers
chartPath: charts/kafka
configValues:
  replicas: 3
  zookeeper: {chroot: /kafka}
valuesFiles: [values/kafka.yaml]
metaInfoParams:
  params: [{name: x, value: 42}]
  roles:
    - name: kafka
      baseConfig:
        replicas: 3
        image: "kafka:3.7"
        env: [{name: A, value: b}]
        others: [{name: o, value: {deep: true}}]
      resources:
        requestsCpu: 0.5
        limitsCpu: 1
        requestsMemory: 512
        limitsMemory: 1024
        requestsGpu: 0
        limitsGpu: 0
        storageResources:
          - {name: data, storageClass: standard, size: "10Gi", accessModes: [ReadWriteOnce]}
dependencies:
  zookeeper: zookeeper
  registry: infra/registry
releaseLabels: {team: data}
plugins:
  - {name: LabelPod, args: {labelsToAdd: {a: b}}, version: "1.0", disable: false, priority: 1}
  - {name: Legacy, args: '{"x": 1}', version: "1.0"}
paused: false
restartedAt: "2026-11-23T10:00:00Z"
prune: true
deletePvcs: false
timeoutSec: 300
ignoreDifferences: [{group: apps, kind: Deployment, name: web, jsonPointers: [/spec/replicas]}]
force: false
adopt: false
selfHeal: true
"""

# The same release as a bare WALM body (ReleaseRequestV2 plus namespace), with a chart
# from a repository since WALM had no chart paths.
WALM_BODY = """\
name: zookeeper
namespace: streaming
repoName: stable
chartName: zookeeper
chartVersion: 6.1.0
chartImage: ""
configValues: {appConfig: {zookeeper: {replicas: 3}}}
dependencies: {}
releaseLabels: {team: data}
plugins: [{name: LabelPod, args: '{"labelsToAdd": {"a": "b"}}', version: "1.0", disable: false}]
metaInfoParams:
  params: [{name: x, type: int, value: "42"}, {name: y, value: ""}]
  roles:
    - name: zookeeper
      baseConfig:
        image: zookeeper:3.9
        priority: 0
        replicas: 3
        env: [{name: A, value: b}]
        envMap: null
        useHostNetwork: false
        others: [{name: o, type: json, value: '{"deep": true}'}]
      resources:
        limitsMemory: 1024
        limitsCpu: 1
        limitsGpu: null
        requestsMemory: 512
        requestsCpu: 0.5
        requestsGpu: 0
        storageResources:
          - name: data
            value: {accessModes: [ReadWriteOnce], storageClass: standard, size: 10}
  customParams: null
isomateConfig: null
"""

# The Harmonia equivalent of WALM_BODY.
WALM_EQUIVALENT = """\
apiVersion: harmonia.dev/v1alpha1
kind: Release
name: zookeeper
namespace: streaming
repoName: stable
chartName: zookeeper
chartVersion: 6.1.0
configValues: {appConfig: {zookeeper: {replicas: 3}}}
releaseLabels: {team: data}
plugins: [{name: LabelPod, args: {labelsToAdd: {a: b}}, version: "1.0"}]
metaInfoParams:
  params: [{name: x, type: int, value: 42}, {name: y}]
  roles:
    - name: zookeeper
      baseConfig:
        image: zookeeper:3.9
        priority: 0
        replicas: 3
        env: [{name: A, value: b}]
        useHostNetwork: false
        others: [{name: o, type: json, value: {deep: true}}]
      resources:
        limitsMemory: 1024
        limitsCpu: 1
        requestsMemory: 512
        requestsCpu: 0.5
        requestsGpu: 0
        storageResources:
          - {name: data, accessModes: [ReadWriteOnce], storageClass: standard, size: 10Gi}
"""


def release(name: str, namespace: str = "apps", **extra: str) -> str:
    """A minimal valid release file; `extra` adds top-level lines (`field: yaml`)."""
    lines = [
        "apiVersion: harmonia.dev/v1alpha1",
        "kind: Release",
        f"name: {name}",
        f"namespace: {namespace}",
        "chartPath: charts/web",
        *(f"{field}: {value}" for field, value in extra.items()),
    ]
    return "\n".join(lines) + "\n"


def write_repository(
    root: Path, files: dict[str, str | bytes], *, config: str = REPOSITORY
) -> Path:
    """A repository with charts/web, charts/kafka, lib/ and values/kafka.yaml, plus `files`."""
    for folder in ("charts/web", "charts/kafka", "lib", "releases"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "values").mkdir(exist_ok=True)
    (root / "values/kafka.yaml").write_text("replicas: 3\n")
    (root / "harmonia.yaml").write_text(config)
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root
