"""Rendered manifests: the engines for charts that take no values, and what every engine's
output goes through.

`engines` renders plain-manifest and Kustomize charts (after `kustomization` checked what
kustomize may read); `parse` reads YAML streams as Kubernetes does; `flatten` expands
Lists and checks names; `api_versions` converts versions the cluster no longer serves.
"""
