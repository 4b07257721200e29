"""Artifacts at a revision: `ls` and `diff` between commits or against the work tree."""

from __future__ import annotations

from dataclasses import dataclass

from gitmv.base import git
from gitmv.base.errors import PointerError
from gitmv.repo.context import Repo
from gitmv.store import pointer
from gitmv.store.pointer import Pointer
from gitmv.workspace.tree import collect


def pointers_at(repo: Repo, rev: str) -> dict[str, Pointer]:
    """Artifact path -> pointer, for every pointer file in `rev`'s tree (one git batch read)."""
    entries = git.ls_tree_pointers(repo.root, rev)
    blobs = git.read_blobs(repo.root, [sha for _, sha in entries], pointer.MAX_SIZE)
    found = {}
    for path, sha in entries:
        data = blobs[sha]
        name = f"{rev}:{path}"
        if data is None:
            raise PointerError(f"{name}: pointer is over the 1 MiB limit")
        found[pointer.artifact_path(path)] = pointer.parse(data, name)
    return found


def pointers(repo: Repo, rev: str | None) -> dict[str, Pointer]:
    """At `rev`, or in the work tree when `rev` is None."""
    if rev is None:
        return dict(collect(repo))
    return pointers_at(repo, rev)


@dataclass(frozen=True)
class Change:
    path: str
    change: str  # added | removed | modified
    old: Pointer | None
    new: Pointer | None


def diff(repo: Repo, rev_a: str | None = None, rev_b: str | None = None) -> list[Change]:
    """What changed from `rev_a` (default HEAD) to `rev_b` (default the work tree)."""
    if rev_a is None:
        old = pointers_at(repo, "HEAD") if git.head_commit(repo.root) else {}
    else:
        old = pointers_at(repo, rev_a)
    new = pointers(repo, rev_b)
    changes = []
    for path in sorted(old.keys() | new.keys()):
        a, b = old.get(path), new.get(path)
        if a is None:
            changes.append(Change(path, "added", None, b))
        elif b is None:
            changes.append(Change(path, "removed", a, None))
        elif (a.oid, a.size, a.kind, a.exec) != (b.oid, b.size, b.kind, b.exec):
            changes.append(Change(path, "modified", a, b))
    return changes
