"""Errors the read-only JSON API answers with: a status code and a message for the caller.

Raised by the API's query functions, turned into a JSON error body by the HTTP server.
"""

from __future__ import annotations


class ApiError(Exception):
    """A request the API cannot answer: 400 for a bad query, 404 for an unknown release."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
