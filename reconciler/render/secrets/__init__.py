"""Secrets kept out of what Harmonia prints, records or commits.

`masking` hides the values of Secret objects shown to a human; `redaction` finds the
plaintext a pass puts into Secrets and hides it in texts and outputs.
"""
