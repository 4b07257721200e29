"""The housekeeping commands: `config`, `rm`, `mv`, `doctor`. Each parses, calls its verb in
ops/ (configure, untrack, move, doctor), renders and exits."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gitmv.cli._app import app, echo, emit_json, fail
from gitmv.cli.common import open_repo

if TYPE_CHECKING:
    from gitmv.repo.context import Repo

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _open_tolerant(require_init: bool) -> Repo:
    """The repository without judging its config: `config` must be able to fix a bad
    value, and `doctor` to name it, where every other command refuses to start."""
    from gitmv.repo.context import Repo

    return Repo.open(require_init=require_init, check_config=False)


@app.command("config")
def config(
    key: Annotated[str | None, typer.Argument(help="A dotted key, e.g. core.hash.")] = None,
    value: Annotated[str | None, typer.Argument(help="The value to write.")] = None,
    local: Annotated[
        bool,
        typer.Option("--local", help="Write to this clone's config, outside git (secrets)."),
    ] = False,
    global_: Annotated[
        bool, typer.Option("--global", help="Write to your user config, for every repository.")
    ] = False,
    unset: Annotated[bool, typer.Option("--unset", help="Remove KEY from the file.")] = False,
    list_: Annotated[
        bool, typer.Option("--list", "-l", help="Show every setting and where it comes from.")
    ] = False,
    json_out: Json = False,
) -> None:
    """Read or write a setting. Without a scope, writes go to the committed project config
    (.gitmv/config.yaml), which never takes a credential."""
    from gitmv.ops import configure

    if local and global_:
        fail("--local and --global cannot be combined", code=2)
    scope = "local" if local else "user" if global_ else "project"
    if list_:
        if key is not None or unset:
            fail("--list takes no KEY and no --unset", code=2)
        return _render_list(configure.list_values(_open_tolerant(False)), json_out)
    if key is None:
        fail("name a KEY, or pass --list", hint="gitmv config core.hash", code=2)
    if unset:
        if value is not None:
            fail("--unset takes a KEY and no VALUE", code=2)
        removed = configure.unset_value(_open_tolerant(scope == "project"), key, scope)
        if not removed:
            fail(f"{key} is not set in the {scope} config")
        return echo(f"unset {key} in the {scope} config")
    if value is None:
        entry = configure.get_value(_open_tolerant(False), key)
        if json_out:
            return emit_json({"key": entry.key, "value": entry.value, "source": entry.source})
        return echo(_text(entry.value))
    entry = configure.set_value(_open_tolerant(scope == "project"), key, value, scope)
    echo(f"{key} = {_text(entry.value)} (in the {entry.source} config)")


def _render_list(listing: Any, json_out: bool) -> None:
    if json_out:
        emit_json(
            {
                "settings": [
                    {"key": e.key, "value": e.value, "source": e.source, "known": e.known}
                    for e in listing.entries
                ],
                "files": listing.files,
            }
        )
        return
    for e in listing.entries:
        note = "" if e.known else "  (unknown key: gitmv ignores it)"
        echo(f"{e.key}={_text(e.value)}  [{e.source}]{note}")


def _text(value: Any) -> str:
    """A value as a user would type it back: `true`, `reflink,copy`, empty for unset."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


@app.command("rm")
def rm(
    paths: Annotated[list[str], typer.Argument(help="Artifacts (or their .gmv pointers).")],
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the work-tree file; only stop tracking it.")
    ] = False,
    json_out: Json = False,
) -> None:
    """Stop tracking artifacts: the pointer and its .gitignore line go (staged); the file
    goes too unless --keep, and only when its bytes are in the cache or on the remote."""
    from gitmv.ops.untrack import rm as untrack

    repo = open_repo(hooks="install")
    report = untrack(repo, paths, keep=keep)
    if json_out:
        shown = {"untracked": report.untracked, "deleted": report.deleted}
        return emit_json({k: [repo.display(rel) for rel in v] for k, v in shown.items()})
    deleted = set(report.deleted)
    for rel in report.untracked:
        what = "deleted" if rel in deleted else "kept in the work tree"
        echo(f"untracked: {repo.display(rel)} ({what})")


@app.command("mv")
def mv(
    src: Annotated[str, typer.Argument(help="The artifact to move (or its .gmv pointer).")],
    dst: Annotated[str, typer.Argument(help="Its new path, or a folder to move it into.")],
    json_out: Json = False,
) -> None:
    """Move an artifact with its pointer (a staged rename) and its .gitignore line."""
    from gitmv.ops.move import mv as move

    repo = open_repo(hooks="install")
    report = move(repo, src, dst)
    if json_out:
        paths = {"src": repo.display(report.src), "dst": repo.display(report.dst)}
        return emit_json({**paths, "pinned_name": report.pinned_name})
    echo(f"moved: {repo.display(report.src)} -> {repo.display(report.dst)}")
    if report.pinned_name:
        echo(f"meta.name: {report.pinned_name} (kept: the registry knows it by that name)")


@app.command("doctor")
def doctor(json_out: Json = False) -> None:
    """Check git, the hooks, the config, the cache and each remote; print each problem with
    its fix. Exits 1 when there is any problem."""
    from gitmv.ops.doctor import doctor as diagnose

    report = diagnose()
    if json_out:
        emit_json(
            {
                "ok": not report.problems,
                "findings": [
                    {
                        "check": f.check,
                        "ok": f.ok,
                        "detail": f.detail,
                        "fix": f.fix,
                        "data": dict(f.data),
                    }
                    for f in report.findings
                ],
            }
        )
    else:
        for f in report.findings:
            echo(f"{'ok' if f.ok else 'problem':8} {f.check}: {f.detail}")
            if f.fix:
                echo(f"{'':8} fix: {f.fix}")
    count = len(report.problems)
    if count:
        fail(f"doctor found {count} problem{'s' if count != 1 else ''}")
