"""The two ways the forge side fails: a configuration it cannot use, and a request the
forge did not take. Messages name the forge and the setting or HTTP status, never a token.
"""

from __future__ import annotations


class ForgeConfigError(ValueError):
    """The forge cannot be used as configured (no repository, no API URL, no token); the
    message names the setting."""


class ForgeError(Exception):
    """A forge request failed: not reached, or answered with an error."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        """The HTTP status the forge answered; None when it was not reached."""
