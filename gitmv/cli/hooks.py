"""Hook commands: install, uninstall, and the hidden `hook NAME ARGS...` the shims call."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from gitmv.cli._app import app, echo
from gitmv.cli.workspace import open_repo

if TYPE_CHECKING:
    from gitmv.hooks import InstallReport

Global = Annotated[
    bool,
    typer.Option("--global", help="In git's template folder: every later clone gets the hooks."),
]

_SAID = {
    "installed": "installed",
    "chained": "installed; the hook that was there runs first (kept as {name}.legacy)",
    "updated": "updated",
    "unchanged": "already installed",
    "removed": "removed",
    "restored": "removed; the hook that was there before is back",
    "foreign": "not gitmv's: left alone",
    "absent": "not installed",
}


@app.command()
def install(global_: Global = False) -> None:
    """Install gitmv's git hooks (pre-push uploads, checkouts restore artifacts)."""
    from gitmv import hooks

    report = hooks.install_global() if global_ else hooks.install(open_repo(require_init=False))
    _render_install(report)
    if report.template is not None:
        echo(f"New clones get these hooks from {report.template} (git config init.templateDir).")
        echo("Existing clones: run `gitmv install` in each.")


@app.command()
def uninstall(global_: Global = False) -> None:
    """Remove gitmv's git hooks, restoring any hook they had moved aside."""
    from gitmv import hooks

    repo = None if global_ else open_repo(require_init=False)
    report = hooks.uninstall_global() if repo is None else hooks.uninstall(repo)
    _render_install(report)


def _render_install(report: InstallReport) -> None:
    echo(f"hooks in {report.folder}:")
    for change in report.changes:
        echo(f"  {change.hook:<14} {_SAID[change.action].format(name=change.hook)}")
    if report.note:
        sys.stderr.write(f"warning: {report.note}\n")


@app.command(
    "hook",
    hidden=True,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def hook(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="pre-push, post-checkout, post-merge, post-rewrite")],
) -> None:
    """What the installed hooks run: `gitmv hook NAME ARGS...` with git's arguments.

    `gitmv.cli.main` normally answers this before Typer loads; this is the same runner.
    """
    from gitmv.cli import hookrun

    raise typer.Exit(hookrun.run(name, list(ctx.args)))
