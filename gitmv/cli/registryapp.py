"""The `gitmv registry` sub-app and what its command modules share (registry.py: the
events and reads; registryfind.py: find, used-by, label), so neither imports the other."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer

from gitmv.cli._app import app, echo

registry_app = typer.Typer(
    help="Register model versions and move them through stages (GTO-compatible git tags).",
    no_args_is_help=True,
)
app.add_typer(registry_app, name="registry")

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def scalar(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
