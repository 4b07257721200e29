"""Workspace commands: init, add, status, checkout, ls, diff."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from gitmv import __version__
from gitmv.cli._app import app, echo, emit_json, human_size
from gitmv.cli.common import checkout_exit_code, checkout_json, open_repo, render_checkout
from gitmv.cli.progress import LazyProgress
from gitmv.cli.render import detail, verbosity

if TYPE_CHECKING:
    from gitmv.ops.add import AddReport
    from gitmv.repo.context import Repo
    from gitmv.store.pointer import Pointer

# Typer reads these annotations at run time: keep `Optional`/`List` spelled out.

Paths = Annotated[list[str] | None, typer.Argument(help="Files or folders (default: all).")]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
HASH_BAR_BYTES = 64 * 1024 * 1024


def _version(value: bool) -> None:
    if value:
        echo(f"gitmv {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Version ML models and data inside ordinary git repositories."""


@app.command()
def init(
    no_hooks: Annotated[bool, typer.Option("--no-hooks", help="Do not install git hooks.")] = False,
    remote: Annotated[
        str | None, typer.Option("--remote", help="Add this URL as the default remote.")
    ] = None,
    json_out: Json = False,
) -> None:
    """Set up gitmv in this git repository."""
    from gitmv.ops.init import init as do_init

    report = do_init(hooks=not no_hooks, remote=remote)
    if json_out:
        emit_json(
            {
                "root": str(report.root),
                "created": report.created,
                "union_merge": report.union_merge,
                "remote": report.remote,
            }
        )
        return
    if report.created:
        echo(
            f"Initialised gitmv in {report.root} (config: .gitmv/config.yaml and "
            ".gitattributes, staged)"
        )
    else:
        echo(f"gitmv is already set up in {report.root}")
        if report.union_merge:
            echo("Added `.gitignore merge=union` to .gitattributes (staged)")
    if report.remote:
        echo(f"Default remote: origin -> {report.remote}")


@app.command()
def add(
    paths: Annotated[list[str], typer.Argument(help="Files or folders to track.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Registry name (default: the path).")
    ] = None,
    kind: Annotated[str | None, typer.Option("--type", help="Artifact type, e.g. model.")] = None,
    meta: Annotated[
        list[str] | None,
        typer.Option("--meta", help="KEY=VALUE (typed; dotted keys nest: params.lr=0.1)."),
    ] = None,
    params: Annotated[
        str | None, typer.Option("--params", help="YAML or JSON file of parameters.")
    ] = None,
    metrics: Annotated[
        str | None, typer.Option("--metrics", help="YAML or JSON file of metrics.")
    ] = None,
    inputs: Annotated[
        list[str] | None,
        typer.Option("--input", help="A tracked artifact this one was made from (lineage)."),
    ] = None,
    keep_meta: Annotated[
        bool,
        typer.Option(
            "--keep-meta", help="Carry the previous version's params, metrics, inputs over."
        ),
    ] = False,
    labels: Annotated[
        list[str] | None,
        typer.Option("--label", help="A label for this version (meta.labels); repeatable."),
    ] = None,
    json_out: Json = False,
) -> None:
    """Track files or folders: cache the bytes, write and stage `<path>.gmv`.

    Any of --name/--type/--meta/--params/--metrics/--input also records the meta block,
    with the code commit and Python environment (see docs/registry.md). A new version of
    an artifact with a meta block is described afresh: params, metrics and inputs are not
    carried over unless given again, or with --keep-meta.
    """
    import dataclasses

    from gitmv.ops.add import add as do_add
    from gitmv.ops.inputs import MetaOptions

    repo = open_repo(hooks="install")
    options = MetaOptions(name, kind, tuple(meta or ()), params, metrics, tuple(inputs or ()))
    if labels:
        options = dataclasses.replace(options, labels=tuple(labels))
    # a bar once there is enough to hash to take a while (hashing runs at ~1 GiB/s)
    with LazyProgress("add", "files", min_bytes=HASH_BAR_BYTES) as bar:
        report = do_add(repo, paths, options, keep_meta=keep_meta, progress=bar)
    if json_out:
        emit_json(
            [
                {**_pointer_json(repo, r.path, r.pointer), "changed": r.changed}
                for r in report.artifacts
            ]
        )
        return
    for result in report.artifacts:
        p = result.pointer
        what = f"{p.files} files, " if p.kind == "dir" else ""
        verb = "added" if result.changed else "unchanged"
        echo(f"{verb}: {repo.display(result.path)} ({what}{human_size(p.size)}, {p.oid})")
    if verbosity() > 0:
        _add_details(repo, report)


def _add_details(repo: Repo, report: AddReport) -> None:
    """-v: whether each artifact's bytes are new, and which files of a folder changed."""
    from gitmv.workspace.folderdiff import between

    for result, old in zip(report.artifacts, report.previous, strict=True):
        p = result.pointer
        same = old is not None and old.oid == p.oid
        what = ""
        if p.kind == "dir":
            prior = old if old is not None and old.kind == "dir" else None  # a file before
            changes = None if same else between(repo, prior, p)
            if same:
                what = f"{p.files} files: none changed; "
            elif changes is None:
                what = f"{p.files} files, changes unknown: the last manifest is not cached; "
            else:
                what = (
                    f"{p.files} files: {len(changes.added)} added, {len(changes.modified)} "
                    f"modified, {len(changes.deleted)} removed; "
                )
        state = "unchanged" if same else "stored"
        size = human_size(p.size)
        detail(f"bytes {state}: {repo.display(result.path)} ({what}{size}, {p.oid})")


@app.command()
def status(
    paths: Paths = None,
    remote: Annotated[
        str | None,
        typer.Option(
            "--remote",
            help="Also report artifacts the remote lacks (not-pushed); NAME defaults to the "
            "default remote.",
            metavar="[NAME]",
        ),
    ] = None,
    json_out: Json = False,
) -> None:
    """Show which artifacts differ from their pointers (and, with --remote, are not pushed)."""
    from gitmv.cli import statusview

    statusview.show(paths or [], remote, json_out)


@app.command()
def checkout(
    paths: Paths = None,
    rev: Annotated[
        str | None, typer.Option("--rev", help="Take pointers from this commit.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Overwrite modified artifacts.")
    ] = False,
    json_out: Json = False,
) -> None:
    """Make the work tree match the pointers, from the cache."""
    from gitmv.ops.checkout import checkout as do_checkout

    repo = open_repo(hooks="install")
    with LazyProgress("checkout", "artifacts", min_bytes=HASH_BAR_BYTES) as bar:
        report = do_checkout(repo, paths or [], rev=rev, force=force, progress=bar)
    if json_out:
        emit_json(checkout_json(repo, report))
    render_checkout(repo, report, json_out)
    raise typer.Exit(checkout_exit_code(repo, report))


@app.command("ls")
def ls_command(
    rev: Annotated[
        str | None, typer.Option("--rev", help="List the artifacts of this commit.")
    ] = None,
    json_out: Json = False,
) -> None:
    """List tracked artifacts."""
    from gitmv.repo.pointers import artifacts

    repo = open_repo(hooks="warn")
    found = artifacts(repo, rev)
    rows = [_pointer_json(repo, path, p) for path, p in sorted(found.items())]
    if json_out:
        emit_json(rows)
        return
    for path, p in sorted(found.items()):
        count = f"{p.files} files" if p.kind == "dir" else ""
        size = human_size(p.size)
        echo(f"{p.kind:<4} {size:>10} {count:>11}  {str(p.oid)[:19]}  {repo.display(path)}")


def _pointer_json(repo: Repo, path: str, p: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "path": repo.display(path),
        "kind": p.kind,
        "oid": str(p.oid),
        "size": p.size,
    }
    if p.kind == "dir":
        row["files"] = p.files
    if p.exec:
        row["exec"] = True
    name = p.meta.get("name") if isinstance(p.meta, dict) else None
    if name:
        row["name"] = name
    return row


@app.command("diff")
def diff_command(
    rev_a: Annotated[str | None, typer.Argument(help="Old revision (default HEAD).")] = None,
    rev_b: Annotated[
        str | None, typer.Argument(help="New revision (default the work tree).")
    ] = None,
    json_out: Json = False,
) -> None:
    """Show which artifacts changed between two commits (or a commit and the work tree's
    pointers); for a folder, the files inside it."""
    from gitmv.cli.statusview import files_json, show_files
    from gitmv.repo.pointers import diff
    from gitmv.workspace.folderdiff import between

    repo = open_repo(hooks="warn")
    changes = diff(repo, rev_a, rev_b)
    inside = {c.path: between(repo, c.old, c.new) for c in changes}
    rows = []
    for c in changes:
        files = inside[c.path]
        rows.append(
            {
                "path": repo.display(c.path),
                "change": c.change,
                "old_oid": str(c.old.oid) if c.old else None,
                "new_oid": str(c.new.oid) if c.new else None,
                "old_size": c.old.size if c.old else None,
                "new_size": c.new.size if c.new else None,
                **({"files": files_json(files)} if files is not None else {}),
            }
        )
    if json_out:
        emit_json(rows)
        return
    for c in changes:
        echo(f"{c.change:<9} {repo.display(c.path)}  {_brief(c.old)} -> {_brief(c.new)}")
        files = inside[c.path]
        if files is not None:
            show_files(repo, c.path, files, "          ")
    if not rows:
        echo("No artifact changed.")


def _brief(p: Pointer | None) -> str:
    return f"{str(p.oid)[:19]}… ({human_size(p.size)})" if p else "-"
