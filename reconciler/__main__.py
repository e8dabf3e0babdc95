"""`python -m reconciler` runs the `harmonia` command."""

from reconciler.cli import main

main()
