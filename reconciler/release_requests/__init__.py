"""Release requests in Git: the model, its JSON Schemas, and loading with file:line errors.

The first stage after the Git snapshot; inside: yaml_source -> schema (walm) -> build -> loader.
"""

from reconciler.release_requests.diagnostics import Diagnostic, Position, Severity, SourceMap
from reconciler.release_requests.environments import (
    EnvironmentChoiceError,
    environment_source,
    of_environment,
    require_environment,
)
from reconciler.release_requests.loader import LoadedRepository, load_repository
from reconciler.release_requests.model import (
    API_VERSION,
    ChartImage,
    ChartPath,
    ChartSource,
    EnvironmentSettings,
    EnvVar,
    IgnoreDifference,
    MetaInfoParams,
    MetaParam,
    Plugin,
    Release,
    ReleaseDefaults,
    RepoChart,
    RepositoryConfig,
    RoleBaseConfig,
    RoleConfig,
    RoleResources,
    SourceFormat,
    StorageResource,
)
from reconciler.release_requests.yaml_source import YamlLimits

__all__ = [
    "API_VERSION",
    "ChartImage",
    "ChartPath",
    "ChartSource",
    "Diagnostic",
    "EnvVar",
    "EnvironmentChoiceError",
    "EnvironmentSettings",
    "IgnoreDifference",
    "LoadedRepository",
    "MetaInfoParams",
    "MetaParam",
    "Plugin",
    "Position",
    "Release",
    "ReleaseDefaults",
    "RepoChart",
    "RepositoryConfig",
    "RoleBaseConfig",
    "RoleConfig",
    "RoleResources",
    "Severity",
    "SourceFormat",
    "SourceMap",
    "StorageResource",
    "YamlLimits",
    "environment_source",
    "load_repository",
    "of_environment",
    "require_environment",
]
