"""Registry searches and labels: find, used-by, label (on the `gitmv registry` sub-app).

Each reads the tags once and the versions' pointers in one batch; none needs a remote.
The verbs (gitmv.ops.find, .usedby, .label) are imported inside each command.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gitmv.cli._app import echo, emit_json, fail, warn
from gitmv.cli.common import open_repo
from gitmv.cli.registryapp import Json, registry_app
from gitmv.cli.registryapp import scalar as _scalar
from gitmv.cli.registryapp import table as _table

if TYPE_CHECKING:
    from gitmv.registry.artifacts import Version


@registry_app.command("find")
def find(
    filters: Annotated[
        list[str] | None,
        typer.Argument(
            help="KEY OP VALUE, all of which must hold: OP is = != < <= > >= or ~ "
            "(substring); KEY a field (name, version, stage, stage.ever, author, date, "
            "label, input, path, oid, commit, size) or a meta key (metrics.accuracy). "
            "E.g. metrics.accuracy>=0.9 label=fraud 'version>=1.2,<2'.",
            show_default=False,
        ),
    ] = None,
    all_commits: Annotated[
        bool,
        typer.Option(
            "--all-commits", help="Also every commit of HEAD's history that changed name=NAME."
        ),
    ] = False,
    stage: Annotated[
        str | None, typer.Option("--stage", "-s", help="Only versions in this stage now.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Registered on or after (YYYY-MM-DD[THH:MM]).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Registered on or before (YYYY-MM-DD[THH:MM]).")
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort", help="Sort by a key, e.g. metrics.accuracy (default: newest first)."
        ),
    ] = None,
    desc: Annotated[bool, typer.Option("--desc", help="Sort descending.")] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="At most this many versions.")
    ] = None,
    json_out: Json = False,
) -> None:
    """Find registered versions by metadata, labels, stages, authors, dates and versions."""
    from gitmv.ops.find import find as do_find
    from gitmv.registry.query import FindQuery, QueryError

    query = FindQuery(
        filters=tuple(filters or ()),
        all_commits=all_commits,
        stage=stage,
        since=since,
        until=until,
        sort=sort,
        desc=desc,
        limit=limit,
    )
    repo = open_repo(hooks="warn")
    try:
        report = do_find(repo, query)
    except QueryError as exc:
        fail(exc.message, exc.hint, code=2)
    for problem in report.problems:
        warn(f"skipped {problem}")
    if json_out:
        emit_json(
            {
                "filters": list(filters or ()),
                "keys": list(report.keys),
                "searched": report.searched,
                "count": len(report.hits),
                "versions": [
                    {
                        **_version_json(h.version),
                        "registered": h.registered,
                        "stages": list(h.stages),
                        "labels": list(h.labels),
                        "author": h.author,
                        "date": h.date.isoformat(),
                        "values": {k: _plain(v) for k, v in h.values.items()},
                    }
                    for h in report.hits
                ],
            }
        )
        return
    if not report.hits:
        echo(f"No version matches (searched {report.searched}).")
        return
    rows = [["name", "version", "stages", "when", "who", *report.keys]]
    for h in report.hits:
        rows.append(
            [
                h.version.name,
                h.version.version,
                ",".join(h.stages) or "-",
                _when(h.date),
                h.author or "-",
                *(_cell(h.values.get(k)) for k in report.keys),
            ]
        )
    _table(rows)


@registry_app.command("used-by")
def used_by(
    target: Annotated[
        str,
        typer.Argument(
            help="The data: a PATH (any version of it), an OID (those bytes) or NAME@vX.Y.Z."
        ),
    ],
    json_out: Json = False,
) -> None:
    """Every registered version made from some data, directly or through other versions."""
    from gitmv.ops.usedby import used_by as do_used_by

    repo = open_repo(hooks="warn")
    report = do_used_by(repo, target)
    for problem in report.problems:
        warn(f"skipped {problem}")
    if json_out:
        emit_json(
            {
                "target": report.target,
                "kind": report.kind,
                "count": len(report.users),
                "versions": [
                    {
                        **_version_json(u.version),
                        "stages": list(u.stages),
                        "depth": u.depth,
                        "via": u.via,
                        "input_path": u.input_path,
                    }
                    for u in report.users
                ],
            }
        )
        return
    if not report.users:
        echo(f"No registered version was made from {target}.")
        return
    rows = [["name", "version", "stages", "depth", "made from"]]
    for u in report.users:
        stages = ",".join(u.stages) or "-"
        rows.append([u.version.name, u.version.version, stages, str(u.depth), u.via])
    _table(rows)


@registry_app.command("label")
def label(
    ref: Annotated[str, typer.Argument(help="The version, NAME@vX.Y.Z.")],
    text: Annotated[str, typer.Argument(metavar="LABEL", help="The label, e.g. fraud.")],
    remove: Annotated[bool, typer.Option("--remove", help="Take the label off.")] = False,
    json_out: Json = False,
) -> None:
    """Label a registered version (tag NAME@vX.Y.Z@label=L#N), or take a label off."""
    from gitmv.ops.label import label as do_label

    repo = open_repo(hooks="install")
    done = do_label(repo, ref, text, remove=remove)
    if json_out:
        emit_json(
            {
                "name": done.name,
                "version": done.version,
                "label": done.label,
                "removed": done.removed,
                "tag": done.tag,
                "labels": list(done.labels),
            }
        )
        return
    what = f"{done.name}@{done.version}"
    if done.tag is None:
        echo(f"{what} {'has no' if remove else 'already has'} label {text}; no tag created")
        return
    summary = f"took label {text} off {what}" if remove else f"labelled {what} {text}"
    echo(f"{summary} (tag {done.tag})")
    echo("  (git push --tags publishes registry events)")


def _version_json(v: Version) -> dict[str, Any]:
    return {
        "name": v.name,
        "version": v.version,
        "commit": v.commit,
        "path": v.path,
        "kind": v.kind,
        "oid": v.oid,
        "size": v.size,
        "meta": dict(v.meta),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _cell(value: Any) -> str:
    if isinstance(value, datetime):
        return _when(value)
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value) or "-"
    return _scalar(value)


def _when(date: datetime) -> str:
    return date.strftime("%Y-%m-%d %H:%M")
