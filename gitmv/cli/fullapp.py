"""The whole command tree, for the generators of the CLI reference.

`gitmv.cli.load_app` registers command groups lazily (start-up time), so the Typer app a
generator imports must have every group loaded: mkdocs-typer2 (docs/reference/cli.md)
imports `app` from here. Nothing on gitmv's own start-up path imports this module.
"""

from __future__ import annotations

from gitmv.cli import load_app

__all__ = ["app"]

app = load_app(None)
