"""The transfer commands: push, fetch, pull, verify. Each parses, calls its verb in ops,
renders the report and exits.

The verbs are imported inside each command: loading the CLI for `gitmv status` never
pays for them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gitmv.base.errors import GitmvError
from gitmv.cli._app import app, echo, emit_json, fail, human_size
from gitmv.cli.common import checkout_exit_code, checkout_json, open_repo, render_checkout
from gitmv.cli.progress import progress
from gitmv.cli.render import detail, verbosity

if TYPE_CHECKING:
    from gitmv.ops.report import TransferReport
    from gitmv.repo.context import Repo

Paths = Annotated[list[str] | None, typer.Argument(help="Files or folders (default: all).")]
RemoteName = Annotated[
    str | None, typer.Option("--remote", "-r", help="Remote name (default: core.remote).")
]
Jobs = Annotated[
    int | None, typer.Option("--jobs", "-j", min=1, help="Objects to transfer at once.")
]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@app.command()
def push(
    paths: Paths = None,
    remote: RemoteName = None,
    all_refs: Annotated[
        bool,
        typer.Option("--all", help="The artifacts of every commit of every local branch and tag."),
    ] = False,
    revs: Annotated[
        list[str] | None,
        typer.Option("--rev", help="The artifacts of this commit (repeat for more)."),
    ] = None,
    jobs: Jobs = None,
    json_out: Json = False,
) -> None:
    """Upload the bytes of artifacts to a remote (what it lacks, nothing else)."""
    from gitmv.ops import push as verb

    try:  # before anything is opened: a usage error changes nothing
        verb.check_source(paths or [], all_refs, revs or [])
    except GitmvError as exc:
        fail(exc.message, exc.hint, code=2)
    repo = open_repo(hooks="install")
    with progress("push") as bar:
        report = verb.push(
            repo,
            paths or [],
            all_refs=all_refs,
            revs=revs or [],
            remote=remote,
            jobs=jobs,
            progress=bar,
            list_sent=verbosity() > 0 and not json_out,
        )
    if json_out:
        emit_json(transfer_json(repo, report))
    else:
        _list_sent(repo, report)
    _report(repo, report, "pushed", "to", json_out=json_out)


@app.command()
def fetch(
    paths: Paths = None,
    remote: RemoteName = None,
    rev: Annotated[
        str | None, typer.Option("--rev", help="Fetch for this commit's pointers.")
    ] = None,
    jobs: Jobs = None,
    json_out: Json = False,
) -> None:
    """Download the bytes of artifacts into the cache (hash-checked), without checkout."""
    from gitmv.ops import fetch as verb

    repo = open_repo(hooks="install")
    with progress("fetch") as bar:
        report = verb.fetch(repo, paths or [], rev=rev, remote=remote, jobs=jobs, progress=bar)
    if json_out:
        emit_json(transfer_json(repo, report))
    _report(repo, report, "fetched", "from", json_out=json_out)


@app.command()
def pull(
    paths: Paths = None,
    remote: RemoteName = None,
    jobs: Jobs = None,
    json_out: Json = False,
) -> None:
    """Fetch, then check out: make the work tree's artifacts match their pointers."""
    from gitmv.ops import pull as verb

    repo = open_repo(hooks="install")
    with progress("pull") as bar:  # fetching, then writing the work tree's files
        report = verb.pull(repo, paths or [], remote=remote, jobs=jobs, progress=bar)
    if json_out:
        refetched = report.refetched
        emit_json(
            {
                "fetched": transfer_json(repo, report.fetched),
                "healed": list(report.healed),
                "refetched": transfer_json(repo, refetched) if refetched is not None else None,
                "checkout": checkout_json(repo, report.checkout) if report.checkout else None,
            }
        )
    _report(repo, report.fetched, "fetched", "from", exit_on_failure=False, json_out=json_out)
    for oid in report.healed:
        sys.stderr.write(f"warning: cache object {oid} was corrupt; downloading it again\n")
    if report.refetched is not None:
        _report(repo, report.refetched, "fetched", "from", json_out=json_out)
    assert report.checkout is not None  # a pull stops before checking out only on a failure
    render_checkout(repo, report.checkout, json_out)
    code = checkout_exit_code(repo, report.checkout)
    ok = report.fetched.ok  # a failed object leaves its artifact alone; checkout does the rest
    if not ok and code == 0:
        sys.stderr.write("error: some objects could not be fetched (listed above)\n")
    raise typer.Exit(1 if not ok else code)


def transfer_json(repo: Repo, report: TransferReport) -> dict[str, Any]:
    return {
        "remote": report.remote,
        "artifacts": report.artifacts,
        "transferred": report.transferred,
        "bytes": report.nbytes,
        "skipped": report.skipped,
        "failed": [
            {"path": repo.display(f.path), "oid": str(f.oid), "reason": f.reason}
            for f in report.failed
        ],
        "aborted": report.aborted,
        "ok": report.ok,
    }


def _report(
    repo: Repo,
    report: TransferReport,
    verb: str,
    preposition: str,
    exit_on_failure: bool = True,
    json_out: bool = False,
) -> None:
    """The summary line (not under --json, whose document is out already), then what failed,
    on stderr, with the exit."""
    if report.aborted:
        _list_failures(repo, report)
        fail(report.aborted, report.abort_hint)
    moved = f"{report.transferred} object{'s' if report.transferred != 1 else ''}"
    skipped = f"; {report.skipped} already there" if report.skipped else ""
    if not json_out:
        echo(
            f"{verb} {moved} ({human_size(report.nbytes)}) {preposition} remote {report.remote}"
            + skipped
        )
    if report.failed:
        _list_failures(repo, report)
        if exit_on_failure:
            n = len(report.failed)
            fail(
                f"{n} object{'s' if n != 1 else ''} failed (listed above)",
                "run `gitmv verify --remote NAME` to check the remote",
            )


def _list_sent(repo: Repo, report: TransferReport) -> None:
    """-v: each object a push sent, before the summary (on stderr, as every -v line)."""
    for s in report.sent:
        what = f"manifest of {repo.display(s.path)}" if s.manifest else repo.display(s.path)
        detail(f"sent {s.where}: {what} ({human_size(s.size)}, {s.oid})")


def _list_failures(repo: Repo, report: TransferReport) -> None:
    for f in report.failed:
        sys.stderr.write(f"  {repo.display(f.path)} ({f.oid}): {f.reason}\n")


@app.command()
def verify(
    remote: Annotated[
        str | None,
        typer.Option("--remote", "-r", help="Also check that this remote has HEAD's objects."),
    ] = None,
    deep: Annotated[
        bool, typer.Option("--deep", help="Re-hash the remote's objects too (downloads them).")
    ] = False,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Remote objects to check at once.")
    ] = None,
    json_out: Json = False,
) -> None:
    """Re-hash the cache; with --remote, check the remote holds what HEAD needs."""
    from gitmv.ops import verify as maintenance
    from gitmv.ops.session import open_session  # the remote stack: imported on use

    if deep and remote is None:
        fail("--deep re-hashes a remote's objects: it needs a remote", "add --remote NAME", code=2)
    repo = open_repo()
    session = open_session(repo, remote, jobs) if remote else None
    store = session.remote if session else None
    n = session.jobs if session else (jobs or 8)
    report = maintenance.verify(repo, store, deep=deep, jobs=n)
    if json_out:
        emit_json(
            {
                "cache_checked": report.cache_checked,
                "remote_checked": report.remote_checked,
                "problems": [
                    {"oid": str(p.oid), "path": p.path, "where": p.where, "problem": p.problem}
                    for p in report.problems
                ],
            }
        )
    else:
        for p in report.problems:
            name = repo.display(p.path) if p.path else "(no artifact names it)"
            place = "cache" if p.where == "cache" else f"remote {p.where}"
            echo(f"{p.problem}: {p.oid}  {name}  [{place}]")
        what = f"{report.cache_checked} cache objects"
        if store is not None:
            what += f", {report.remote_checked} objects on remote {store.label}"
        if not report.problems:
            echo(f"verified {what}: all sound")
    if report.problems:
        n_bad = len(report.problems)
        hint = (
            "delete a corrupt cache file and run `gitmv fetch` to restore it; "
            "`gitmv push` uploads what a remote lacks"
        )
        fail(f"{n_bad} problem{'s' if n_bad != 1 else ''} found (checked {what})", hint)
