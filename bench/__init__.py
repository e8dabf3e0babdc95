"""The benchmark: Harmonia against kubectl, Helm and a minimal server-side-apply client.

Not part of the product: it generates a synthetic release repository, starts its own
dev cluster, runs every scenario and writes the figures under `bench/results/`
(`python -m bench.run`; docs/benchmarks.md).
"""
