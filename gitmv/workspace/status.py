"""Status: whether the work tree holds exactly the bytes each pointer names."""

from __future__ import annotations

import os

from gitmv.base.record import Record
from gitmv.store.hashing import Oid, hash_bytes
from gitmv.store.state import stat_key
from gitmv.workspace import scan
from gitmv.workspace.files import links_to_object

# Neither typing nor dataclasses at run time: a clean `status` loads this module (mypy
# reads this constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Any

    from gitmv.repo.context import Repo
    from gitmv.store.pointer import Pointer
    from gitmv.workspace.scan import Listing

STATES = ("clean", "modified", "missing", "not-cached", "not-pushed")


class ArtifactStatus(Record):
    """One artifact's state (one of STATES) and the pointer it is judged against."""

    _fields = ("path", "state", "kind", "oid", "size")

    __slots__ = _fields
    path: str  # root-relative
    state: str
    kind: str  # "file" or "dir"
    oid: str  # the pointer's, e.g. "xxh128:..."
    size: int  # bytes (a folder: its files' total)

    def __init__(self, path: str, state: str, kind: str, oid: str, size: int) -> None:
        super().__init__(path, state, kind, oid, size)


def states(repo: Repo, pointers: Sequence[tuple[str, Pointer]]) -> list[ArtifactStatus]:
    """The state of each (root-relative artifact, its pointer); what a hash learns on the way
    goes to the stat cache, so the next status need not hash again."""
    results = []
    remember: list[tuple[str, tuple[int, int, int], str]] = []
    for rel, p in pointers:
        results.append(
            ArtifactStatus(rel, _state(repo, rel, p, remember), p.kind, str(p.oid), p.size)
        )
    repo.state.put_many(remember)
    return results


def _state(repo: Repo, rel: str, p: Pointer, remember: list[Any]) -> str:
    path = repo.abspath(rel)
    if not os.path.lexists(path):
        return "missing" if _is_cached(repo, p) else "not-cached"
    if _matches(repo, path, p, remember):
        return "clean"
    return "modified"


def _is_cached(repo: Repo, p: Pointer) -> bool:
    if not repo.cache.has(p.oid):
        return False
    if p.kind == "file":
        return True
    from gitmv.store.manifest import decode  # here: only folders have one (start-up time)

    entries = decode(repo.cache.read_bytes(p.oid), f"manifest {p.oid}")
    return all(repo.cache.has(e.oid) for e in entries)


def _matches(repo: Repo, path: Path, p: Pointer, remember: list[Any]) -> bool:
    """Whether the work tree holds exactly the pointer's bytes (and exec bit)."""
    if p.kind == "file":
        if os.path.islink(path):
            return links_to_object(repo, path, p.oid)
        if not path.is_file():
            return False
        st = os.stat(path)
        if st.st_size != p.size or scan.is_exec(st) != p.exec:
            return False
        oid, hashed = scan.file_oid(path, st, repo.state, p.oid.algorithm)
        if hashed:
            remember.append((str(path), stat_key(st), str(oid)))
        return oid == p.oid
    if os.path.islink(path) or not path.is_dir():
        return False
    return _folder_oid(repo, path, p.oid, remember) == p.oid


def _folder_oid(repo: Repo, path: Path, want: Oid, remember: list[Any]) -> Oid:
    """The folder's manifest oid: from the stat cache when find's stamp is unchanged, else
    patched from the folder index (work that grows with the change), else a full rescan.
    `want`: the pointer's; for a modified folder the manifest itself is kept too (in
    `StatCache.manifests`), for status's report of the files that changed."""
    state = repo.state
    algorithm = want.algorithm
    listing = scan.quick_listing(path)
    if listing is not None:
        cached = state.get_folder(str(path), listing.stamp)
        # A modified folder whose manifest is not in the cache is built below (from the
        # index, as cheaply as a stamp) rather than by the report's own scan.
        if (
            cached is not None
            and cached.startswith(algorithm + ":")
            and (cached == str(want) or repo.cache.has(Oid.parse(cached)))
        ):
            state.manifests[str(path)] = cached  # modified: the report reads it there
            return Oid.parse(cached)
        from gitmv.workspace import incremental  # here: a clean status never needs it

        def hasher(file: str, size: int) -> Oid:
            return scan.hash_one(file, size, algorithm)

        now = incremental.current(path, state, repo.cache, algorithm, listing, hasher)
        if now is not None:
            remember.extend(now.fresh)
            state.manifests[str(path)] = now.manifest()
            oid = hash_bytes(now.manifest(), algorithm)
            _remember_folder(repo, path, listing, oid, now.size, now.files, now.came)
            return oid
    oid, found = scan.folder_oid(path, repo.root, state, algorithm, repo.jobs, listing)
    if found is not None:
        remember.extend(found.fresh)
        state.manifests[str(path)] = found.manifest()
        if listing is not None:
            _remember_folder(repo, path, listing, oid, found.size, len(found.entries), None)
    return oid


def _remember_folder(
    repo: Repo,
    path: Path,
    listing: Listing,
    oid: Oid,
    size: int,
    files: int,
    came: set[bytes] | None,
) -> None:
    """A state whose manifest is in the cache (clean, or a version checked out) becomes the
    folder index's new base when it saves looking at paths next time; the stamp goes to
    the stat cache once no file is within its racy window."""
    from gitmv.workspace import incremental  # here: a clean status never needs it

    if came != set() and repo.cache.has(oid):  # None: a full rescan
        incremental.save(repo.state, path, listing, oid, size, files, came)
    if incremental.settled(listing, came):
        newest = 0  # settled: every mtime is older than the racy window
        repo.state.put_folder(str(path), listing.stamp, str(oid), newest)
