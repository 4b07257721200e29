"""Where a chunked object being fetched is rebuilt (transfer/chunked.py drives it): a whole
file in the cache's tmp/, or, with `cache.chunked`, the chunks the cache lacks plus the
chunk list (store/chunkstore.py). Either way the whole file is hashed as its chunks arrive
in order, and nothing enters the cache unless it hashes to the object's oid.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, TypeVar

from gitmv.store.cache import Cache, corrupt_download
from gitmv.store.chunklist import Chunk
from gitmv.store.chunkstore import ChunkBatch
from gitmv.store.hashing import Oid, new_hasher
from gitmv.transfer.workers import Item

T = TypeVar("T")
R = TypeVar("R")


class Assembly(Protocol):
    def append(self, chunk: Chunk, data: bytes) -> None: ...
    def read(self, offset: int, size: int) -> bytes: ...
    def publish(self, source: str) -> None: ...
    def discard(self) -> None: ...


def start(cache: Cache, item: Item, chunks: list[Chunk]) -> Assembly:
    """Where `item` is rebuilt: as chunks when the cache keeps objects of its size so."""
    if cache.chunking is not None and cache.chunking.chunks(item.size):
        return ChunkedAssembly(cache, item, chunks)
    return WholeAssembly(cache, item, chunks)


class WholeAssembly:
    """A chunked object being rebuilt, front to back, in a temporary file inside the cache
    (on the cache's file system, so publishing it is a rename), hashed as it is written."""

    def __init__(self, cache: Cache, item: Item, chunks: list[Chunk]) -> None:
        self.cache = cache
        self.item = item
        self.path = cache.new_temp()
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        self._hasher = new_hasher(item.oid.algorithm)
        self._size = 0

    def append(self, chunk: Chunk, data: bytes) -> None:
        assert self._fd is not None and chunk.offset == self._size, "chunks out of order"
        self._hasher.update(data)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        self._size += len(data)

    def read(self, offset: int, size: int) -> bytes:
        """Bytes already written (a chunk that occurs again)."""
        assert self._fd is not None
        return os.pread(self._fd, size, offset)

    def publish(self, source: str) -> None:
        """Into the cache if the bytes written hash to the object's oid (else discarded)."""
        self._close()
        self.cache.adopt_hashed(self.path, self.item.oid, self._hasher.hexdigest(), source)

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def discard(self) -> None:
        """Close it, and remove what is left of it (nothing once published)."""
        self._close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


class ChunkedAssembly:
    """A chunked object being fetched into the cache's chunked form: the chunks it lacks
    are written (unpublished until the end), the whole file is hashed as the chunks come,
    in order, and the chunk list is published last, only if the hash is the oid."""

    def __init__(self, cache: Cache, item: Item, chunks: list[Chunk]) -> None:
        self.cache = cache
        self.item = item
        self.chunks = chunks
        self._at = {c.offset: c.oid for c in chunks}
        self._batch = ChunkBatch(cache.objects)
        self._hasher = new_hasher(item.oid.algorithm)
        self._size = 0

    def append(self, chunk: Chunk, data: bytes) -> None:
        assert chunk.offset == self._size, "chunks out of order"
        self._hasher.update(data)
        if chunk.oid not in self._batch and not self.cache.chunks.has_chunk(chunk.oid):
            self._batch.write(chunk.oid, data)
        self._size += len(data)

    def read(self, offset: int, size: int) -> bytes:
        """A chunk that occurs again (written earlier in this object, or already cached)."""
        oid = self._at[offset]
        if oid in self._batch:
            return self._batch.read(oid, size)
        with open(self.cache.chunks.chunk_path(oid), "rb", buffering=0) as f:
            return f.read(size)

    def publish(self, source: str) -> None:
        digest = self._hasher.hexdigest()
        if digest != self.item.oid.hex:
            self._batch.discard()
            raise corrupt_download(self.item.oid, Oid(self.item.oid.algorithm, digest), source)
        self.cache.chunks.commit(self.item.oid, self.chunks, self._batch)

    def discard(self) -> None:
        self._batch.discard()


def in_order(
    pool: ThreadPoolExecutor, fetch: Callable[[T], R], items: Iterable[T], window: int
) -> Iterator[tuple[T, R]]:
    """`fetch` over `items` on the pool, results in order, at most `window` ahead (so a
    1 GiB object is never held in memory whole)."""
    pending: collections.deque[tuple[T, Future[R]]] = collections.deque()
    rest = iter(items)
    try:
        for item in itertools.islice(rest, max(1, window)):
            pending.append((item, pool.submit(fetch, item)))
        while pending:
            item, future = pending.popleft()
            for more in itertools.islice(rest, 1):
                pending.append((more, pool.submit(fetch, more)))
            yield item, future.result()
    finally:
        for _, future in pending:
            future.cancel()
