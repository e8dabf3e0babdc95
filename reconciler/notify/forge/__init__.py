"""The forge side of notifications: the commit status of a release on the applied commit
(a pure sink, `status.py`) and the pull-request comment of `harmonia diff` (`comments.py`,
the one synchronous client), for GitHub, GitLab and Gitea/Forgejo.
"""

from reconciler.notify.forge.errors import ForgeConfigError, ForgeError
from reconciler.notify.forge.model import Forge, ForgeKind, ForgeSettings, load_forge
from reconciler.notify.forge.repository import repository_from_remote
from reconciler.notify.forge.status import commit_status_sink

__all__ = [
    "Forge",
    "ForgeConfigError",
    "ForgeError",
    "ForgeKind",
    "ForgeSettings",
    "commit_status_sink",
    "load_forge",
    "repository_from_remote",
]
