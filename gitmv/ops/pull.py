"""pull: fetch, then check out, healing a cache object that turns out corrupt on the way.

The CLI's `gitmv pull` and the hooks' restore (after a checkout, merge or rebase, for the
artifacts the cache lacks) both run it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitmv.base.progress import Progress
from gitmv.ops.checkout import checkout
from gitmv.ops.fetch import FetchReport, fetch_pointers
from gitmv.ops.session import Session, open_session
from gitmv.repo.context import Repo
from gitmv.repo.pointers import collect
from gitmv.store.cache import CorruptObject
from gitmv.workspace.checkout import CheckoutOnArrival, CheckoutReport

if TYPE_CHECKING:
    from gitmv.store.pointer import Pointer


@dataclass(frozen=True)
class PullReport:
    """What a pull fetched and checked out.

    `healed` names the cache objects found corrupt during the checkout: they were set
    aside and fetched again (`refetched`). `checkout` is None when a fetch stopped before
    it: the remote went away (`fetched.aborted`), or the second fetch did not bring every
    healed object back.
    """

    fetched: FetchReport
    checkout: CheckoutReport | None
    healed: tuple[str, ...] = ()  # oids, as text
    refetched: FetchReport | None = None

    @property
    def ok(self) -> bool:
        """Every object arrived and every artifact was checked out."""
        if not self.fetched.ok or self.checkout is None:
            return False
        if self.refetched is not None and not self.refetched.ok:
            return False
        return not self.checkout.modified and not self.checkout.not_cached


def pull(
    repo: Repo,
    paths: Sequence[str] = (),
    *,
    remote: str | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> PullReport:
    """Fetch what the work tree's pointers under `paths` name from the remote (`None`: the
    default), then make those artifacts match their pointers."""
    pointers = collect(repo, paths)
    session = open_session(repo, remote, jobs)
    return pull_pointers(repo, session, pointers, paths, progress=progress)


def pull_pointers(
    repo: Repo,
    session: Session,
    pointers: Sequence[tuple[str, Pointer]],
    paths: Sequence[str],
    *,
    progress: Progress | None = None,
) -> PullReport:
    """Pull `pointers` (the work tree's under `paths`): a large file is checked out as soon
    as it arrives, the rest once the fetch is done. A failed object leaves its artifact
    alone; the checkout does the rest."""
    early = CheckoutOnArrival(repo, pointers)
    fetched = fetch_pointers(repo, session, pointers, progress=progress, cached=early)
    if fetched.aborted:
        return PullReport(fetched, None)
    try:
        # the same bar, grown by what is left to write: it no longer sits full meanwhile
        report: CheckoutReport | None = checkout(repo, paths, done=early.done, progress=progress)
    except CorruptObject:
        report = None
    if not repo.cache.quarantined:
        assert report is not None  # CorruptObject always quarantines the object
        return PullReport(fetched, report)
    # `Cache.materialize` set aside an object that failed its hash: fetch it again, then
    # check out once more what the first round did not already restore.
    healed = tuple(str(oid) for oid in repo.cache.quarantined)
    repo.cache.quarantined.clear()
    refetched = fetch_pointers(repo, session, pointers, progress=progress)
    if not refetched.ok:
        return PullReport(fetched, None, healed, refetched)
    again = checkout(repo, paths, done={k: v for k, v in early.done.items() if v == "restored"})
    return PullReport(fetched, again, healed, refetched)
