"""Chunked objects on a remote, for gc and verify: which chunks the kept chunk lists name,
and whether a chunked object reads back whole (DESIGN 3.1)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from gitmv.base.errors import PointerError
from gitmv.remotes.remote import MissingObject, Remote
from gitmv.store.chunking import Chunk
from gitmv.store.hashing import Oid, hash_bytes, new_hasher
from gitmv.store.layout import chunk_key
from gitmv.transfer.assembly import in_order
from gitmv.transfer.chunked import remote_list


def referenced_chunks(remote: Remote, kept: Sequence[Oid]) -> tuple[set[str], list[Oid]]:
    """The chunk keys the kept chunk lists name, read from the remote (another clone may
    have cut the same object differently); and the kept lists that could not be read."""
    referenced: set[str] = set()
    unreadable: list[Oid] = []
    if not kept:
        return referenced, unreadable
    with ThreadPoolExecutor(remote.jobs) as pool:
        for oid, chunks in zip(
            kept, pool.map(lambda o: _readable_list(remote, o), kept), strict=True
        ):
            if chunks is None:
                unreadable.append(oid)
            else:
                referenced.update(chunk_key(c.oid) for c in chunks)
    return referenced, unreadable


def _readable_list(remote: Remote, oid: Oid) -> list[Chunk] | None:
    try:
        return remote_list(remote, oid, None)
    except PointerError:
        return None


def check_remote(remote: Remote, oid: Oid, jobs: int) -> str | None:
    """Whether an object stored as chunks reads back whole: its list parses, every chunk is
    there and hashes to its name, and the chunks in order hash to the object's oid.
    Returns "missing", "corrupt", or None when sound."""
    try:
        chunks = remote_list(remote, oid, None)
    except PointerError:
        return "corrupt"
    if chunks is None:
        return "missing"
    there = remote.has_keys(chunk_key(c.oid) for c in chunks)
    if any(chunk_key(c.oid) not in there for c in chunks):
        return "missing"
    whole = new_hasher(oid.algorithm)
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        try:
            for c, part in in_order(
                pool, lambda c: remote.read_key(chunk_key(c.oid)), chunks, 2 * jobs
            ):
                if len(part) != c.size or hash_bytes(part, c.oid.algorithm) != c.oid:
                    return "corrupt"
                whole.update(part)
        except MissingObject:  # deleted since the listing
            return "missing"
    return None if Oid(oid.algorithm, whole.hexdigest()) == oid else "corrupt"
