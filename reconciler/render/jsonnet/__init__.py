"""The Jsonnet engines: plain Jsonnet charts and WALM's `template-jsonnet/` layout.

`engine` holds the plain layout and the evaluation core, `walm` builds WALM's layout on
it, `layout` is the virtual file tree an evaluation may read, `natives` WALM's native
functions.
"""
