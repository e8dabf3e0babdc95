"""What releases may touch: the reconciler's own rules, which a repository can only narrow.

Validation checks namespaces against it now; render and apply enforce it on objects later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path

from reconciler.release_requests import Diagnostic, Release, RepositoryConfig, SourceMap
from reconciler.release_requests.model import API_VERSION
from reconciler.release_requests.schema import Schema, validate_document
from reconciler.release_requests.yaml_source import read_yaml_file
from reconciler.types import JsonObject, ReleaseKey

_GLOB_CHARACTERS = "*?"


@dataclass(frozen=True)
class Policy:
    allowed_namespaces: tuple[str, ...] = ("*",)
    """Namespace names or patterns (`*` any characters, `?` one character)."""
    allow_cluster_scoped: bool = False
    strict_dependencies: bool = False
    """A dependency running another chart than its dependent's metainfo declares, or a
    version outside the declared range, fails the dependent (else it is a warning)."""
    strict_secrets: bool = False
    """A value decrypted from a SOPS file that lands outside a Secret's data fails its
    release (else it is a warning)."""

    def allows_namespace(self, namespace: str) -> bool:
        return any(fnmatchcase(namespace, pattern) for pattern in self.allowed_namespaces)


class PolicyConfigError(Exception):
    """The reconciler's configuration (file or flags) is invalid; `diagnostics` say where."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        super().__init__("; ".join(item.render() for item in diagnostics))
        self.diagnostics = tuple(diagnostics)


def load_policy(
    config_file: Path | None = None,
    *,
    allowed_namespaces: Sequence[str] = (),
    allow_cluster_scoped: bool | None = None,
    strict_dependencies: bool | None = None,
    strict_secrets: bool | None = None,
) -> Policy:
    """The reconciler's policy: built-in defaults < `config_file` < the flags given here."""
    settings: JsonObject = {}
    if config_file is not None:
        read = read_yaml_file(config_file, display_name=str(config_file))
        if read.document is None or read.problems:
            raise PolicyConfigError(read.problems)
        settings = read.document.data
        _check(settings, read.document.source)
    flags: JsonObject = {"apiVersion": API_VERSION, "kind": "ReconcilerConfig"}
    if allowed_namespaces:
        flags["allowedNamespaces"] = list(allowed_namespaces)
    if allow_cluster_scoped is not None:
        flags["allowClusterScoped"] = allow_cluster_scoped
    if strict_dependencies is not None:
        flags["strictDependencies"] = strict_dependencies
    if strict_secrets is not None:
        flags["strictSecrets"] = strict_secrets
    _check(flags, SourceMap("command line", {}))
    settings = {**settings, **flags}
    namespaces = settings.get("allowedNamespaces")
    return Policy(
        allowed_namespaces=(
            tuple(str(item) for item in namespaces)
            if isinstance(namespaces, list)
            else Policy.allowed_namespaces
        ),
        allow_cluster_scoped=settings.get("allowClusterScoped") is True,
        strict_dependencies=settings.get("strictDependencies") is True,
        strict_secrets=settings.get("strictSecrets") is True,
    )


def _check(document: JsonObject, source: SourceMap) -> None:
    problems = validate_document(document, source, Schema.RECONCILER_CONFIG)
    if problems:
        raise PolicyConfigError(problems)


def _has_glob(pattern: str) -> bool:
    return any(character in pattern for character in _GLOB_CHARACTERS)


def _within(narrow: str, wide: str) -> bool:
    """Whether every namespace `narrow` matches, `wide` matches too (False when unsure)."""
    if wide == "*" or narrow == wide:
        return True
    if not _has_glob(narrow):
        return fnmatchcase(narrow, wide)
    prefix = wide.removesuffix("*")
    literal = narrow[: next(i for i, character in enumerate(narrow) if character in "*?")]
    return wide.endswith("*") and not _has_glob(prefix) and literal.startswith(prefix)


def effective_policy(
    policy: Policy, repository: RepositoryConfig | None
) -> tuple[Policy, tuple[Diagnostic, ...]]:
    """The reconciler's policy narrowed by the repository's; attempts to widen are errors."""
    if repository is None:
        return policy, ()
    source = repository.source or SourceMap("harmonia.yaml", {})
    problems: list[Diagnostic] = []
    namespaces = policy.allowed_namespaces
    if repository.allowed_namespaces is not None:
        namespaces = tuple(
            pattern
            for pattern in repository.allowed_namespaces
            if any(_within(pattern, allowed) for allowed in policy.allowed_namespaces)
        )
        problems.extend(
            source.diagnostic(
                ("allowedNamespaces", index),
                f"'{pattern}' is outside the reconciler's allowed namespaces "
                f"({', '.join(policy.allowed_namespaces)})",
                "harmonia.yaml can only narrow the reconciler's policy; "
                "ask its operator to allow this namespace (--allowed-namespace)",
            )
            for index, pattern in enumerate(repository.allowed_namespaces)
            if pattern not in namespaces
        )
    allow_cluster_scoped = policy.allow_cluster_scoped
    if repository.allow_cluster_scoped is not None:
        if repository.allow_cluster_scoped and not policy.allow_cluster_scoped:
            problems.append(
                source.diagnostic(
                    ("allowClusterScoped",),
                    "allowClusterScoped: true would widen the reconciler's policy, "
                    "which forbids cluster-scoped objects",
                    "remove it, or ask the operator to run with --allow-cluster-scoped",
                )
            )
        allow_cluster_scoped = allow_cluster_scoped and repository.allow_cluster_scoped
    narrowed = replace(
        policy,
        allowed_namespaces=namespaces,
        allow_cluster_scoped=allow_cluster_scoped,
        strict_secrets=policy.strict_secrets or repository.strict_secrets,
    )
    return narrowed, tuple(problems)


def namespace_problems(
    policy: Policy, releases: Mapping[ReleaseKey, Release]
) -> tuple[Diagnostic, ...]:
    """One error per release whose namespace the policy does not allow."""
    allowed = ", ".join(policy.allowed_namespaces) or "none"
    return tuple(
        replace(
            release.source.diagnostic(
                ("namespace",),
                f"namespace '{release.namespace}' is not allowed (allowed: {allowed})",
                "use an allowed namespace; the reconciler's --allowed-namespace and "
                "harmonia.yaml's allowedNamespaces decide",
            ),
            release=key,
        )
        for key, release in releases.items()
        if not policy.allows_namespace(release.namespace)
    )
