"""`gitmv status`, with no Typer in it: the most-run command starts without building the CLI.

`main()` calls `show` directly for a bare `gitmv status` or `gitmv status --json` (Typer's
import and set-up are a fifth of a clean status); any other form goes through Typer, whose
`status` command calls `show` too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitmv.cli.render import echo, emit_json

if TYPE_CHECKING:
    from gitmv.repo import Repo

DEFAULT_REMOTE = ":default:"  # `--remote` with no NAME (see gitmv.cli._default_remote_flag)


def show(paths: list[str], remote: str | None, json_out: bool) -> None:
    from gitmv.cli import autohooks
    from gitmv.repo import Repo
    from gitmv.workspace import status as artifact_status

    repo = Repo.open()
    autohooks.check(repo)
    results = artifact_status(repo, paths)
    if remote is not None:
        results = _with_not_pushed(repo, results, None if remote == DEFAULT_REMOTE else remote)
    if json_out:
        emit_json(
            [
                {
                    "path": repo.display(r.path),
                    "state": r.state,
                    "kind": r.kind,
                    "oid": r.oid,
                    "size": r.size,
                }
                for r in results
            ]
        )
        return
    dirty = [r for r in results if r.state != "clean"]
    for r in dirty:
        echo(f"{r.state + ':':<13} {repo.display(r.path)}")
    if not results:
        echo("No artifacts tracked yet (gitmv add PATH starts tracking one).")
    elif not dirty:
        echo(f"{len(results)} artifact{'s' if len(results) != 1 else ''}, all clean.")
    else:
        states = {r.state for r in dirty}
        if "not-pushed" in states:
            echo("  (gitmv push uploads the not-pushed ones)")
        if states & {"missing", "not-cached"}:
            echo("  (gitmv checkout restores missing ones; gitmv pull fetches not-cached ones)")
        if "modified" in states:
            echo(
                "  (gitmv checkout restores the version a pointer names, and never discards bytes"
                " the cache lacks;\n   gitmv add records the work tree's bytes as a new version)"
            )


def _with_not_pushed(repo: Repo, results: list[Any], remote: str | None) -> list[Any]:
    """Mark clean artifacts whose bytes the remote lacks as `not-pushed`."""
    import dataclasses

    from gitmv.transfer import not_pushed
    from gitmv.workspace import read_pointer

    pointers = {r.path: read_pointer(repo, r.path) for r in results}
    missing = not_pushed(repo, remote, pointers)
    return [
        dataclasses.replace(r, state="not-pushed")
        if r.path in missing and r.state == "clean"
        else r
        for r in results
    ]
