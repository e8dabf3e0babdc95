"""Rendering: a release request plus its dependencies' outputs become the exact
objects to apply (Helm, Jsonnet, plain and Kustomize charts; values; plugins;
outputs; ownership). Sits between the dependency graph and the diff.
"""
