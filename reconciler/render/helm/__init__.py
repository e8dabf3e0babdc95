"""The Helm engine: `helm template` run on a resolved chart, and the helm binary's runner.

`engine` renders a chart (after `values_schema` checked its schemas stand alone);
`process` runs helm isolated and cluster-blind for every step that needs it, chart
fetching (`helm pull`, `helm dependency build`) included.
"""
