"""Telling people what happened to their releases: alerts to chat and webhooks, commit
statuses on the forge. The loop hands state changes in; sinks turn each into requests
(pure); one dispatcher sends them, off the pass's path, rate-limited and retried.
"""
