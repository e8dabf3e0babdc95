"""Harmonia: keeps Kubernetes application releases in step with a Git repository."""

__version__ = "0.1.0"
