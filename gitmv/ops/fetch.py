"""fetch: download the objects a set of pointers names into the cache, each hash-checked.

The pointers come from the work tree (paths) or from one commit (`--rev`); `pull` and the
hooks' restore fetch given pointers through `fetch_pointers`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitmv.base.progress import Progress
from gitmv.ops.report import TransferReport
from gitmv.ops.session import Session, open_session
from gitmv.repo.context import Repo
from gitmv.repo.pointers import collect, pointers_at, select

if TYPE_CHECKING:
    from gitmv.store.hashing import Oid
    from gitmv.store.pointer import Pointer


@dataclass(frozen=True)
class FetchReport(TransferReport):
    """What a fetch downloaded (`TransferReport`: remote, artifacts, transferred, nbytes,
    skipped, failed, aborted, abort_hint, ok)."""


def pointers_for(
    repo: Repo, paths: Sequence[str] = (), rev: str | None = None
) -> list[tuple[str, Pointer]]:
    """(artifact, pointer) under `paths`: the work tree's, or those of commit `rev`."""
    if rev is None:
        return collect(repo, paths)
    at_rev = pointers_at(repo, rev)
    return [(a, at_rev[a]) for a in select(repo, sorted(at_rev), paths)]


def fetch(
    repo: Repo,
    paths: Sequence[str] = (),
    *,
    rev: str | None = None,
    remote: str | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> FetchReport:
    """Download what the chosen pointers name and the cache lacks from the remote (`None`:
    the default). Nothing in the work tree changes."""
    pointers = pointers_for(repo, paths, rev)
    return fetch_pointers(repo, open_session(repo, remote, jobs), pointers, progress=progress)


def fetch_pointers(
    repo: Repo,
    session: Session,
    pointers: Sequence[tuple[str, Pointer]],
    *,
    progress: Progress | None = None,
    cached: Callable[[Oid], None] | None = None,
) -> FetchReport:
    """Download the objects of `pointers` the cache lacks; `cached` is told of each large
    object as soon as it is in the cache (pull checks it out then)."""
    # The transfer stack pulls in fsspec: imported on use, so a no-op hook never loads it.
    from gitmv.transfer import engine

    result = engine.fetch(
        repo.cache, session.remote, pointers, jobs=session.jobs, progress=progress, cached=cached
    )
    return FetchReport.of(result, len(pointers))
