"""Status: what each release looks like now, read from the cluster (and, later, the
report files committed to Git). Sits after apply, read by the CLI and the API."""
