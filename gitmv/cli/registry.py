"""Registry commands: register, assign, unassign, rollback, list, show, history, diff, get.

Reads (list, show, history, diff) load every registry tag with one `git for-each-ref` and
need no remote. The verbs (gitmv.ops.promote, .show, .get) and the registry reads are
imported inside each command.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gitmv.cli._app import echo, emit_json, fail, human_size, warn
from gitmv.cli.common import open_repo
from gitmv.cli.registryapp import Json, registry_app
from gitmv.cli.registryapp import scalar as _scalar
from gitmv.cli.registryapp import table as _table

if TYPE_CHECKING:
    from gitmv.ops.promote import Outcome
    from gitmv.registry.tags import Event

Name = Annotated[str, typer.Argument(help="The model's registry name (its meta.name or path).")]
Ref = Annotated[
    str, typer.Argument(help="NAME@vX.Y.Z, NAME@STAGE, NAME@latest, or NAME (the latest).")
]
Stage = Annotated[str, typer.Option("--stage", "-s", help="The stage, e.g. production.")]
Message = Annotated[str | None, typer.Option("--message", "-m", help="The tag's message.")]
Force = Annotated[
    bool,
    typer.Option(
        "--force", help="Tag even if the default remote lacks its bytes (the tag says so)."
    ),
]


# -- writing ---------------------------------------------------------------------------------


@registry_app.command("register")
def register(
    name: Name,
    rev: Annotated[str, typer.Argument(help="The commit holding that version.")] = "HEAD",
    version: Annotated[
        str | None, typer.Option("--version", help="The version to register, e.g. v1.2.0.")
    ] = None,
    bump: Annotated[
        str | None,
        typer.Option("--bump", help="Bump the latest version: major, minor or patch (default)."),
    ] = None,
    message: Message = None,
    force: Force = False,
    json_out: Json = False,
) -> None:
    """Register the artifact NAME at REV as a new version (tag NAME@vX.Y.Z)."""
    from gitmv.ops.promote import register as do_register

    repo = open_repo(hooks="install")
    outcome = do_register(repo, name, rev, version=version, bump=bump, message=message, force=force)
    _report(outcome, json_out, f"registered {name}@{outcome.version}")


@registry_app.command("assign")
def assign(
    name: Name,
    stage: Stage,
    version: Annotated[
        str | None, typer.Option("--version", help="The version (default: the latest).")
    ] = None,
    message: Message = None,
    force: Force = False,
    json_out: Json = False,
) -> None:
    """Promote a version to a stage (tag NAME#STAGE#N)."""
    from gitmv.ops.promote import assign as do_assign

    repo = open_repo(hooks="install")
    outcome = do_assign(repo, name, stage, version=version, message=message, force=force)
    if not outcome.tags and not json_out:
        echo(f"{name}@{outcome.version} is already in {stage}; no tag created")
        return
    _report(outcome, json_out, f"assigned {stage} to {name}@{outcome.version}")


@registry_app.command("unassign")
def unassign(name: Name, stage: Stage, message: Message = None, json_out: Json = False) -> None:
    """Withdraw a stage, so that no version holds it (tag NAME#STAGE!#N)."""
    from gitmv.ops.promote import unassign as do_unassign

    repo = open_repo(hooks="install")
    outcome = do_unassign(repo, name, stage, message=message)
    versions = ", ".join(outcome.withdrawn)
    _report(outcome, json_out, f"withdrew {stage} from {name} ({versions})")


@registry_app.command("rollback")
def rollback(
    name: Name, stage: Stage, message: Message = None, force: Force = False, json_out: Json = False
) -> None:
    """Give a stage back to the version that held it before the current one."""
    from gitmv.ops.promote import rollback as do_rollback

    repo = open_repo(hooks="install")
    outcome = do_rollback(repo, name, stage, message=message, force=force)
    was = outcome.withdrawn[0] if outcome.withdrawn else "?"
    _report(outcome, json_out, f"rolled {name} {stage} back from {was} to {outcome.version}")


def _report(outcome: Outcome, json_out: bool, summary: str) -> None:
    from gitmv.ops.promote import describe

    backup = outcome.backup
    if json_out:
        emit_json(describe(outcome))
    else:
        echo(f"{summary} (tag{'s' if len(outcome.tags) != 1 else ''} {', '.join(outcome.tags)})")
    if backup is None or not outcome.tags:
        return
    if backup.remote is None:
        warn(
            f"{outcome.name}@{outcome.version} is not backed up: no default remote is "
            "configured (gitmv remote add NAME URL --default, then gitmv push)"
        )
    elif backup.forced:
        warn(f"--force: remote {backup.remote} lacks " + ", ".join(backup.missing))
    if not json_out:
        echo("  (git push --tags publishes registry events)")


# -- reading ---------------------------------------------------------------------------------


@registry_app.command("list")
def list_command(
    all_names: Annotated[
        bool, typer.Option("--all", "-a", help="Include deprecated names.")
    ] = False,
    json_out: Json = False,
) -> None:
    """Every registered name: its latest version and the version in each stage."""
    from gitmv.registry.tags import load

    repo = open_repo(hooks="warn")
    registry = load(repo)
    names = registry.names(include_deprecated=all_names)
    artifacts = [registry.artifacts[n] for n in names]
    if json_out:
        emit_json(
            [
                {
                    "name": a.name,
                    "latest": a.latest,
                    "stages": dict(sorted(a.stages.items())),
                    "versions": [v.version for v in a.versions if v.registered and v.active],
                    "deprecated": a.deprecated,
                }
                for a in artifacts
            ]
        )
        return
    if not artifacts:
        echo("No registered models yet (gitmv registry register NAME registers one).")
        return
    stages = sorted({s for a in artifacts for s in a.stages})
    rows = [["name", "latest", *stages]]
    for a in artifacts:
        label = a.name + (" (deprecated)" if a.deprecated else "")
        rows.append([label, a.latest or "-", *(a.stages.get(s, "-") for s in stages)])
    _table(rows)


@registry_app.command("show")
def show(
    ref: Ref,
    packages: Annotated[
        bool, typer.Option("--packages", help="Also print the frozen package list.")
    ] = False,
    json_out: Json = False,
) -> None:
    """A version's bytes, commit, metadata, lineage and registry events."""
    from gitmv.ops.show import show as do_show

    repo = open_repo(hooks="warn")
    shown = do_show(repo, ref, packages=packages)
    version, inputs, package_list = shown.version, shown.inputs, shown.packages
    if json_out:
        data: dict[str, Any] = {
            "name": version.name,
            "version": version.version,
            "stage": version.stage,
            "stages": list(shown.stages),
            "commit": version.commit,
            "path": version.path,
            "kind": version.kind,
            "oid": version.oid,
            "size": version.size,
            "meta": dict(version.meta),
            "inputs": inputs,
            "events": [_event_json(e) for e in shown.events],
        }
        if packages:
            data["packages"] = package_list
        emit_json(data)
        return
    stages = shown.stages
    echo(f"{version.ref}" + (f"  ({', '.join(stages)})" if stages else ""))
    echo(f"  path:     {version.path} ({version.kind})")
    echo(f"  oid:      {version.oid}")
    echo(f"  size:     {human_size(version.size)} ({version.size} bytes)")
    echo(f"  commit:   {version.commit}")
    _show_meta(version.meta, inputs)
    if package_list is not None:
        echo("  packages:")
        for line in package_list or ["(the list is not in the cache nor on the remote)"]:
            echo(f"    {line}")
    echo("  events:")
    for e in shown.events:
        echo(f"    {_when(e)}  {_what(e):<28} {e.who}")


def _show_meta(meta: Mapping[str, Any], inputs: Sequence[Mapping[str, Any]]) -> None:
    from gitmv.registry.meta import flatten

    if "type" in meta:
        echo(f"  type:     {meta['type']}")
    for key in ("params", "metrics"):
        values = meta.get(key)
        if isinstance(values, Mapping) and values:
            echo(f"  {key}:")
            for name, value in flatten(values).items():
                echo(f"    {name}: {_scalar(value)}")
    if inputs:
        echo("  inputs:")
        for item in inputs:
            versions = ", ".join(item["versions"])
            echo(f"    {item['path']}  {item['oid']}" + (f"  ({versions})" if versions else ""))
    code = meta.get("code")
    if isinstance(code, Mapping):
        dirty = " (dirty: uncommitted changes)" if code.get("dirty") else ""
        echo(f"  code:     {code.get('commit') or '(no commit yet)'}{dirty}")
    env = meta.get("env")
    if isinstance(env, Mapping):
        echo(f"  env:      python {env.get('python')}, packages {env.get('packages')}")
    shown = {"name", "type", "params", "metrics", "inputs", "code", "env"}
    extra = {k: v for k, v in meta.items() if k not in shown}
    for name, value in flatten(extra).items():
        echo(f"  {name}: {_scalar(value)}")


@registry_app.command("history")
def history(name: Name, json_out: Json = False) -> None:
    """Every registry event of NAME, oldest first: when, what, who."""
    from gitmv.registry.tags import load

    repo = open_repo(hooks="warn")
    artifact = load(repo).artifact(name)
    if json_out:
        emit_json([_event_json(e) for e in artifact.events])
        return
    rows = [["when", "event", "version", "stage", "who", "tag"]]
    for e in artifact.events:
        action = e.action if e.label is None else f"{e.action} {e.label}"
        rows.append([_when(e), action, e.version or "-", e.stage or "-", e.who, e.tag])
    _table(rows)


@registry_app.command("diff")
def diff(
    ref_a: Annotated[str, typer.Argument(help="The old version, e.g. churn@v1.0.0.")],
    ref_b: Annotated[str, typer.Argument(help="The new version, e.g. churn@production.")],
    json_out: Json = False,
) -> None:
    """Compare two versions: params, metrics (with deltas), inputs, size and oid."""
    from gitmv.registry.artifacts import resolve_version
    from gitmv.registry.compare import compare
    from gitmv.registry.tags import load

    repo = open_repo(hooks="warn")
    loaded = load(repo)
    a = resolve_version(repo, ref_a, loaded)[0]
    b = resolve_version(repo, ref_b, loaded)[0]
    result = compare(a, b)
    if json_out:
        emit_json(result)
        return
    echo(f"{a.ref} -> {b.ref}")
    same = "same" if a.oid == b.oid else "changed"
    echo(f"  oid:   {a.oid} -> {b.oid} ({same})")
    delta = b.size - a.size
    echo(f"  size:  {human_size(a.size)} -> {human_size(b.size)} ({delta:+d} bytes)")
    for section in ("params", "metrics"):
        rows = result[section]
        if not rows:
            continue
        echo(f"  {section}:")
        for row in rows:
            line = f"    {row['key']}: {_scalar(row['old'])} -> {_scalar(row['new'])}"
            if row.get("delta") is not None:
                line += f" ({row['delta']:+.6g})"
            elif row["change"] != "modified":
                line += f" ({row['change']})"
            echo(line)
    if result["inputs"]:
        echo("  inputs:")
        for row in result["inputs"]:
            echo(
                f"    {row['change']:<8} {row['path']}  {row['old'] or '-'} -> {row['new'] or '-'}"
            )
    if not (result["params"] or result["metrics"] or result["inputs"]) and a.oid == b.oid:
        echo("  (no difference)")


@registry_app.command("get")
def get(
    ref: Ref,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Where to write it ('-' for stdout; default: ./NAME)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite OUTPUT.")] = False,
    json_out: Json = False,
) -> None:
    """Write a version's bytes, from the cache or the default remote, without a checkout."""
    from gitmv.ops.get import get as do_get
    from gitmv.ops.get import open_version
    from gitmv.registry.artifacts import resolve_version

    if output == "-" and json_out:
        fail("--json and --output - both want stdout", "write the bytes to a file", code=2)
    repo = open_repo(hooks="warn")
    if output == "-":
        with open_version(repo, ref) as f:
            while block := f.read(1024 * 1024):
                sys.stdout.buffer.write(block)
        sys.stdout.buffer.flush()
        return
    target = output
    if target is None:
        target = resolve_version(repo, ref)[0].path.rsplit("/", 1)[-1]
    version = do_get(repo, ref, target, force=force)
    if json_out:
        emit_json({**asdict(version), "output": target})
        return
    what = f"{human_size(version.size)}, {version.oid}"
    sys.stderr.write(f"wrote {version.ref} to {target} ({what})\n")


# -- rendering -------------------------------------------------------------------------------


def _event_json(e: Event) -> dict[str, Any]:
    return {
        "date": e.date.isoformat(),
        "event": e.action,
        "name": e.name,
        "version": e.version,
        "stage": e.stage,
        "label": e.label,
        "tag": e.tag,
        "commit": e.commit,
        "author": e.tagger_name,
        "author_email": e.tagger_email,
        "message": e.message,
        "signed": e.signed,
    }


def _when(e: Event) -> str:
    return e.date.strftime("%Y-%m-%d %H:%M:%S %z")


def _what(e: Event) -> str:
    if e.action in ("assign", "unassign"):
        arrow = "->" if e.action == "assign" else "-x"
        return f"{e.action} {e.version} {arrow} {e.stage}"
    if e.label is not None:
        return f"{e.action} {e.label}"
    return f"{e.action} {e.version or ''}".rstrip()
