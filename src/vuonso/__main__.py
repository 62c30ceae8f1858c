"""`python -m vuonso` runs the `vuonso` command."""

from vuonso.cli import main

main()
