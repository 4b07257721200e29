"""Hook commands: install, uninstall, and the hidden `hook NAME ARGS...` the shims call."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gitmv.cli._app import app, echo, emit_json
from gitmv.cli.common import open_repo

if TYPE_CHECKING:
    from gitmv.ops.hooks import InstallReport

Global = Annotated[
    bool,
    typer.Option("--global", help="In git's template folder: every later clone gets the hooks."),
]
UninstallGlobal = Annotated[
    bool,
    typer.Option(
        "--global",
        help="From git's template folder: later clones no longer get the hooks "
        "(clones made before keep theirs).",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

_SAID = {
    "installed": "installed",
    "chained": "installed; the hook that was there runs first (kept as {kept})",
    "updated": "updated",
    "unchanged": "already installed",
    "removed": "removed",
    "restored": "removed; the hook that was there before is back",
    "foreign": "not gitmv's: left alone",
    "absent": "not installed",
}


@app.command()
def install(global_: Global = False, json_out: Json = False) -> None:
    """Install gitmv's git hooks (pre-push uploads, checkouts restore artifacts)."""
    from gitmv.hooks import install as hookinstall

    if global_:
        report = hookinstall.install_global()
    else:
        repo = open_repo(require_init=False)
        report = hookinstall.install(repo)
        hookinstall.set_auto_install(repo, True)
    if json_out:
        emit_json(_install_json(report))
        return
    _render_install(report)
    if report.template is not None:
        echo(f"New clones get these hooks from {report.template} (git config init.templateDir).")
        echo("Existing clones: run `gitmv install` in each.")


@app.command()
def uninstall(global_: UninstallGlobal = False, json_out: Json = False) -> None:
    """Remove gitmv's git hooks, restoring any hook they had moved aside."""
    from gitmv.base.config import PROJECT_FILE
    from gitmv.hooks import install as hookinstall

    repo = None if global_ else open_repo(require_init=False)
    report = hookinstall.uninstall_global() if repo is None else hookinstall.uninstall(repo)
    auto_off = repo is not None and (repo.root / PROJECT_FILE).is_file()
    if repo is not None and auto_off:
        # Else the next `gitmv add` or `gitmv pull` would put them back.
        hookinstall.set_auto_install(repo, False)
    if json_out:
        emit_json({**_install_json(report), "auto_install": not auto_off})
        return
    _render_install(report)
    if auto_off:
        echo("gitmv commands no longer install hooks here; `gitmv install` turns that back on.")


def _install_json(report: InstallReport) -> dict[str, Any]:
    if report.note:
        sys.stderr.write(f"warning: {report.note}\n")
    return {
        "folder": str(report.folder),
        "hooks": [
            {
                "hook": c.hook,
                "action": c.action,
                "kept_as": str(c.kept_as) if c.kept_as else None,
            }
            for c in report.changes
        ],
        "template": str(report.template) if report.template else None,
    }


def _render_install(report: InstallReport) -> None:
    echo(f"hooks in {report.folder}:")
    for change in report.changes:
        said = _SAID[change.action]
        if change.kept_as is not None and change.action == "updated":
            said = "updated; the hook it runs first is now kept as {kept}"
        kept = change.kept_as.name if change.kept_as else ""
        echo(f"  {change.hook:<14} {said.format(kept=kept)}")
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
