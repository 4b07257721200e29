"""The `remote` commands: add, list, remove, default. Each parses, calls ops.remotes,
renders and exits; the rules (validation, secrets, which config layer) live there."""

from __future__ import annotations

from typing import Annotated

import typer

from gitmv.cli._app import app, echo, emit_json
from gitmv.cli.common import open_repo

remote_app = typer.Typer(
    help="Manage the stores that hold the bytes (folders, S3, GCS, any fsspec URL).",
    no_args_is_help=True,
)
app.add_typer(remote_app, name="remote")

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@remote_app.command("add")
def remote_add(
    name: Annotated[str, typer.Argument(help="A short name, e.g. origin.")],
    url: Annotated[str, typer.Argument(help="A folder, file://, s3://, gs://, or fsspec URL.")],
    default: Annotated[
        bool, typer.Option("--default", "-d", help="Make it the default remote.")
    ] = False,
    local: Annotated[
        bool,
        typer.Option("--local", help="Write to the local config (credentials, machine paths)."),
    ] = False,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="KEY=VALUE: endpoint_url, region, profile, jobs, ..."),
    ] = None,
) -> None:
    """Add a remote to the project config (or, with --local, to this clone only)."""
    from gitmv.ops import remotes

    repo = open_repo()
    made_default = remotes.add_remote(
        repo, name, url, default=default, local=local, options=option or []
    )
    where = "local config" if local else ".gitmv/config.yaml"
    echo(f"added remote {name!r} to {where}" + (" (default)" if made_default else ""))


@remote_app.command("list")
def remote_list(json_out: Json = False) -> None:
    """List remotes; the default is marked. Secret option values are never shown."""
    from gitmv.ops import remotes

    entries = remotes.list_remotes(open_repo())
    if json_out:
        emit_json(
            [
                {
                    "name": e.name,
                    "url": e.url,
                    "default": e.default,
                    "layers": list(e.layers),
                    "options": dict(e.options),
                }
                for e in entries
            ]
        )
        return
    if not entries:
        echo("No remotes (gitmv remote add NAME URL adds one).")
    for e in entries:
        mark = "*" if e.default else " "
        opts = ", ".join(f"{k}={v}" for k, v in e.options.items())
        where = "" if e.layers == ("project",) else f"  [{', '.join(e.layers)}]"
        echo(f"{mark} {e.name}  {e.url}" + (f"  ({opts})" if opts else "") + where)


@remote_app.command("remove")
def remote_remove(name: Annotated[str, typer.Argument(help="The remote to remove.")]) -> None:
    """Remove a remote from the project and local config (and unset it as the default)."""
    from gitmv.ops import remotes

    remotes.remove_remote(open_repo(), name)
    echo(f"removed remote {name!r}")


@remote_app.command("default")
def remote_default(
    name: Annotated[str, typer.Argument(help="The remote to use when --remote is not given.")],
    local: Annotated[
        bool, typer.Option("--local", help="Set it for this clone only (local config).")
    ] = False,
) -> None:
    """Make NAME the default remote."""
    from gitmv.ops import remotes

    layer = remotes.set_default(open_repo(), name, local=local)
    echo(f"default remote: {name!r}" + (" (local config)" if layer == "local" else ""))
