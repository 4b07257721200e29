"""`gitmv repack`: the command (the verb: ops/repack.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from gitmv.cli._app import app, echo, fail, human_size, warn
from gitmv.cli.common import open_repo


@app.command()
def repack(
    remote: Annotated[
        str | None,
        typer.Option("--remote", "-r", help="The remote to repack (default: the default)."),
    ] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Transfers at once.")] = None,
) -> None:
    """Move a remote's small loose objects and chunks into packs (fewer requests later)."""
    from gitmv.ops import repack as verb

    report = verb.repack(open_repo(), remote, jobs)
    for line in report.failed:
        warn(f"left loose: {line}")
    echo(
        f"remote {report.remote}: packed {report.packed} objects"
        f" ({human_size(report.nbytes)}) into {report.packs} packs"
    )
    if report.failed:
        fail(
            f"{len(report.failed)} objects could not be packed (listed above)",
            "run `gitmv verify --remote NAME`",
        )
