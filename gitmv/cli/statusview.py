"""`gitmv status`, with no Typer in it: the most-run command starts without building the CLI.

`main()` calls `show` directly for a bare `gitmv status` or `gitmv status --json` (Typer's
import and set-up are a fifth of a clean status); any other form goes through Typer, whose
`status` command calls `show` too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitmv.cli.render import echo, emit_json

if TYPE_CHECKING:
    from gitmv.base.errors import PointerError
    from gitmv.repo.context import Repo
    from gitmv.workspace.conflicts import PointerConflict, Side
    from gitmv.workspace.tree import ArtifactStatus

DEFAULT_REMOTE = ":default:"  # `--remote` with no NAME (see gitmv.cli._default_remote_flag)


def show(paths: list[str], remote: str | None, json_out: bool) -> None:
    from gitmv.base.errors import PointerError
    from gitmv.cli import autohooks
    from gitmv.repo.context import Repo
    from gitmv.workspace.tree import status as artifact_status

    repo = Repo.open()
    autohooks.check(repo)
    conflicts: list[PointerConflict] = []
    try:
        if _mid_merge(repo):  # a modify/delete conflict leaves no markers to fail on
            raise PointerError("a merge is in progress")
        results = artifact_status(repo, paths)
    except PointerError as exc:  # a merge left markers in a pointer: say what each side holds
        results, conflicts = _around_conflicts(repo, paths, exc)
    if remote is not None:
        results = _with_not_pushed(repo, results, None if remote == DEFAULT_REMOTE else remote)
    if json_out:
        rows = [
            {
                "path": repo.display(r.path),
                "state": r.state,
                "kind": r.kind,
                "oid": r.oid,
                "size": r.size,
            }
            for r in results
        ]
        emit_json(rows + [_conflict_json(repo, c) for c in conflicts])
        return
    dirty = [r for r in results if r.state != "clean"]
    for r in dirty:
        echo(f"{r.state + ':':<13} {repo.display(r.path)}")
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


def _with_not_pushed(repo: Repo, results: list[Any], remote: str | None) -> list[Any]:
    """Mark clean artifacts whose bytes the remote lacks as `not-pushed`."""
    import dataclasses

    from gitmv.ops.session import open_session  # the remote stack: only with --remote
    from gitmv.repo.pointers import read_pointer
    from gitmv.transfer.engine import not_pushed

    pointers = {r.path: read_pointer(repo, r.path) for r in results}
    missing = not_pushed(open_session(repo, remote).remote, pointers)
    return [
        dataclasses.replace(r, state="not-pushed")
        if r.path in missing and r.state == "clean"
        else r
        for r in results
    ]


def _around_conflicts(
    repo: Repo, paths: list[str], exc: PointerError
) -> tuple[list[ArtifactStatus], list[PointerConflict]]:
    """The other artifacts' states, and the conflicted pointers with both sides' versions.

    Only reached mid-merge or when a pointer fails to parse, so a clean status asks git
    nothing more.
    """
    from gitmv.repo.pointers import select, tracked
    from gitmv.workspace.conflicts import pointer_conflicts
    from gitmv.workspace.tree import status_of

    conflicts = pointer_conflicts(repo)
    chosen = select(repo, tracked(repo), paths)
    conflicts = [c for c in conflicts if c.path in chosen]
    if not conflicts and not _mid_merge(repo):  # the pointer that failed is broken otherwise
        raise exc
    skip = {c.path for c in conflicts}
    wanted = [a for a in chosen if a not in skip]
    return status_of(repo, wanted), conflicts


def _mid_merge(repo: Repo) -> bool:
    """Whether git stopped a merge, cherry-pick, revert or rebase here: a few stat calls."""
    git_dir = repo.paths.git_dir
    heads = ("MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "rebase-merge", "rebase-apply")
    return any((git_dir / name).exists() for name in heads)


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
