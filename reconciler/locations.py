"""Where Harmonia keeps files between runs: one cache folder for Git remotes,
charts and renders. A bottom-layer helper any stage may use.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_home() -> Path:
    """`$HARMONIA_CACHE_DIR`, else `$XDG_CACHE_HOME/harmonia` (~/.cache/harmonia)."""
    explicit = os.environ.get("HARMONIA_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "harmonia"
