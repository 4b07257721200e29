"""repack: move an older remote's small loose objects and chunks into packs (DESIGN 3.1.1),
so that later pushes and pulls cost a few requests, not one per object."""

from __future__ import annotations

from dataclasses import dataclass

from gitmv.base.errors import GitmvError
from gitmv.ops.session import open_session
from gitmv.repo.context import Repo
from gitmv.store.packs import PackSettings


@dataclass(frozen=True)
class RepackReport:
    remote: str
    packed: int  # loose objects and chunks now in packs (their loose copies deleted)
    nbytes: int
    packs: int  # packs written
    failed: tuple[str, ...] = ()  # `key: reason` for each object left loose


def repack(repo: Repo, remote: str | None, jobs: int | None = None) -> RepackReport:
    """Pack the remote's loose objects and chunks under `pack.max_object` (default 4 MiB)."""
    from gitmv.transfer import packgc  # the transfer stack: imported on use

    session = open_session(repo, remote, jobs)
    session.remote.check(write=True)
    settings = session.pack
    if settings.max_object == 0:  # a folder remote with `pack.max_object` unset
        settings = PackSettings(size=settings.size)
    result = packgc.repack(session.remote, settings, session.jobs)
    if result.aborted is not None:
        raise GitmvError(
            f"repack of remote {session.remote.label} stopped: {result.aborted}",
            hint="run it again: objects already packed stay packed, the rest stay loose",
        )
    return RepackReport(
        session.remote.label, result.packed, result.nbytes, result.packs, tuple(result.failed)
    )
