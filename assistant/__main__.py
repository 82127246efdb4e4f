"""`python -m assistant` runs the command line."""

from .app.cli import main

main()
