"""Chunking of large objects (DESIGN 3.1) as the cache and transfers use it: the cutting and
the chunk lists (store/chunklist.py, re-exported here), and the local chunk index: which
chunks the cache can rebuild from the objects it holds.

A file of at least `chunking.min_size` bytes is stored on a remote as its chunks plus
a chunk list, so a new version that changed 1% uploads about 1% of the bytes.

The local index is one chunk list file per whole cached object that gitmv has cut or
assembled, at `<cache>/chunk-lists/<algorithm>/<xx>/<rest>.chunks` (the remote's format).
Each is written once, atomically, after its object is in the cache; a list whose object is
gone is ignored and removed by `gitmv gc`. Objects kept in the cache's chunked form
(`cache.chunked`, store/chunkstore.py) need no index: their chunks are files of their own.
Every chunk read through the index is re-hashed before use, so a stale or damaged entry
costs a download, never a wrong byte.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gitmv.base import atomic
from gitmv.base.errors import GitmvError
from gitmv.store.cache import Cache
from gitmv.store.chunklist import DEFAULT_AVG_SIZE as DEFAULT_AVG_SIZE
from gitmv.store.chunklist import DEFAULT_MIN_SIZE as DEFAULT_MIN_SIZE
from gitmv.store.chunklist import MAX_LIST_ENTRIES as MAX_LIST_ENTRIES
from gitmv.store.chunklist import Chunk as Chunk
from gitmv.store.chunklist import Settings as Settings
from gitmv.store.chunklist import check_avg_size as check_avg_size
from gitmv.store.chunklist import cut as cut
from gitmv.store.chunklist import cut_and_hash as cut_and_hash
from gitmv.store.chunklist import decode_list as decode_list
from gitmv.store.chunklist import encode_list as encode_list
from gitmv.store.chunklist import settings_from as settings_from
from gitmv.store.hashing import ALGORITHMS, Oid, hash_bytes
from gitmv.store.layout import list_key, parse_object_key

LOCAL_LISTS = "chunk-lists"  # below the cache root


# -- the local chunk index -------------------------------------------------------------------


def local_list_path(cache: Cache, oid: Oid) -> Path:
    return cache.root / LOCAL_LISTS / list_key(oid)


def save_local_list(cache: Cache, oid: Oid, chunks: list[Chunk]) -> None:
    """Record an object's chunk list beside the cache, once, atomically (via the cache's tmp
    folder, so that a killed write leaves a temp file that `gitmv gc` clears)."""
    final = local_list_path(cache, oid)
    if final.exists():
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.new_temp()
    try:
        tmp.write_bytes(encode_list(chunks))
        os.chmod(tmp, 0o444)
        atomic.publish(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def load_local_list(cache: Cache, oid: Oid, size: int | None) -> list[Chunk] | None:
    """The recorded chunk list of a cached object, or None (none recorded, or unreadable)."""
    try:
        data = local_list_path(cache, oid).read_bytes()
        return decode_list(data, f"local chunk list of {oid}", size)
    except (OSError, GitmvError):
        return None


def local_lists(cache: Cache) -> Iterator[Oid]:
    """The oids whose chunk list the cache records."""
    for algorithm in ALGORITHMS:
        base = cache.root / LOCAL_LISTS / algorithm
        with contextlib.suppress(FileNotFoundError):
            for prefix in os.scandir(base):
                with contextlib.suppress(NotADirectoryError):
                    for entry in os.scandir(prefix.path):
                        named = parse_object_key(f"{algorithm}/{prefix.name}/{entry.name}")
                        if named is not None and named.chunk_list:
                            yield named.oid


def remove_local_list(cache: Cache, oid: Oid) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(local_list_path(cache, oid))


@dataclass(frozen=True)
class Source:
    """Where a chunk's bytes sit in a cached object."""

    oid: Oid  # the cached object
    offset: int


class LocalChunks:
    """Which chunks the cache can rebuild: read from the recorded chunk lists on first use,
    and grown as objects are assembled. Safe to use from several threads."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache
        self._where: dict[Oid, Source] | None = None
        self._lock = threading.Lock()

    def _index(self) -> dict[Oid, Source]:
        with self._lock:
            if self._where is None:
                self._where = {}
                for oid in local_lists(self._cache):
                    if self._cache.has(oid):
                        chunks = load_local_list(self._cache, oid, None) or []
                        self._add(oid, chunks)
            return self._where

    def _add(self, oid: Oid, chunks: list[Chunk]) -> None:
        assert self._where is not None
        for c in chunks:
            self._where.setdefault(c.oid, Source(oid, c.offset))

    def add(self, oid: Oid, chunks: list[Chunk]) -> None:
        """`oid` is now in the cache, cut into `chunks`."""
        self._index()
        with self._lock:
            self._add(oid, chunks)

    def find(self, chunk: Oid) -> Source | None:
        return self._index().get(chunk)

    def has(self, chunk: Oid) -> bool:
        """Whether the cache holds the chunk: as a file of its own, or inside an object."""
        return self._cache.chunks.has_chunk(chunk) or self.find(chunk) is not None

    def read(self, chunk: Chunk) -> bytes | None:
        """The chunk's bytes out of the cache's chunks or a cached object, re-hashed; None
        if that fails."""
        data = self._cache.chunks.read_chunk(chunk)
        if data is not None:
            return data
        source = self.find(chunk.oid)
        if source is None:
            return None
        try:
            data = read_range(self._cache.path(source.oid), source.offset, chunk.size)
        except OSError:
            return None
        return data if hash_bytes(data, chunk.oid.algorithm) == chunk.oid else None


def read_range(path: Path, offset: int, size: int) -> bytes:
    """`size` bytes of a file from `offset` (fewer only if the file is shorter)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, size, offset)
    finally:
        os.close(fd)
