"""The checkout verb: the pointers of the work tree (or of a revision), materialized from
the cache."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gitmv.base.progress import Progress
from gitmv.repo.context import Repo
from gitmv.repo.pointers import collect, pointers_at, select
from gitmv.store.pointer import Pointer
from gitmv.workspace import checkout as workspace_checkout
from gitmv.workspace.checkout import CheckoutReport

__all__ = ["CheckoutReport", "checkout", "chosen_pointers"]


def chosen_pointers(
    repo: Repo, paths: Sequence[str] = (), rev: str | None = None
) -> list[tuple[str, Pointer]]:
    """The artifacts the user named (all by default) with their pointers: the work tree's,
    or those of the commit `rev`."""
    if rev is None:
        return collect(repo, paths)
    at_rev = pointers_at(repo, rev)
    return [(a, at_rev[a]) for a in select(repo, list(at_rev), paths)]


def checkout(
    repo: Repo,
    paths: Sequence[str] = (),
    rev: str | None = None,
    force: bool = False,
    done: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> CheckoutReport:
    """Make the work tree match the pointers, from the cache; never destroy bytes the cache
    does not hold (a modified artifact is left alone unless `force`). `done`: artifacts
    already checked out (pull's `CheckoutOnArrival`), with their outcome; `progress` counts
    the artifacts and bytes written."""
    chosen = chosen_pointers(repo, paths, rev)
    return workspace_checkout.checkout(repo, chosen, force, done, progress)
