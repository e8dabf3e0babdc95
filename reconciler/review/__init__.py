"""Reviewing a change to the repository before it is applied: `harmonia diff --base --head`.

Sits above the desired state and the diff stage, beside apply: `revisions` compares
two rendered revisions (no cluster), `model` holds the result, `renderers` turns it into
a pull-request comment, text or JSON; `environments` and `environment_renderers` do the
same per environment of `harmonia.yaml`. Pure: the CLI checks the revisions out and prints.
"""

from reconciler.review.environment_renderers import (
    render_environments_json,
    render_environments_markdown,
    render_environments_text,
)
from reconciler.review.environments import EnvironmentReviews, SharedChange
from reconciler.review.model import (
    DependencyChange,
    ReleaseChange,
    ReleaseReview,
    ResourceDelta,
    Review,
    RevisionName,
)
from reconciler.review.renderers import render_json, render_markdown, render_text
from reconciler.review.revisions import compare_revisions

__all__ = [
    "DependencyChange",
    "EnvironmentReviews",
    "ReleaseChange",
    "ReleaseReview",
    "ResourceDelta",
    "Review",
    "RevisionName",
    "SharedChange",
    "compare_revisions",
    "render_environments_json",
    "render_environments_markdown",
    "render_environments_text",
    "render_json",
    "render_markdown",
    "render_text",
]
