"""Rendering: a release request plus its dependencies' outputs become the exact objects to
apply. Sits between the dependency graph and the diff.

The rooms in pipeline order: `pipeline` renders a repository's releases in dependency
order, `release` one release in three steps (prepare, run the engine, finish);
`charts/` brings its chart to local disk and `chart_description` says what kind it is;
`values/` merges its values (and takes its outputs out afterwards); the engines are
`helm/`, `jsonnet/` and `manifests/` (plain and Kustomize); `plugins/` and `ownership`
finish the objects; `secrets/` keeps Secret values out of what is shown. `model` holds
the plain data, `environment` the versions and tools, `cache` the engines' outputs.
"""
