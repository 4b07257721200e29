"""`gitmv status`, with no Typer in it: the most-run command starts without building the CLI.

`main()` calls `show` directly for a bare `gitmv status` or `gitmv status --json` (Typer's
import and set-up are a fifth of a clean status); any other form goes through Typer, whose
`status` command calls `show` too.
"""

from __future__ import annotations

from gitmv.cli.render import echo, emit_json, verbosity

# No typing at run time: the command run most (mypy reads this constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gitmv.repo.context import Repo
    from gitmv.workspace.conflicts import PointerConflict, Side
    from gitmv.workspace.folderdiff import FolderChanges

FIRST_FEW = 5  # files named under a changed folder artifact (all of them with -v, in --json)

DEFAULT_REMOTE = ":default:"  # `--remote` with no NAME (see gitmv.cli._default_remote_flag)


def show(paths: list[str], remote: str | None, json_out: bool) -> None:
    from gitmv.cli import autohooks
    from gitmv.ops.status import status
    from gitmv.repo.context import Repo

    repo = Repo.open()
    autohooks.check(repo)
    wanted: bool | str = False  # ops' `remote`: not asked, the default (True), or a name
    if remote is not None:
        wanted = True if remote == DEFAULT_REMOTE else remote
    report = status(repo, paths, remote=wanted)
    results, conflicts = report.artifacts, report.conflicts
    if json_out:
        rows = [
            {
                "path": repo.display(r.path),
                "state": r.state,
                "kind": r.kind,
                "oid": r.oid,
                "size": r.size,
                **({"files": files_json(report.files[r.path])} if r.path in report.files else {}),
            }
            for r in results
        ]
        emit_json(rows + [_conflict_json(repo, c) for c in conflicts])
        return
    dirty = [r for r in results if r.state != "clean"]
    for r in dirty:
        echo(f"{r.state + ':':<13} {repo.display(r.path)}")
        if r.path in report.files:
            show_files(repo, r.path, report.files[r.path], "              ")
    for c in conflicts:
        _show_conflict(repo, c)
    if conflicts and not dirty:
        return
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


def files_json(changes: FolderChanges) -> dict[str, list[str]]:
    return {
        "added": list(changes.added),
        "modified": list(changes.modified),
        "deleted": list(changes.deleted),
    }


def show_files(repo: Repo, folder: str, changes: FolderChanges, indent: str) -> None:
    """The files changed inside a folder artifact: the first few, then how many more."""
    rows = [
        (what, name)
        for what, names in (
            ("added", changes.added),
            ("modified", changes.modified),
            ("deleted", changes.deleted),
        )
        for name in names
    ]
    shown = rows if verbosity() > 0 else rows[:FIRST_FEW]
    for what, name in shown:
        echo(f"{indent}{what + ':':<10} {repo.display(f'{folder}/{name}')}")
    if len(rows) > len(shown):
        counts = ", ".join(
            f"{len(names)} {what}"
            for what, names in (
                ("added", changes.added),
                ("modified", changes.modified),
                ("deleted", changes.deleted),
            )
            if names
        )
        more = len(rows) - len(shown)
        echo(f"{indent}... and {more} more files ({counts} in all; -v or --json lists them)")


def _side_json(side: Side | None) -> dict[str, Any] | None:
    if side is None:
        return None
    return {"oid": side.oid, "size": side.size, "kind": side.kind}


def _conflict_json(repo: Repo, c: PointerConflict) -> dict[str, Any]:
    return {
        "path": repo.display(c.path),
        "state": "conflict",
        "kind": None,
        "oid": None,
        "size": None,
        "ours": _side_json(c.ours),
        "theirs": _side_json(c.theirs),
    }


def _show_conflict(repo: Repo, c: PointerConflict) -> None:
    from gitmv.cli.render import human_size

    def brief(side: Side | None) -> str:
        if side is None:
            return "deleted"
        if side.oid is None:
            return "a pointer gitmv cannot read"
        return f"{side.oid[:19]}… ({human_size(side.size or 0)}, {side.kind})"

    name, artifact = repo.display(c.pointer_file), repo.display(c.path)
    echo(f"{'conflict:':<13} {artifact}  (both sides changed its pointer)")
    echo(f"    ours:   {brief(c.ours)}")
    echo(f"    theirs: {brief(c.theirs)}")
    for side in ("ours", "theirs"):
        echo(
            f"  keep {side + ':':<7} git checkout --{side} {name} && git add {name} && "
            f"gitmv checkout {artifact}"
        )
