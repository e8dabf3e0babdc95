"""Applying a rendered release: staged server-side apply, hooks, inventory, prune,
pause / resume / restart, waiting for health. The write half of a pass."""
