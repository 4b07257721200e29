"""push: upload the objects a set of pointers names to a remote (what it lacks, nothing else).

The pointers come from the work tree (paths), from every commit of every local branch and
tag (`--all`), from named commits (`--rev`), or, for the pre-push hook, from the commits
being pushed (`ops.hooks`); the upload is the same for all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitmv.base import git
from gitmv.base.errors import GitmvError
from gitmv.base.progress import Progress
from gitmv.ops.report import TransferReport
from gitmv.ops.session import Session, open_session
from gitmv.repo import history
from gitmv.repo.context import Repo
from gitmv.repo.pointers import collect, in_history

if TYPE_CHECKING:
    from gitmv.store.pointer import Pointer


@dataclass(frozen=True)
class PushReport(TransferReport):
    """What a push uploaded (`TransferReport`: remote, artifacts, transferred, nbytes,
    skipped, failed, aborted, abort_hint, ok)."""


def check_source(paths: Sequence[str], all_refs: bool, revs: Sequence[str]) -> None:
    """The pointer source is one of: paths (or the whole work tree), `--all`, `--rev`."""
    if (all_refs or revs) and paths:
        which = "--all" if all_refs else "--rev"
        raise GitmvError(f"{which} takes no paths", hint=f"drop the paths, or drop {which}")
    if all_refs and revs:
        raise GitmvError("--all and --rev exclude each other", hint="pass one of them")


def pointers_for(
    repo: Repo, paths: Sequence[str] = (), *, all_refs: bool = False, revs: Sequence[str] = ()
) -> list[tuple[str, Pointer]]:
    """(artifact, pointer) to push: the work tree's (under `paths`), every local branch's
    and tag's history (`all_refs`), or the commits `revs` name."""
    check_source(paths, all_refs, revs)
    if all_refs:
        return in_history(repo, git.LOCAL_BRANCHES_AND_TAGS)
    if revs:
        return in_history(repo, ["--no-walk", *history.resolve_revs(repo, revs)])
    return collect(repo, paths)


def push(
    repo: Repo,
    paths: Sequence[str] = (),
    *,
    all_refs: bool = False,
    revs: Sequence[str] = (),
    remote: str | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    list_sent: bool = False,
) -> PushReport:
    """Upload what the chosen pointers name and the remote (`None`: the default) lacks;
    `list_sent`: the report lists each object sent (`sent`, for `push -v`)."""
    pointers = pointers_for(repo, paths, all_refs=all_refs, revs=revs)
    session = open_session(repo, remote, jobs)
    return push_pointers(repo, session, pointers, progress=progress, list_sent=list_sent)


def push_pointers(
    repo: Repo,
    session: Session,
    pointers: Sequence[tuple[str, Pointer]],
    *,
    progress: Progress | None = None,
    list_sent: bool = False,
) -> PushReport:
    """Upload the objects of `pointers` (each pointer's object, a folder's files then its
    manifest, large files as chunks) to the session's remote."""
    # The transfer stack pulls in fsspec: imported on use, so a no-op hook never loads it.
    from gitmv.transfer import engine

    result = engine.push(
        repo.cache,
        session.remote,
        pointers,
        jobs=session.jobs,
        progress=progress,
        settings=session.settings,
        pack=session.pack,
        list_sent=list_sent,
    )
    return PushReport.of(result, len(pointers))
