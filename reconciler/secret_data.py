"""A Secret's `data` value read as the API server reads it: base64, line breaks skipped.

The bottom layer, beside `reconciler.types`: the kube client (redacting the API server's
messages) and the render (the pass's Secret values) both need the plaintext a `data`
value stands for, and must agree on it. Pure.
"""

from __future__ import annotations

import base64
import binascii


def decoded_data(text: str) -> str | None:
    """The text `text` encodes (Go's decoder skips line breaks, so base64 pasted as
    `base64` prints it, wrapped at 76 columns, is stored decoded); None when it is not
    base64 of UTF-8 text, or encodes nothing."""
    try:
        unwrapped = text.replace("\r", "").replace("\n", "")
        decoded = base64.b64decode(unwrapped, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded or None
