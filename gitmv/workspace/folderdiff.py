"""Which files inside a folder artifact were added, modified or deleted.

Two manifests compared path by path: the pointer's (from the cache) against the work tree's
(`status`), or one commit's pointer against another's (`diff`). A manifest the cache lacks
makes the answer unknown (None), never a guess.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from gitmv.repo.context import Repo
from gitmv.store.manifest import ManifestEntry, decode
from gitmv.store.pointer import Pointer
from gitmv.workspace import scan


@dataclass(frozen=True)
class FolderChanges:
    """Paths relative to the folder, sorted; `modified` includes an exec-bit change."""

    added: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        return len(self.added) + len(self.modified) + len(self.deleted)


def compare(old: Sequence[ManifestEntry], new: Sequence[ManifestEntry]) -> FolderChanges:
    before = {e.path: (e.oid, e.exec) for e in old}
    after = {e.path: (e.oid, e.exec) for e in new}
    return FolderChanges(
        added=tuple(sorted(after.keys() - before.keys())),
        modified=tuple(sorted(p for p in after.keys() & before.keys() if after[p] != before[p])),
        deleted=tuple(sorted(before.keys() - after.keys())),
    )


def manifest(repo: Repo, p: Pointer | None) -> list[ManifestEntry] | None:
    """A folder pointer's entries ([] for no pointer); None when the cache lacks them."""
    if p is None:
        return []
    if p.kind != "dir" or not repo.cache.has(p.oid):
        return None
    return decode(repo.cache.read_bytes(p.oid), f"manifest {p.oid}")


def between(repo: Repo, old: Pointer | None, new: Pointer | None) -> FolderChanges | None:
    """From one pointer of a folder artifact to another (either may be None: added or
    removed); None when either is not a folder or its manifest is not cached."""
    if (old is not None and old.kind != "dir") or (new is not None and new.kind != "dir"):
        return None
    before, after = manifest(repo, old), manifest(repo, new)
    if before is None or after is None:
        return None
    return compare(before, after)


def against_work_tree(repo: Repo, rel: str, p: Pointer) -> FolderChanges | None:
    """From the pointer to the folder as the work tree has it now. The stat cache answers
    for files status has just hashed, so this rarely reads a byte."""
    before = manifest(repo, p)
    folder = repo.abspath(rel)
    if before is None or os.path.islink(folder) or not folder.is_dir():
        return None
    found = scan.scan_folder(folder, repo.root, repo.state, p.oid.algorithm, repo.jobs)
    repo.state.put_many(found.fresh)
    return compare(before, found.entries)
