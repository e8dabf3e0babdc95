"""Why a chart could not be brought to local disk, in the loop's two-way vocabulary.

Resolving a chart is the first step of rendering a release: temporary errors
(a repository or registry that did not answer) are retried with backoff;
permanent ones wait for a new commit. The tree is drawn in the package docstring.
"""

from __future__ import annotations

from typing import ClassVar


class ChartSourceError(Exception):
    """A chart could not be resolved. The message starts with the chart it is about."""

    temporary: ClassVar[bool] = False


class ChartUnavailable(ChartSourceError):
    """The chart repository or registry could not be reached or did not answer in time."""

    temporary = True


class ChartNotFound(ChartSourceError):
    """No such chart, version, repository name or path."""


class ChartIntegrityError(ChartSourceError):
    """The downloaded archive does not match the digest its index promised."""


class UnsafeChart(ChartSourceError):
    """A path, link or archive member reaches outside where the chart may live."""


class InvalidChart(ChartSourceError):
    """The chart is malformed: a bad Chart.yaml, archive or dependency list."""
