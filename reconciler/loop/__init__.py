"""The GitOps loop around one pass: schedule, leader lease, backoff, status, metrics, API."""
