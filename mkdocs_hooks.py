"""mkdocs build hook: writes the command line reference from the Typer app at build time.

docs/reference/cli.md holds only a marker; this fills it with Typer's own generator (what
`typer gitmv.cli.fullapp utils docs` prints), run in-process on the app with every command
group loaded, so the page is always what `gitmv COMMAND --help` says. (mkdocs-typer2 was
tried: its default engine shells out to `typer` on PATH and renders an empty page when
that fails; its native engine's HTML is re-read as Markdown, mangling `[OPTIONS]`.)
"""

from __future__ import annotations

from typing import Any

MARKER = "<!-- gitmv-cli-reference -->"


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if MARKER not in markdown:
        return markdown
    import click
    from typer.cli import get_docs_for_click

    from gitmv.cli.fullapp import app
    from gitmv.cli.surface import build

    # The tree as `gitmv` runs it: -h/-q/-v on every command, completion for a named shell.
    command = build(app)
    ctx = click.Context(command, info_name="gitmv")
    generated = get_docs_for_click(obj=command, ctx=ctx, name="gitmv", indent=1)
    return markdown.replace(MARKER, generated)
