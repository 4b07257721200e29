"""`gitmv rm`: stop tracking artifacts. The pointer and its .gitignore line go (staged, as
`gitmv add` stages); the work-tree bytes go too unless `keep`, but only bytes that exist
somewhere else: in the cache, or on the default remote. The cached object stays: gc decides
when nothing needs it any more.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from gitmv.base import git
from gitmv.base.errors import GitmvError
from gitmv.repo.context import Repo
from gitmv.repo.pointers import read_pointer, tracked
from gitmv.store import pointer
from gitmv.store.pointer import Pointer
from gitmv.workspace import gitignore
from gitmv.workspace.files import is_backed_up, remove
from gitmv.workspace.status import states


@dataclass(frozen=True)
class RmReport:
    untracked: tuple[str, ...]  # root-relative artifacts whose pointer went
    deleted: tuple[str, ...]  # of those, the ones whose work-tree bytes were deleted


def exact_artifacts(repo: Repo, paths: Sequence[str], verb: str) -> list[str]:
    """Each path as the artifact it names (the artifact or its pointer), root-relative; a
    path that names no artifact is an error, and a folder holding several is not taken for
    all of them."""
    known = set(tracked(repo))
    found: dict[str, None] = {}
    for user_path in paths:
        rel = repo.relpath(user_path).removesuffix(pointer.SUFFIX)
        if rel not in known:
            inside = sorted(a for a in known if a.startswith(rel + "/"))
            hint = (
                f"it holds artifacts; name them: gitmv {verb} {' '.join(inside[:3])}"
                if inside
                else "`gitmv ls` lists the tracked artifacts"
            )
            raise GitmvError(f"{user_path}: not a tracked artifact", hint=hint)
        found[rel] = None
    return list(found)


def rm(repo: Repo, paths: Sequence[str], *, keep: bool = False) -> RmReport:
    """Untrack each artifact named; everything is checked before anything changes."""
    if not paths:
        raise GitmvError("nothing to remove", hint="name an artifact: gitmv rm model.pt")
    with repo.lock():
        rels = exact_artifacts(repo, paths, "rm")
        pointers = [(rel, read_pointer(repo, rel)) for rel in rels]
        doomed = [] if keep else _deletable(repo, pointers)
        for rel in rels:
            ptr = rel + pointer.SUFFIX
            git.untrack(repo.root, [ptr])
            if os.path.lexists(repo.root / ptr):
                os.unlink(repo.root / ptr)
        rewritten, deleted = gitignore.remove_ignored(repo.root, rels)
        git.stage(repo.root, rewritten)
        git.untrack(repo.root, deleted)
        # the bytes last: a stop before here leaves them in place, never a pointer without them
        for rel in doomed:
            remove(repo.abspath(rel))
    return RmReport(tuple(rels), tuple(doomed))


def _deletable(repo: Repo, pointers: list[tuple[str, Pointer]]) -> list[str]:
    """The artifacts whose work-tree bytes may be deleted: present, unmodified, and kept in
    the cache or on the default remote. Refuses (changing nothing) if any is not."""
    present = []
    unbacked: dict[str, Pointer] = {}
    for (rel, p), st in zip(pointers, states(repo, pointers), strict=True):
        if st.state in ("missing", "not-cached"):
            continue  # nothing in the work tree to lose
        if st.state == "modified":
            shown = repo.display(rel)
            raise GitmvError(
                f"{shown} is modified: deleting it would lose bytes no commit names",
                hint=f"keep the file with --keep, or record it first: gitmv add {shown}",
            )
        present.append(rel)
        if not is_backed_up(repo, repo.abspath(rel), p.oid.algorithm):
            unbacked[rel] = p
    if unbacked:
        _on_remote_or_refuse(repo, unbacked)
    return present


def _on_remote_or_refuse(repo: Repo, unbacked: dict[str, Pointer]) -> None:
    first = repo.display(next(iter(unbacked)))
    refusal = GitmvError(
        f"{first}: its bytes are neither in the cache nor on the default remote, "
        "so deleting it would lose them",
        hint=f"keep the file with --keep, or store its bytes again first: gitmv add {first}",
    )
    if not repo.config.get("core.remote"):
        raise refusal
    # the remote stack: loaded only when the cache cannot vouch for the bytes
    from gitmv.ops.session import open_session
    from gitmv.transfer.engine import not_pushed

    try:
        lacking = not_pushed(open_session(repo, None).remote, unbacked)
    except GitmvError as exc:
        # a remote that refuses us (credentials, network) cannot vouch for the bytes either:
        # say that the file stays, and why, rather than only what the remote said
        raise GitmvError(
            f"{first}: not deleted: its bytes are not in the cache, and the default remote "
            f"cannot be asked whether it holds them ({exc.message})",
            hint=f"{exc.hint}; or keep the file with --keep" if exc.hint else refusal.hint,
        ) from exc
    if lacking:
        raise refusal
