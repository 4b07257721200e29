"""`gitmv gc`: the command, and how its reports read (DESIGN 3.2; the rules: retention.py)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gitmv.cli._app import app, echo, emit_json, fail, human_size, is_tty, warn
from gitmv.cli.common import open_repo

if TYPE_CHECKING:
    from gitmv.ops.gc import Doomed, GcReport, RemoteGcPlan
    from gitmv.repo.context import Repo


@app.command()
def gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Show what would go; change nothing.")
    ] = False,
    remote: Annotated[
        str | None,
        typer.Option("--remote", "-r", help="Also delete unneeded objects from this remote."),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete from the remote without asking.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Remove objects nothing needs: the cache keeps every version git can reach unless the
    default remote has it; a remote loses only what no commit names (after gc.remote_grace)."""
    from gitmv.ops import gc as retention
    from gitmv.ops.session import open_session  # the remote stack: imported on use

    repo = open_repo(hooks="install")
    can_ask = is_tty() and sys.stdin.isatty() and not json_out
    if remote is not None and not dry_run and not yes and not can_ask:
        fail(
            "gc --remote deletes from a shared store and asks first, but there is no terminal",
            "pass --yes to delete without asking (or --dry-run to see what would go)",
        )
    store = None
    if remote is not None:  # a bad name or a dead remote changes nothing, the cache included
        store = open_session(repo, remote).remote
        store.check(write=True)
    report = retention.gc_cache(repo, dry_run=dry_run)
    plan = None
    if store is not None:
        plan = retention.plan_remote_gc(repo, store)
    if json_out:
        emit_json(_json(repo, report, plan, dry_run))
    else:
        _show_cache(repo, report, dry_run)
    _warn_unresolved(report.unresolved)
    if plan is None or store is None:
        return
    _warn_unresolved(plan.unresolved)
    if not json_out:
        _show_plan(repo, plan, "would delete" if dry_run else "deleting" if yes else "will delete")
    if dry_run or not (plan.remove or plan.temps or plan.chunks or _pack_work(plan)):
        return
    if not yes and not typer.confirm(f"delete these from remote {plan.remote}?", default=False):
        echo(f"remote {plan.remote}: nothing deleted")
        return
    retention.apply_remote_gc(store, plan)
    if not json_out:
        chunks = f" and {len(plan.chunks)} chunks" if plan.chunks else ""
        echo(
            f"remote {plan.remote}: deleted {len(plan.remove)} objects{chunks}"
            f" ({human_size(plan.nbytes)}); kept {plan.kept}"
        )


def describe(repo: Repo, d: Doomed) -> str:
    """`path @ commit, size`; for an object no commit names, says so in words."""
    size = human_size(d.size)
    if d.commit:
        return f"{repo.display(d.path)} @ {d.commit}, {size}"
    name = (
        repo.display(d.path)
        if d.path
        else f"an object of unknown name ({d.oid.algorithm}:{d.oid.hex[:12]})"
    )
    return f"{name} (named by no commit), {size}"


def _show_cache(repo: Repo, report: GcReport, dry_run: bool) -> None:
    verb = "would remove" if dry_run else "removed"
    if dry_run:
        for d in report.removed:
            echo(f"  {describe(repo, d)}")
    temps = f" and {len(report.temps)} leftover temp files" if report.temps else ""
    if report.quarantined:
        temps += f" and {len(report.quarantined)} quarantined corrupt objects"
    echo(
        f"cache: {verb} {len(report.removed)} objects ({human_size(report.nbytes)}){temps};"
        f" kept {report.kept}"
    )
    if report.confirmed:
        echo(f"  ({report.confirmed} of them: older commits' versions the default remote has)")
    if report.held:
        echo(
            f"cache: kept {report.held} objects ({human_size(report.held_bytes)}) that only"
            f" older commits name: {report.held_reason}"
        )


def _show_plan(repo: Repo, plan: RemoteGcPlan, head: str) -> None:
    grace = _days(plan.grace)
    recent = (
        f" (and {plan.recent} objects no commit names, younger than {grace}: gc.remote_grace)"
        if plan.recent
        else ""
    )
    if not plan.remove and not plan.temps and not plan.chunks and not _pack_work(plan):
        echo(f"remote {plan.remote}: nothing to delete; kept {plan.kept}{recent}")
        return
    echo(
        f"remote {plan.remote}: {head} {len(plan.remove)} objects"
        f" ({human_size(plan.nbytes)}) that no commit names, older than {grace}:"
    )
    for d in plan.remove:
        echo(f"  {describe(repo, d)}")
    if plan.chunks:
        echo(f"  {len(plan.chunks)} chunks no kept object is made of")
    if _pack_work(plan):
        p = plan.packs
        echo(
            f"  packs: {len(p.drop)} dropped, {len(p.rewrite)} rewritten without"
            f" {len(p.doomed)} members ({human_size(p.nbytes)}), {len(p.orphans)} unindexed"
        )
    for key in plan.temps:
        echo(f"  {key} (leftover temp file)")
    if head == "would delete" or recent:
        echo(f"remote {plan.remote}: kept {plan.kept}{recent}")


def _pack_work(plan: RemoteGcPlan) -> bool:
    return bool(plan.packs.drop or plan.packs.rewrite or plan.packs.orphans)


def _days(seconds: float) -> str:
    if seconds >= 86400 and seconds % 86400 == 0:
        days = int(seconds // 86400)
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{seconds:g} seconds"


def _item(d: Doomed) -> dict[str, Any]:
    return {"oid": str(d.oid), "path": d.path, "commit": d.commit or None, "size": d.size}


def _json(repo: Repo, report: GcReport, plan: RemoteGcPlan | None, dry_run: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "dry_run": dry_run,
        "cache": {
            "removed": [_item(d) for d in report.removed],
            "bytes": report.nbytes,
            "temps": len(report.temps),
            "quarantined": len(report.quarantined),
            "kept": report.kept,
            "held": report.held,
            "held_bytes": report.held_bytes,
            "held_reason": report.held_reason or None,
        },
    }
    if plan is not None:
        doc["remote"] = {
            "name": plan.remote,
            "removed": [_item(d) for d in plan.remove],
            "bytes": plan.nbytes,
            "chunks": len(plan.chunks),
            "temps": list(plan.temps),
            "kept": plan.kept,
            "recent": plan.recent,
            "grace_seconds": plan.grace,
        }
    return doc


def _warn_unresolved(unresolved: Sequence[Any]) -> None:
    for oid in unresolved:
        warn(
            f"{oid} is needed but its manifest or chunk list cannot be read: its parts are unknown"
        )
