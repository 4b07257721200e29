"""Remote commands: remote add/list/remove/default, push, fetch, pull, verify, gc.

The core (remote.py, transfer.py, maintenance.py) is imported inside each command, so
that loading the CLI for `gitmv status` never pays for fsspec or s3fs.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gitmv.base.errors import GitmvError
from gitmv.cli._app import app, echo, emit_json, fail, human_size, is_tty
from gitmv.cli.workspace import checkout_exit_code, open_repo, render_checkout

if TYPE_CHECKING:
    from gitmv.remotes.remote import Remote
    from gitmv.repo.context import Repo
    from gitmv.store.hashing import Oid
    from gitmv.store.pointer import Pointer
    from gitmv.transfer.engine import Progress, TransferResult
    from gitmv.workspace.tree import CheckoutReport

remote_app = typer.Typer(
    help="Manage the stores that hold the bytes (folders, S3, GCS, any fsspec URL).",
    no_args_is_help=True,
)
app.add_typer(remote_app, name="remote")

Paths = Annotated[list[str] | None, typer.Argument(help="Files or folders (default: all).")]
RemoteName = Annotated[
    str | None, typer.Option("--remote", "-r", help="Remote name (default: core.remote).")
]
Jobs = Annotated[
    int | None, typer.Option("--jobs", "-j", min=1, help="Objects to transfer at once.")
]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

# -- remote add / list / remove / default ----------------------------------------------------


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
    repo = open_repo()
    made_default = add_remote(repo, name, url, default=default, local=local, options=option or [])
    where = "local config" if local else ".gitmv/config.yaml"
    echo(f"added remote {name!r} to {where}" + (" (default)" if made_default else ""))


def add_remote(
    repo: Repo, name: str, url: str, *, default: bool, local: bool, options: Sequence[str]
) -> bool:
    """Write the remote; return whether it became the default (the first remote always does).

    Everything is checked before a byte is written: the name, the URL (text, protocol
    installed, a folder outside the repository), each option's type, and no credential
    (by option name, or a URL with a password) in the committed project config."""
    from pathlib import Path

    from gitmv.base.config import has_url_password, is_secret, redact_url
    from gitmv.remotes.options import check_name, check_protocol, check_url, normalize_options

    check_name(name)
    check_url(url, cwd=Path(repo.cwd), root=repo.root, git_dir=repo.paths.common_dir)
    check_protocol(url)
    if "://" not in url and not os.path.isabs(os.path.expanduser(url)):
        # typed relative to where the user stands; stored relative to the repository root,
        # which is what every clone resolves it against
        url = os.path.relpath(os.path.join(repo.cwd, url), repo.root)
    remotes = repo.config.get("remote") or {}
    if name in remotes:
        raise GitmvError(
            f"remote {name!r} already exists",
            hint=f"remove it first: `gitmv remote remove {name}`",
        )
    values = normalize_options(dict(_parse_option(o) for o in options))
    layer = "local" if local else "project"
    if layer == "project":
        if has_url_password(url):
            raise GitmvError(
                f"refusing to write the URL {redact_url(url)!r}, which carries a password, "
                "to the committed project config",
                hint="pass --local to keep it in the local config, outside git, or let "
                "the storage library find the credentials",
            )
        for key, value in values.items():
            if is_secret(key, value):
                what = "credential option" if not has_url_password(str(value)) else "option"
                carries = "" if what != "option" else ", whose URL carries a password,"
                raise GitmvError(
                    f"refusing to write the {what} {key!r}{carries} to the committed "
                    "project config",
                    hint="pass --local to keep it in the local config, outside git",
                )
    make_default = default or not repo.config.get("core.remote")
    with repo.lock():
        repo.config.set(layer, f"remote.{name}", {"url": url, **values})
        if make_default:
            repo.config.set(layer, "core.remote", name)
    return make_default


def _parse_option(text: str) -> tuple[str, object]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        shown = text if not sep else "=..."
        raise GitmvError(f"malformed option {shown!r}", hint="write --option KEY=VALUE")
    value: object = raw
    if raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    elif raw.isdigit():
        value = int(raw)
    return key.strip(), value


@remote_app.command("list")
def remote_list(json_out: Json = False) -> None:
    """List remotes; the default is marked. Secret option values are never shown."""
    from gitmv.base.config import redact_url

    repo = open_repo()
    default = repo.config.get("core.remote")
    remotes = repo.config.get("remote") or {}
    rows = []
    for name in sorted(remotes):
        entry = remotes[name] if isinstance(remotes[name], dict) else {}
        options = {str(k): _shown(str(k), v) for k, v in entry.items() if k != "url"}
        rows.append(
            {
                "name": name,
                "url": redact_url(str(entry.get("url", ""))),
                "default": name == default,
                "layers": _layers_of(repo, name),
                "options": options,
            }
        )
    if json_out:
        emit_json(rows)
        return
    if not rows:
        echo("No remotes (gitmv remote add NAME URL adds one).")
    for row in rows:
        mark = "*" if row["default"] else " "
        opts = ", ".join(f"{k}={v}" for k, v in row["options"].items())
        where = "" if row["layers"] == ["project"] else f"  [{', '.join(row['layers'])}]"
        echo(f"{mark} {row['name']}  {row['url']}" + (f"  ({opts})" if opts else "") + where)


def _shown(key: str, value: object) -> object:
    """An option as `remote list` may show it: secrets masked, nested mappings
    (`config_kwargs`, `client_kwargs`) masked key by key."""
    from gitmv.base.config import redact_option

    if isinstance(value, dict):
        return {str(k): _shown(str(k), v) for k, v in value.items()}
    return redact_option(key, value)


def _layers_of(repo: Repo, name: str) -> list[str]:
    found = []
    for layer in ("project", "local", "user"):
        doc = repo.config.layer_doc(layer)
        remotes = doc.get("remote") if isinstance(doc, dict) else None
        if isinstance(remotes, dict) and name in remotes:
            found.append(layer)
    return found


@remote_app.command("remove")
def remote_remove(name: Annotated[str, typer.Argument(help="The remote to remove.")]) -> None:
    """Remove a remote from the project and local config (and unset it as the default)."""
    repo = open_repo()
    layers = _layers_of(repo, name)
    if not layers:
        fail(f"no remote named {name!r}", "see `gitmv remote list`")
    if layers == ["user"]:
        fail(
            f"remote {name!r} is defined in your user config ({repo.config.files['user']})",
            "edit that file to remove it",
        )
    with repo.lock():
        for layer in ("project", "local"):
            repo.config.unset(layer, f"remote.{name}")
            doc = repo.config.layer_doc(layer)
            core = doc.get("core") if isinstance(doc, dict) else None
            if isinstance(core, dict) and core.get("remote") == name:
                repo.config.unset(layer, "core.remote")
    echo(f"removed remote {name!r}")


@remote_app.command("default")
def remote_default(
    name: Annotated[str, typer.Argument(help="The remote to use when --remote is not given.")],
    local: Annotated[
        bool, typer.Option("--local", help="Set it for this clone only (local config).")
    ] = False,
) -> None:
    """Make NAME the default remote."""
    repo = open_repo()
    layers = _layers_of(repo, name)
    if not layers:
        fail(f"no remote named {name!r}", "see `gitmv remote list`")
    # A remote known only to this clone must not become everyone's default; and a local
    # default already there would hide a new project one.
    local_doc = repo.config.layer_doc("local")
    local_core = local_doc.get("core") if isinstance(local_doc, dict) else None
    has_local_default = isinstance(local_core, dict) and local_core.get("remote") is not None
    layer = "local" if local or "project" not in layers or has_local_default else "project"
    with repo.lock():
        repo.config.set(layer, "core.remote", name)
    echo(f"default remote: {name!r}" + (" (local config)" if layer == "local" else ""))


# -- push / fetch / pull ---------------------------------------------------------------------


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
) -> None:
    """Upload the bytes of artifacts to a remote (what it lacks, nothing else)."""
    from gitmv.base import git
    from gitmv.ops.session import open_session  # the remote stack: imported on use
    from gitmv.repo import history
    from gitmv.transfer import engine as transfer

    repo = open_repo(hooks="install")
    if (all_refs or revs) and paths:
        which = "--all" if all_refs else "--rev"
        fail(f"{which} takes no paths", f"drop the paths, or drop {which}", code=2)
    if all_refs and revs:
        fail("--all and --rev exclude each other", "pass one of them", code=2)
    if all_refs:
        pointers = history.pointers(repo, git.LOCAL_BRANCHES_AND_TAGS)
    elif revs:
        pointers = history.pointers(repo, ["--no-walk", *history.resolve_revs(repo, revs)])
    else:
        pointers = _work_tree(repo, paths or [])
    session = open_session(repo, remote, jobs)
    store, n, settings = session.remote, session.jobs, session.settings
    with _progress("push") as progress:
        result = transfer.push(
            repo.cache, store, pointers, jobs=n, progress=progress, settings=settings
        )
    _report(repo, result, "pushed", "to")


@app.command()
def fetch(
    paths: Paths = None,
    remote: RemoteName = None,
    rev: Annotated[
        str | None, typer.Option("--rev", help="Fetch for this commit's pointers.")
    ] = None,
    jobs: Jobs = None,
) -> None:
    """Download the bytes of artifacts into the cache (hash-checked), without checkout."""
    repo = open_repo(hooks="install")
    _report(repo, _fetch(repo, paths or [], remote, rev, jobs), "fetched", "from")


@app.command()
def pull(
    paths: Paths = None,
    remote: RemoteName = None,
    jobs: Jobs = None,
) -> None:
    """Fetch, then check out: make the work tree's artifacts match their pointers."""
    from gitmv.workspace.tree import CheckoutOnArrival

    repo = open_repo(hooks="install")
    pointers = _work_tree(repo, paths or [])
    early = CheckoutOnArrival(repo, pointers)
    result = _fetch(repo, paths or [], remote, None, jobs, pointers, early)
    _report(repo, result, "fetched", "from", exit_on_failure=False)
    ok = result.ok  # a failed object leaves its artifact alone; checkout does the rest
    report = _checkout_healing(repo, paths or [], remote, jobs, pointers, early.done)
    render_checkout(repo, report)
    code = checkout_exit_code(repo, report)
    if not ok and code == 0:
        sys.stderr.write("error: some objects could not be fetched (listed above)\n")
    raise typer.Exit(1 if not ok else code)


def _checkout_healing(
    repo: Repo,
    paths: Sequence[str],
    remote: str | None,
    jobs: int | None,
    pointers: list[tuple[str, Pointer]],
    done: dict[str, str],
) -> CheckoutReport:
    """Pull's checkout: a cache object that fails its hash as it is checked out is
    quarantined (`Cache.materialize`); fetch it again and check out once more."""
    from gitmv.store.cache import CorruptObject
    from gitmv.workspace.tree import checkout

    try:
        report = checkout(repo, paths, done=done)
    except CorruptObject:
        report = None
    if not repo.cache.quarantined:
        assert report is not None
        return report
    for oid in repo.cache.quarantined:
        sys.stderr.write(f"warning: cache object {oid} was corrupt; downloading it again\n")
    repo.cache.quarantined.clear()
    _report(repo, _fetch(repo, paths, remote, None, jobs, pointers), "fetched", "from")
    return checkout(repo, paths, done={k: v for k, v in done.items() if v == "restored"})


def _fetch(
    repo: Repo,
    paths: Sequence[str],
    remote: str | None,
    rev: str | None,
    jobs: int | None,
    pointers: list[tuple[str, Pointer]] | None = None,
    cached: Callable[[Oid], None] | None = None,
) -> TransferResult:
    from gitmv.ops.session import open_session  # the remote stack: imported on use
    from gitmv.transfer import engine as transfer

    if pointers is None:
        pointers = _work_tree(repo, paths) if rev is None else _at_rev(repo, rev, paths)
    session = open_session(repo, remote, jobs)
    store, n = session.remote, session.jobs
    with _progress("fetch") as progress:
        return transfer.fetch(repo.cache, store, pointers, jobs=n, progress=progress, cached=cached)


def _at_rev(repo: Repo, rev: str, paths: Sequence[str]) -> list[tuple[str, Pointer]]:
    from gitmv.repo.listing import pointers_at
    from gitmv.workspace.tree import select

    at_rev = pointers_at(repo, rev)
    return [(a, at_rev[a]) for a in select(repo, sorted(at_rev), paths)]


def _work_tree(repo: Repo, paths: Sequence[str]) -> list[tuple[str, Pointer]]:
    from gitmv.workspace.tree import collect

    return collect(repo, paths)


def _report(
    repo: Repo, result: TransferResult, verb: str, preposition: str, exit_on_failure: bool = True
) -> None:
    if result.aborted:
        _list_failures(repo, result)
        fail(result.aborted, result.abort_hint)
    moved = f"{result.transferred} object{'s' if result.transferred != 1 else ''}"
    skipped = f"; {result.skipped} already there" if result.skipped else ""
    echo(
        f"{verb} {moved} ({human_size(result.nbytes)}) {preposition} remote {result.remote}"
        + skipped
    )
    if result.failed:
        _list_failures(repo, result)
        if exit_on_failure:
            n = len(result.failed)
            fail(
                f"{n} object{'s' if n != 1 else ''} failed (listed above)",
                "run `gitmv verify --remote NAME` to check the remote",
            )


def _list_failures(repo: Repo, result: TransferResult) -> None:
    for f in result.failed:
        sys.stderr.write(f"  {repo.display(f.path)} ({f.oid}): {f.reason}\n")


class _RichProgress:
    """Bytes and objects on one bar; rich refreshes from its own thread."""

    def __init__(self, title: str) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._bar = Progress(
            TextColumn(f"{title:<6}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[done]}/{task.fields[todo]} objects"),
            TimeRemainingColumn(),
            transient=True,
            console=_stderr_console(),
        )
        self._task = self._bar.add_task(title, total=0, done=0, todo=0)
        self._lock = threading.Lock()
        self._total = self._done = self._todo = 0

    def __enter__(self) -> _RichProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def start(self, objects: int, nbytes: int) -> None:
        with self._lock:
            self._total += nbytes
            self._todo += objects
            self._bar.update(self._task, total=self._total, todo=self._todo)

    def advance(self, nbytes: int) -> None:
        self._bar.advance(self._task, nbytes)

    def object_done(self) -> None:
        with self._lock:
            self._done += 1
            self._bar.update(self._task, done=self._done)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(file=sys.stderr)


@contextmanager
def _progress(title: str) -> Iterator[Progress | None]:
    """A progress bar on a terminal; nothing at all when stderr is not one."""
    if not is_tty():
        yield None
        return
    with _RichProgress(title) as bar:
        yield bar


# -- verify / gc -----------------------------------------------------------------------------


@app.command()
def verify(
    remote: Annotated[
        str | None,
        typer.Option("--remote", "-r", help="Also check that this remote has HEAD's objects."),
    ] = None,
    deep: Annotated[
        bool, typer.Option("--deep", help="Re-hash the remote's objects too (downloads them).")
    ] = False,
    jobs: Jobs = None,
    json_out: Json = False,
) -> None:
    """Re-hash the cache; with --remote, check the remote holds what HEAD needs."""
    from gitmv.ops import verify as maintenance
    from gitmv.ops.session import open_session  # the remote stack: imported on use

    repo = open_repo()
    if deep and remote is None:
        fail("--deep re-hashes a remote's objects: it needs --remote NAME", code=2)
    session = open_session(repo, remote, jobs) if remote else None
    store: Remote | None = session.remote if session else None
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


from gitmv.cli import gcview  # noqa: E402, F401  (registers `gitmv gc`)
