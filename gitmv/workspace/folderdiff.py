"""Which files inside a folder artifact were added, modified or deleted.

Two manifests compared path by path: the pointer's (from the cache) against the work tree's
(`status`), or one commit's pointer against another's (`diff`). A manifest the cache lacks
makes the answer unknown (None), never a guess.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gitmv.base.errors import GitmvError
from gitmv.repo.context import Repo
from gitmv.store.hashing import Oid
from gitmv.store.manifest import ManifestEntry, decode, differing_lines
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


def compare_bytes(old: bytes, new: bytes, name: str) -> FolderChanges:
    """`compare` of two manifests as bytes: only the lines that differ are decoded (and
    checked), so the work grows with the change, not with the folder (issue 18)."""
    gone, came = differing_lines(old, new)
    return compare(decode(b"\n".join(gone), name), decode(b"\n".join(came), name))


def manifest_bytes(repo: Repo, p: Pointer | None) -> bytes | None:
    """A folder pointer's manifest (b"" for no pointer); None when the cache lacks it."""
    if p is None:
        return b""
    if p.kind != "dir" or not repo.cache.has(p.oid):
        return None
    return repo.cache.read_bytes(p.oid)


def manifest(repo: Repo, p: Pointer | None) -> list[ManifestEntry] | None:
    """A folder pointer's entries ([] for no pointer); None when the cache lacks them."""
    data = manifest_bytes(repo, p)
    return None if data is None else decode(data, f"manifest {p.oid if p else ''}")


def between(repo: Repo, old: Pointer | None, new: Pointer | None) -> FolderChanges | None:
    """From one pointer of a folder artifact to another (either may be None: added or
    removed); None when either is not a folder or its manifest is not cached."""
    if (old is not None and old.kind != "dir") or (new is not None and new.kind != "dir"):
        return None
    before, after = manifest_bytes(repo, old), manifest_bytes(repo, new)
    if before is None or after is None:
        return None
    return compare_bytes(before, after, f"manifest {new.oid if new else old.oid if old else ''}")


def against_work_tree(repo: Repo, rel: str, p: Pointer) -> FolderChanges | None:
    """From the pointer to the folder as the work tree has it now: the manifest `status`
    has just built for it when it did (`StatCache.manifests`), else a scan (the stat cache
    answers for the files status has just hashed, so this rarely reads a byte)."""
    before = manifest_bytes(repo, p)
    folder = repo.abspath(rel)
    if before is None or os.path.islink(folder) or not folder.is_dir():
        return None
    return compare_bytes(before, _work_tree(repo, folder, p.oid.algorithm), f"manifest {p.oid}")


def _work_tree(repo: Repo, folder: Path, algorithm: str) -> bytes:
    """The folder's manifest as the work tree holds it: as status found it, else patched
    from the folder index, else a full scan."""
    known = repo.state.manifests.get(str(folder))
    if isinstance(known, bytes):
        return known
    if isinstance(known, str):
        oid = Oid.parse(known)
        with contextlib.suppress(GitmvError, OSError):
            if repo.cache.has(oid):
                return repo.cache.read_bytes(oid)
    listing = scan.quick_listing(folder)
    if listing is not None:
        from gitmv.workspace import incremental

        def hasher(file: str, size: int) -> Oid:
            return scan.hash_one(file, size, algorithm)

        now = incremental.current(folder, repo.state, repo.cache, algorithm, listing, hasher)
        if now is not None:
            repo.state.put_many(now.fresh)
            return now.manifest()
    found = scan.scan_folder(folder, repo.root, repo.state, algorithm, repo.jobs)
    repo.state.put_many(found.fresh)
    return found.manifest()
