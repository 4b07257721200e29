"""`gitmv import dvc|lfs`: parse, call ops/importing, render the summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from gitmv.cli._app import app, echo, emit_json, human_size
from gitmv.cli.common import open_repo

if TYPE_CHECKING:
    from gitmv.ops.importing import ImportReport

import_app = typer.Typer(
    help="Bring a DVC or Git LFS repository over to gitmv (history is not rewritten).",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")

Paths = Annotated[
    list[str] | None, typer.Argument(help="Only these paths (default: the whole repository).")
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Say what would change; change nothing.")]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@import_app.command("dvc")
def import_dvc(
    paths: Paths = None,
    remove_old: Annotated[
        bool,
        typer.Option(
            "--remove-old",
            help="Also remove .dvc files, their .gitignore lines and, once empty of DVC, .dvc/"
            " (never the DVC cache or remote contents).",
        ),
    ] = False,
    dry_run: DryRun = False,
    json_out: Json = False,
) -> None:
    """Turn .dvc files and dvc.lock outs into .gmv pointers; carry remotes and lineage over."""
    from gitmv.ops.importing import dvc

    repo = open_repo(require_init=False)  # the importer initialises gitmv where needed
    report = dvc.run(repo, paths or [], remove_old=remove_old, dry_run=dry_run)
    if not dry_run and (repo.root / ".gitmv" / "config.yaml").is_file():
        open_repo(hooks="install")  # as every writing command does; after a first init too
    _render(report, json_out)


@import_app.command("lfs")
def import_lfs(
    paths: Paths = None,
    dry_run: DryRun = False,
    json_out: Json = False,
) -> None:
    """Turn the Git LFS files of the work tree into gitmv artifacts; stage the migration."""
    from gitmv.ops.importing import lfs

    repo = open_repo(require_init=False)  # the importer initialises gitmv where needed
    report = lfs.run(repo, paths or [], dry_run=dry_run)
    if report.converted and not report.dry_run:
        from gitmv.cli import autohooks

        autohooks.ensure(repo)  # as `gitmv init` and every writing command do
    _render(report, json_out)


def _render(report: ImportReport, json_out: bool) -> None:
    if json_out:
        emit_json(
            {
                "tool": report.tool,
                "dry_run": report.dry_run,
                "converted": [
                    {"path": c.path, "origin": c.origin, "size": c.size, "files": c.files}
                    for c in report.converted
                ],
                "skipped": [{"path": s.path, "reason": s.reason} for s in report.skipped],
                "remotes": list(report.remotes),
                "removed": list(report.removed),
                "notes": list(report.notes),
            }
        )
        return
    would = "would convert" if report.dry_run else "converted"
    for c in report.converted:
        what = f"{c.files} files, " if c.files != 1 else ""
        echo(f"{would} {c.path} ({what}{human_size(c.size)}, from the {c.origin})")
    for s in report.skipped:
        echo(f"skipped {s.path}: {s.reason}")
    for name in report.remotes:
        echo(f"{'would add' if report.dry_run else 'added'} remote {name}")
    for path in report.removed:
        echo(f"{'would remove' if report.dry_run else 'removed'} {path}")
    for note in report.notes:
        echo(f"note: {note}")
    if not report.converted:
        echo(f"nothing to convert: no {report.tool.upper()} artifact left to import")
    elif not report.dry_run:
        echo("next: review with `git status`, then `git commit` (history is not rewritten)")
