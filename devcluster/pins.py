"""The pinned upstream versions the dev cluster is built from.

Changing a pin here is the only way to change what `harmonia dev-cluster` runs;
the build cache is keyed by these values, so a changed pin rebuilds exactly the
component it names.
"""

from __future__ import annotations

from dataclasses import dataclass

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"
HELM_VERSION = "v4.3.1"
SOPS_VERSION = "v3.13.3"
# age-keygen makes the age identities of the tests and of docs/secrets.md's walk-through.
AGE_VERSION = "v1.3.2"
# A real forge for the commit-status and pull-request-comment tests (tests/forge/).
GITEA_VERSION = "v1.27.3"

# Written into every binary so `/version`, `kubectl version` and Helm's
# `.Capabilities` report the release instead of v0.0.0.
BUILD_DATE = "2026-01-01T00:00:00Z"


@dataclass(frozen=True)
class Component:
    """One Go module whose commands are built into the dev cluster's bin folder.

    `wrapper` components are built inside a generated module that requires the
    upstream one (needed where upstream uses `replace` directives, which `go
    install pkg@version` refuses); `in_source` ones inside a copy of the upstream
    module itself, where its `replace` directives hold as upstream builds it; the
    others are built with `go install`; `source` ones from this repository.
    """

    name: str
    module: str
    version: str
    packages: tuple[str, ...]
    ldflags: tuple[str, ...] = ()
    wrapper: bool = False
    in_source: bool = False
    source: str = ""
    """A folder of this repository holding the module (the renderer): built there, and
    cached by a hash of its files as well as by the pinned version it requires."""


def _kubernetes_ldflags(version: str) -> tuple[str, ...]:
    major, minor = version.lstrip("v").split(".")[:2]
    flags: list[str] = []
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={version}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
            f"-X {package}.buildDate={BUILD_DATE}",
        ]
    return tuple(flags)


COMPONENTS: tuple[Component, ...] = (
    Component(
        name="etcd",
        module="go.etcd.io/etcd/server/v3",
        version=ETCD_VERSION,
        packages=("go.etcd.io/etcd/server/v3",),
        wrapper=True,
    ),
    Component(
        name="kubernetes",
        module="k8s.io/kubernetes",
        version=KUBERNETES_VERSION,
        packages=(
            "k8s.io/kubernetes/cmd/kube-apiserver",
            "k8s.io/kubernetes/cmd/kube-controller-manager",
            "k8s.io/kubernetes/cmd/kube-scheduler",
            "k8s.io/kubernetes/cmd/kubectl",
        ),
        ldflags=_kubernetes_ldflags(KUBERNETES_VERSION),
        wrapper=True,
    ),
    Component(
        name="kwok",
        module="sigs.k8s.io/kwok",
        version=KWOK_VERSION,
        packages=("sigs.k8s.io/kwok/cmd/kwok",),
        ldflags=(f"-X sigs.k8s.io/kwok/pkg/consts.Version={KWOK_VERSION.lstrip('v')}",),
    ),
    Component(
        name="helm",
        module="helm.sh/helm/v4",
        version=HELM_VERSION,
        packages=("helm.sh/helm/v4/cmd/helm",),
        ldflags=(f"-X helm.sh/helm/v4/internal/version.version={HELM_VERSION}",),
    ),
    Component(
        name="renderer",
        module="harmonia.dev/renderer",
        version=HELM_VERSION,
        packages=("harmonia.dev/renderer",),
        # The helm binary's own flag: `.Capabilities.HelmVersion` renders the same.
        ldflags=(f"-X helm.sh/helm/v4/internal/version.version={HELM_VERSION}",),
        source="renderer",
    ),
    Component(
        name="sops",
        module="github.com/getsops/sops/v3",
        version=SOPS_VERSION,
        packages=("github.com/getsops/sops/v3/cmd/sops",),
        ldflags=(f"-X github.com/getsops/sops/v3/version.Version={SOPS_VERSION.lstrip('v')}",),
    ),
    Component(
        name="age",
        module="filippo.io/age",
        version=AGE_VERSION,
        packages=("filippo.io/age/cmd/age-keygen",),
    ),
)

GITEA = Component(
    name="gitea",
    module="code.gitea.io/gitea",
    version=GITEA_VERSION,
    packages=("code.gitea.io/gitea",),
    ldflags=(f"-X main.Version={GITEA_VERSION.lstrip('v')}",),
    in_source=True,
)
"""Built on demand by the forge tests only (`devcluster.build.ensure_gitea`), not with
the dev cluster: its go.mod replaces module versions, and its web server reads the
module's `options/` (translations) from beside the binary."""

# Binary name -> the component that provides it.
BINARIES: dict[str, str] = {
    "etcd": "etcd",
    "kube-apiserver": "kubernetes",
    "kube-controller-manager": "kubernetes",
    "kube-scheduler": "kubernetes",
    "kubectl": "kubernetes",
    "kwok": "kwok",
    "helm": "helm",
    "harmonia-renderer": "renderer",
    "sops": "sops",
    "age-keygen": "age",
}

# The accessibility checker the web UI's browser tests inject into each page
# (tests/cluster/test_ui_accessibility.py), from the npm registry; the integrity is the
# registry's `dist.integrity` of that version's tarball, checked at each use.
AXE_CORE_VERSION = "4.14.1"
AXE_CORE_INTEGRITY = (
    "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCK"
    "g2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
)
