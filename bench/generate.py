"""N synthetic releases of one generated Helm chart, committed to a Git repository.

The benchmark's input: a Harmonia repository (harmonia.yaml, releases/, charts/) in a
clone of a bare remote. Each release renders five objects (ServiceAccount, Secret,
ConfigMap, Service, Deployment) and publishes outputs through a ReleaseConfig; one hub
release has up to 50 dependents that consume its outputs, and some releases form
chains. The peers (kubectl, Helm, the floor) get the values Harmonia would compute.

    python -m bench.generate --size 100 --out /tmp/bench-repo
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

NAMESPACE_COUNT = 4
NAMESPACE_PREFIX = "bench-"
HUB_DEPENDENTS = 50
HUB_NAMESPACE = f"{NAMESPACE_PREFIX}0"
HUB_NAME = "hub"
CHART_NAME = "bench-app"
CHART_PATH = f"charts/{CHART_NAME}"
PART_OF_LABEL = "app.kubernetes.io/part-of"
PART_OF = "harmonia-bench"
OBJECTS_PER_RELEASE = 5
CHAIN_STEP = ("8", "9")
"""Releases whose number ends in these digits depend on the release just before them,
so the chains ...7 <- ...8 <- ...9 are three levels deep."""

CHART_FILES: Mapping[str, str] = {
    "Chart.yaml": f"apiVersion: v2\nname: {CHART_NAME}\nversion: 1.0.0\nappVersion: '1.0'\n",
    "values.yaml": """\
replicas: 1
image: registry.invalid/harmonia-bench/app:1.0
port: 8080
password: bench-password
settings: {}
outputs: {}
publishOutputs: true
dependencies: {}
""",
    "templates/_helpers.tpl": """\
{{- define "bench.labels" -}}
app.kubernetes.io/name: bench-app
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: harmonia-bench
{{- end }}
{{- define "bench.metadata" -}}
name: {{ .Release.Name }}
namespace: {{ .Release.Namespace }}
labels:
  {{- include "bench.labels" . | nindent 2 }}
{{- end }}
""",
    "templates/serviceaccount.yaml": """\
apiVersion: v1
kind: ServiceAccount
metadata:
  {{- include "bench.metadata" . | nindent 2 }}
""",
    "templates/secret.yaml": """\
apiVersion: v1
kind: Secret
metadata:
  {{- include "bench.metadata" . | nindent 2 }}
type: Opaque
data:
  password: {{ .Values.password | b64enc }}
""",
    "templates/configmap.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  {{- include "bench.metadata" . | nindent 2 }}
data:
  {{- range $key, $value := .Values.settings }}
  {{ $key }}: {{ $value | quote }}
  {{- end }}
  {{- range $alias, $outputs := .Values.dependencies }}
  {{- range $key, $value := $outputs }}
  {{ printf "%s.%s" $alias $key }}: {{ $value | quote }}
  {{- end }}
  {{- end }}
""",
    "templates/service.yaml": """\
apiVersion: v1
kind: Service
metadata:
  {{- include "bench.metadata" . | nindent 2 }}
spec:
  selector:
    app.kubernetes.io/instance: {{ .Release.Name }}
  ports:
    - name: http
      port: {{ .Values.port }}
      targetPort: {{ .Values.port }}
""",
    "templates/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  {{- include "bench.metadata" . | nindent 2 }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels:
        {{- include "bench.labels" . | nindent 8 }}
      annotations:
        bench.harmonia.dev/settings: {{ .Values.settings | toJson | sha256sum | trunc 16 }}
    spec:
      serviceAccountName: {{ .Release.Name }}
      containers:
        - name: app
          image: {{ .Values.image }}
          ports:
            - containerPort: {{ .Values.port }}
          envFrom:
            - configMapRef:
                name: {{ .Release.Name }}
          {{- with .Values.dependencies }}
          env:
            {{- range $alias, $outputs := . }}
            {{- range $key, $value := $outputs }}
            - name: {{ printf "DEP_%s_%s" $alias $key | upper }}
              value: {{ $value | quote }}
            {{- end }}
            {{- end }}
          {{- end }}
""",
    "templates/releaseconfig.yaml": """\
{{- if .Values.publishOutputs }}
apiVersion: harmonia.dev/v1alpha1
kind: ReleaseConfig
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
spec:
  outputConfig:
    {{- range $key, $value := .Values.outputs }}
    {{ $key }}: {{ $value | quote }}
    {{- end }}
{{- end }}
""",
}

REPOSITORY_FILE = "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"


@dataclass(frozen=True)
class SyntheticRelease:
    namespace: str
    name: str
    settings: Mapping[str, str]
    """Goes into the ConfigMap; the pod template carries its checksum, so a change rolls."""
    outputs: Mapping[str, str]
    """Published for dependents through the chart's ReleaseConfig."""
    dependencies: Mapping[str, str]
    """Alias -> `namespace/name` of the release depended on."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def file(self) -> str:
        return f"releases/{self.namespace}/{self.name}.yaml"

    def release_file(self) -> str:
        body = {
            "apiVersion": "harmonia.dev/v1alpha1",
            "kind": "Release",
            "name": self.name,
            "namespace": self.namespace,
            "chartPath": CHART_PATH,
            "configValues": {"settings": dict(self.settings), "outputs": dict(self.outputs)},
            "dependencies": dict(self.dependencies),
        }
        return json.dumps(body, indent=2) + "\n"


@dataclass(frozen=True)
class SyntheticRepository:
    releases: tuple[SyntheticRelease, ...]

    @property
    def namespaces(self) -> tuple[str, ...]:
        return tuple(sorted({release.namespace for release in self.releases}))

    @property
    def hub(self) -> SyntheticRelease:
        return self.releases[0]

    def release(self, key: str) -> SyntheticRelease:
        return next(release for release in self.releases if release.key == key)

    def dependents_of(self, key: str) -> tuple[SyntheticRelease, ...]:
        return tuple(r for r in self.releases if key in r.dependencies.values())

    def peer_values(self, release: SyntheticRelease) -> dict[str, object]:
        """The values Harmonia renders `release` with (its dependencies' outputs under
        `dependencies.<alias>`), minus the ReleaseConfig, which only Harmonia reads."""
        return {
            "settings": dict(release.settings),
            "outputs": dict(release.outputs),
            "publishOutputs": False,
            "dependencies": {
                alias: dict(self.release(target).outputs)
                for alias, target in sorted(release.dependencies.items())
            },
        }

    def files(self) -> dict[str, str]:
        """Every file of the repository, by path relative to its root."""
        files = {"harmonia.yaml": REPOSITORY_FILE}
        files.update({f"{CHART_PATH}/{path}": text for path, text in CHART_FILES.items()})
        files.update({release.file: release.release_file() for release in self.releases})
        return files


def _outputs(namespace: str, name: str, generation: int) -> dict[str, str]:
    return {"endpoint": f"{name}.{namespace}.svc:8080", "generation": str(generation)}


def synthetic_repository(size: int) -> SyntheticRepository:
    """`size` releases over a few namespaces: the hub first, then up to 50 releases that
    depend on it, then the rest, where numbers ending in 8 or 9 chain on the one before."""
    if size < 1:
        raise ValueError("a benchmark needs at least one release")
    releases = [
        SyntheticRelease(
            HUB_NAMESPACE, HUB_NAME, {"revision": "1"}, _outputs(HUB_NAMESPACE, HUB_NAME, 1), {}
        )
    ]
    for number in range(1, size):
        namespace = f"{NAMESPACE_PREFIX}{number % NAMESPACE_COUNT}"
        name = f"app-{number:04d}"
        dependencies: dict[str, str] = {}
        if number <= HUB_DEPENDENTS:
            dependencies["hub"] = f"{HUB_NAMESPACE}/{HUB_NAME}"
        elif str(number)[-1] in CHAIN_STEP:
            dependencies["upstream"] = releases[number - 1].key
        releases.append(
            SyntheticRelease(
                namespace, name, {"revision": "1"}, _outputs(namespace, name, 1), dependencies
            )
        )
    return SyntheticRepository(tuple(releases))


def with_settings_changed(
    repository: SyntheticRepository, key: str, revision: str
) -> SyntheticRepository:
    """One release's ConfigMap setting changed (its Deployment rolls)."""
    return SyntheticRepository(
        tuple(
            dataclasses.replace(r, settings={**r.settings, "revision": revision})
            if r.key == key
            else r
            for r in repository.releases
        )
    )


def with_hub_outputs_changed(
    repository: SyntheticRepository, generation: int
) -> SyntheticRepository:
    """The hub publishes a new output value: every dependent is re-rendered and rolls."""
    hub = repository.hub
    changed = dataclasses.replace(hub, outputs=_outputs(hub.namespace, hub.name, generation))
    return SyntheticRepository((changed, *repository.releases[1:]))


@dataclass(frozen=True)
class GitRepository:
    """A working clone and its bare remote; every change is a commit pushed to the remote."""

    remote: Path
    work: Path

    @classmethod
    def create(cls, folder: Path) -> GitRepository:
        remote, work = folder / "remote.git", folder / "repo"
        folder.mkdir(parents=True, exist_ok=True)
        _git(folder, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
        _git(folder, "clone", "--quiet", str(remote), str(work))
        repository = cls(remote=remote, work=work)
        repository.git("config", "user.name", "Harmonia Benchmark")
        repository.git("config", "user.email", "bench@harmonia.invalid")
        repository.git("checkout", "--quiet", "-b", "main")
        return repository

    def git(self, *args: str) -> str:
        return _git(self.work, *args)

    def commit(self, repository: SyntheticRepository, message: str) -> str:
        """Write every file of `repository` (only changed ones differ), commit, push."""
        for relative, text in repository.files().items():
            path = self.work / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.is_file() or path.read_text() != text:
                path.write_text(text)
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        self.git("push", "--quiet", "origin", "HEAD:main")
        return self.git("rev-parse", "HEAD")


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=folder, capture_output=True, text=True, check=True
    ).stdout.strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, required=True, help="How many releases.")
    parser.add_argument("--out", type=Path, required=True, help="A new folder for the repository.")
    arguments = parser.parse_args(argv)
    if arguments.out.exists():
        parser.error(f"{arguments.out} exists; name a new folder")
    git = GitRepository.create(arguments.out)
    revision = git.commit(synthetic_repository(arguments.size), f"{arguments.size} releases")
    print(f"{git.work} ({arguments.size} releases, revision {revision[:12]}; remote {git.remote})")


if __name__ == "__main__":
    main()
