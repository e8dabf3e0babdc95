"""Turning a command's flags into the desired state: tools, versions, cluster or not.

A cluster named explicitly (--kubeconfig, --context) that does not answer is an
error (exit 3); the default kubeconfig not answering only means rendering uses
`harmonia.yaml`'s versions, which the command says on stderr.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import click

from reconciler.cli.options import RenderInputs, environment_usage
from reconciler.desired import DesiredState, Tools, compute_desired_state
from reconciler.kube.connection import ClusterCapabilities, KubeTarget, probe
from reconciler.kube.errors import ClusterUnreachable
from reconciler.locations import cache_home
from reconciler.policy import Policy
from reconciler.release_requests.model import RepositoryConfig
from reconciler.render.environment import ToolNotFound, VersionChoice, choose_versions, find_tool
from reconciler.render.helm.renderer import find_renderer
from reconciler.render.model import RenderError
from reconciler.render.pipeline import ExternalOutputs
from reconciler.render.secrets.sops_decryption import SopsSettings
from reconciler.sops import DEFAULT_KEY_TYPES
from reconciler.types import ReleaseKey

EXIT_UNREACHABLE = 3


def _explicit(target: KubeTarget) -> bool:
    return target.context is not None or (
        target.kubeconfig is not None and str(target.kubeconfig) != os.environ.get("KUBECONFIG")
    )


def cluster_capabilities(target: KubeTarget) -> ClusterCapabilities | None:
    try:
        return probe(target)
    except ClusterUnreachable as error:
        if _explicit(target):
            click.echo(f"error: {error}", err=True)
            raise click.exceptions.Exit(EXIT_UNREACHABLE) from None
        click.echo(
            f"note: no cluster reachable ({error}); using harmonia.yaml's versions", err=True
        )
        return None


CACHE_SECRETS_VARIABLE = "HARMONIA_RENDER_CACHE_SECRETS"
"""Set to 1 to let the render cache keep renders holding Secrets on disk (docs/run.md)."""


def render_tools(inputs: RenderInputs) -> Tools:
    """The tools rendering runs. helm is looked for, not required: a release of plain
    manifests renders without it, and one that needs it fails saying so. A `--helm` that
    does not exist is an error at once."""
    try:
        helm: Path | None = find_tool("helm", explicit=inputs.helm)
    except ToolNotFound as error:
        if inputs.helm is not None:
            raise click.ClickException(str(error)) from None
        helm = None
    kubectl = os.environ.get("HARMONIA_KUBECTL") or shutil.which("kubectl")
    sops = _sops_settings(inputs) if inputs.decrypt else None
    return Tools(
        helm=helm,
        kubectl=Path(kubectl) if kubectl else None,
        cache_dir=cache_home(),
        library_dirs=inputs.jsonnet_libraries,
        plain_http_registries=inputs.plain_http_registries,
        cache_secrets=os.environ.get(CACHE_SECRETS_VARIABLE, "") in ("1", "true"),
        sops=sops,
        renderer=find_renderer(),
    )


def _sops_settings(inputs: RenderInputs) -> SopsSettings:
    """How to decrypt SOPS files. sops is looked for, not required: only releases reading
    SOPS files fail without it."""
    try:
        binary: Path | None = find_tool("sops", explicit=inputs.sops)
    except ToolNotFound:
        binary = None
    return SopsSettings(
        binary=binary,
        age_key_file=inputs.sops_age_key_file,
        key_types=DEFAULT_KEY_TYPES | set(inputs.sops_allowed_key_types),
    )


def desired_state(
    path: Path,
    *,
    policy: Policy,
    target: KubeTarget,
    inputs: RenderInputs,
    environment: str | None = None,
    only: frozenset[ReleaseKey] | None = None,
    dependents: bool = False,
    external_outputs: ExternalOutputs = lambda _key: None,
) -> DesiredState:
    tools = render_tools(inputs)

    def versions_for(repository: RepositoryConfig | None) -> VersionChoice:
        cluster = None if inputs.offline else cluster_capabilities(target)
        versions = choose_versions(repository, cluster=cluster)
        if versions.origin == "default":
            click.echo(
                f"warning: no cluster and no kubeVersion in harmonia.yaml; "
                f"rendering for Kubernetes {versions.kube_version}",
                err=True,
            )
        return versions

    try:
        with environment_usage():
            state = compute_desired_state(
                path,
                policy=policy,
                versions_for=versions_for,
                tools=tools,
                environment=environment,
                only=only,
                dependents=dependents,
                external_outputs=external_outputs,
            )
    except RenderError as error:
        raise click.ClickException(str(error)) from None
    for key, rendered in sorted(state.render.rendered.items()):
        for warning in rendered.warnings:
            click.echo(f"warning: release {key}: {warning}", err=True)
    return state
