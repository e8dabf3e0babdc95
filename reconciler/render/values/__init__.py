"""A release's values and outputs: what goes into a chart, and what comes out for dependents.

`metainfo` reads WALM's chart metainfo, `dependency_check` checks a release's
dependencies against it, `merge` merges every values source in precedence, and
`outputs` takes the outputs out of the rendered objects.
"""
