"""Options and helpers shared by the `harmonia` subcommands.

Each option group turns its flags into one value for the command: the policy,
the cluster target (kubeconfig and context, as kubectl takes them), and the
render inputs (tools, libraries, registries).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, TypeVar

import click

from reconciler.kube.connection import KubeTarget
from reconciler.policy import Policy, PolicyConfigError, load_policy
from reconciler.release_requests import Diagnostic, EnvironmentChoiceError
from reconciler.sops import OPT_IN_KEY_TYPES

_Command = TypeVar("_Command", bound=Callable[..., Any])

repository_argument = click.argument(
    "path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path)
)

ENVIRONMENT_VARIABLE = "HARMONIA_ENVIRONMENT"

environment_option = click.option(
    "--environment",
    "environment",
    envvar=ENVIRONMENT_VARIABLE,
    metavar="NAME",
    help="The environment of harmonia.yaml's environments to work on: its overlays and "
    f"settings (docs/environments.md; default ${ENVIRONMENT_VARIABLE}).",
)
"""Passes `environment: str | None`; needed when harmonia.yaml declares environments."""


@contextmanager
def environment_usage() -> Iterator[None]:
    """An environment not declared, or none chosen where one must be: a usage error (2)."""
    try:
        yield
    except EnvironmentChoiceError as error:
        raise click.UsageError(str(error)) from None


def grouped(
    options: list[Callable[[Any], Any]], combine: Callable[[dict[str, Any]], tuple[str, object]]
) -> Callable[[_Command], _Command]:
    """Apply click `options`, then hand the command one value built from their parameters."""

    def decorator(command: _Command) -> _Command:
        names: list[str] = []

        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key, value = combine({name: kwargs.pop(name) for name in names})
            kwargs[key] = value
            return command(*args, **kwargs)

        wrapper.__dict__["__click_params__"] = []
        decorated: Any = wrapper
        for option in reversed(options):
            decorated = option(decorated)
        added = decorated.__click_params__
        names.extend(param.name for param in added)
        decorated.__click_params__ = [*getattr(command, "__click_params__", []), *added]
        return decorated  # type: ignore[no-any-return]

    return decorator


def reconciler_policy(
    config_file: Path | None,
    allowed_namespaces: tuple[str, ...],
    allow_cluster_scoped: bool,
    strict_dependencies: bool,
    strict_secrets: bool = False,
) -> Policy:
    try:
        return load_policy(
            config_file,
            allowed_namespaces=allowed_namespaces,
            allow_cluster_scoped=True if allow_cluster_scoped else None,
            strict_dependencies=True if strict_dependencies else None,
            strict_secrets=True if strict_secrets else None,
        )
    except PolicyConfigError as error:
        for diagnostic in error.diagnostics:
            click.echo(diagnostic.render(), err=True)
        raise click.exceptions.Exit(2) from None


policy_options = grouped(
    [
        click.option(
            "--config",
            "config_file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="The reconciler's config file (kind: ReconcilerConfig).",
        ),
        click.option(
            "--allowed-namespace",
            "allowed_namespaces",
            multiple=True,
            metavar="NS",
            help="A namespace (or pattern such as team-*) releases may target; repeatable.",
        ),
        click.option(
            "--allow-cluster-scoped",
            is_flag=True,
            help="Let releases create cluster-scoped objects.",
        ),
        click.option(
            "--strict-dependencies",
            is_flag=True,
            help="Fail a release whose dependency runs another chart or version than its "
            "chart's metainfo declares (default: a warning).",
        ),
        click.option(
            "--strict-secrets",
            is_flag=True,
            help="Fail a release when a value decrypted from a SOPS file lands outside a "
            "Secret's data, in a ConfigMap, an env value or an annotation (default: a warning).",
        ),
    ],
    lambda taken: ("policy", reconciler_policy(**taken)),
)
"""The reconciler's own policy (what releases may touch): passes `policy: Policy`."""

cluster_options = grouped(
    [
        click.option(
            "--kubeconfig",
            type=click.Path(dir_okay=False, path_type=Path),
            envvar="KUBECONFIG",
            help="Path to the kubeconfig file (default $KUBECONFIG, then ~/.kube/config).",
        ),
        click.option("--context", help="The kubeconfig context to use."),
    ],
    lambda taken: ("target", KubeTarget(kubeconfig=taken["kubeconfig"], context=taken["context"])),
)
"""Which cluster, as kubectl picks it: passes `target: KubeTarget`."""


@dataclass(frozen=True)
class RenderInputs:
    offline: bool
    helm: Path | None
    jsonnet_libraries: tuple[Path, ...]
    plain_http_registries: tuple[str, ...]
    sops: Path | None = None
    sops_age_key_file: Path | None = None
    sops_allowed_key_types: tuple[str, ...] = ()
    decrypt: bool = False
    """Whether SOPS values are decrypted: set by the commands that reach the cluster
    (apply, run, diff against it); the others render placeholders and need no key."""


render_options = grouped(
    [
        click.option(
            "--offline",
            is_flag=True,
            help="Do not contact a cluster; render for harmonia.yaml's kubeVersion/apiVersions.",
        ),
        click.option(
            "--helm",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="The helm binary (default $HARMONIA_HELM, then helm on PATH).",
        ),
        click.option(
            "--jsonnet-lib",
            "jsonnet_libraries",
            multiple=True,
            type=click.Path(exists=True, file_okay=False, path_type=Path),
            help="A Jsonnet library folder (e.g. a vendored ksonnet-lib); repeatable.",
        ),
        click.option(
            "--plain-http-registry",
            "plain_http_registries",
            multiple=True,
            metavar="HOST:PORT",
            help="An OCI registry that may be used over plain HTTP; repeatable.",
        ),
        click.option(
            "--sops",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="The sops binary (default $HARMONIA_SOPS, then sops on PATH).",
        ),
        click.option(
            "--sops-age-key-file",
            # Need not exist: deploy/ mounts it from an optional Secret, and a missing file
            # fails only the releases whose SOPS files it was to decrypt, saying so.
            type=click.Path(dir_okay=False, path_type=Path),
            envvar="SOPS_AGE_KEY_FILE",
            help="age identities that decrypt SOPS files (default $SOPS_AGE_KEY_FILE); "
            "used by apply, run and diff against the cluster only.",
        ),
        click.option(
            "--sops-allow-key-type",
            "sops_allowed_key_types",
            multiple=True,
            type=click.Choice(sorted(OPT_IN_KEY_TYPES)),
            help="Let sops also use this key type of a SOPS file (they name any URL, so "
            "they are off by default); repeatable.",
        ),
    ],
    lambda taken: ("inputs", RenderInputs(**taken)),
)
"""How to render: passes `inputs: RenderInputs`."""


def shown(root: Path, diagnostic: Diagnostic) -> str:
    """A repository problem as one line, its file named as seen from the working folder."""
    return diagnostic.render(file=str(PurePath(root) / diagnostic.file))
