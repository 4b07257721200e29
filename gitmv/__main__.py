"""`python -m gitmv`."""

from gitmv.cli import main

main()
