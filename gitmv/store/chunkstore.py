"""The cache's chunked form (DESIGN 3.1.1, `cache.chunked`): a large object kept as its
chunks, `<cache>/chunks/<alg>/<c[:2]>/<c[2:]>`, plus a chunk list at its object path,
`<cache>/<alg>/<oid[:2]>/<oid[2:]>.chunks` (the remote's format, store/chunklist.py).

Versions of a model that share most of their bytes share them on disk: a chunk is a file
of its own, written once, named by its hash. The chunks are published before the list that
names them (a list in the cache always names chunks that are there), so the list is what
makes the object present; removing an object removes its list, and `gitmv gc` removes the
chunks no list names afterwards.

Integrity is proven by bytes, as for whole objects: assembling an object hashes the whole
file as it is written, and a chunk read on its own is re-hashed. A chunk that fails goes to
quarantine (with the list that needed it), so the next fetch downloads it again.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from gitmv.base import atomic
from gitmv.base.concat import ConcatenatedReader
from gitmv.base.fastcopy import copy_fd
from gitmv.store.chunklist import Chunk, Settings, cut_and_hash, decode_list, encode_list
from gitmv.store.hashing import ALGORITHMS, Oid, hash_bytes, hash_fd, new_hasher
from gitmv.store.layout import (
    CHUNKS_DIR,
    chunk_key,
    list_key,
    object_key,
    parse_chunk_key,
    parse_object_key,
)
from gitmv.store.objects import READ_ONLY, FolderStore

# Up to this many new chunks, each is fsynced on its own, several at once (ext4 commits
# their journal entries together); above, one syncfs for all of them. syncfs also waits for
# every other writer's dirty pages on the disk: a new version's ~1% should not.
_FSYNC_EACH = 256
_FSYNC_THREADS = 8
# gc keeps an unnamed chunk this young: a fetch (which takes no lock) publishes its chunks
# before the list that names them, and may be doing so while gc runs
SWEEP_GRACE = 3600.0


class ChunkBatch:
    """New chunks written to temp files, published together (`publish`) before the chunk
    list that names them. Until then they are read back from their temp files."""

    def __init__(self, objects: FolderStore) -> None:
        self._objects = objects
        self._pending: dict[Oid, str] = {}
        self.nbytes = 0

    def __contains__(self, chunk: Oid) -> bool:
        return chunk in self._pending

    def write(self, chunk: Oid, data: bytes | memoryview) -> None:
        if chunk in self._pending:
            return
        tmp = self._objects.temp("chunk")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, READ_ONLY)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        os.close(fd)
        self._pending[chunk] = tmp
        self.nbytes += len(data)

    def read(self, chunk: Oid, size: int) -> bytes:
        with open(self._pending[chunk], "rb", buffering=0) as f:
            return f.read(size)

    def publish(self) -> None:
        """Every pending chunk durable and in place (per `core.fsync`)."""
        durable = atomic.fsync_enabled()
        few = len(self._pending) <= _FSYNC_EACH
        if durable and few:
            _fsync_all(list(self._pending.values()))
        elif durable and self._pending:
            atomic.syncfs(self._objects.path(""))
        folders: set[str] = set()
        for chunk, tmp in sorted(self._pending.items()):
            final = self._objects.final(chunk_key(chunk))
            if os.path.exists(final):
                os.unlink(tmp)  # a twin (another version, another process) came first
            else:
                os.replace(tmp, final)
                folders.add(os.path.dirname(final))
        self._pending.clear()
        if durable and folders:
            if few:
                _fsync_all(sorted(folders), folders=True)
            else:
                atomic.syncfs(self._objects.path(""))

    def discard(self) -> None:
        for tmp in self._pending.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        self._pending.clear()


def _fsync_all(paths: list[str], folders: bool = False) -> None:
    """fsync each path (files, or folders after renames), several threads at once."""

    def one(path: str) -> None:
        if folders:
            atomic.sync_dir(path)
            return
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    if len(paths) <= 1:
        for path in paths:
            one(path)
        return
    from concurrent.futures import ThreadPoolExecutor  # only a write of several chunks

    with ThreadPoolExecutor(min(_FSYNC_THREADS, len(paths))) as pool:
        list(pool.map(one, paths))


class ChunkStore:
    """The chunked objects of one cache (the cache's `objects` folder)."""

    def __init__(self, objects: FolderStore, quarantine: Callable[[str, str], object]) -> None:
        self.objects = objects
        self._quarantine = quarantine  # (path, name in quarantine/)

    def chunk_path(self, chunk: Oid) -> str:
        return self.objects.path(chunk_key(chunk))

    def list_path(self, oid: Oid) -> str:
        return self.objects.path(list_key(oid))

    def has_list(self, oid: Oid) -> bool:
        return os.path.exists(self.list_path(oid))

    def has_chunk(self, chunk: Oid) -> bool:
        return os.path.exists(self.chunk_path(chunk))

    def load(self, oid: Oid, size: int | None = None) -> list[Chunk]:
        """The object's chunk list (FileNotFoundError: it has none; PointerError: damaged)."""
        with open(self.list_path(oid), "rb", buffering=0) as f:
            data = f.read()
        return decode_list(data, f"cached chunk list of {oid}", size)

    def size(self, oid: Oid) -> int | None:
        try:
            return sum(c.size for c in self.load(oid))
        except (OSError, ValueError):
            return None

    # -- writing ------------------------------------------------------------------------------

    def add_file(
        self,
        src: Path | str,
        algorithm: str,
        settings: Settings,
        advance: Callable[[int], None] | None = None,
    ) -> tuple[Oid, int]:
        """Cut and hash `src` in one pass over its mapped bytes, writing only the chunks the
        cache lacks; then its chunk list. A new version that changed 1% writes ~1%."""
        batch = ChunkBatch(self.objects)

        def each(c: Chunk, data: memoryview) -> None:
            if c.oid not in batch and not self.has_chunk(c.oid):
                batch.write(c.oid, data)
            if advance is not None:
                advance(c.size)

        try:
            chunks, oid = cut_and_hash(src, settings.avg_size, algorithm, each)
            self.commit(oid, chunks, batch)
        finally:
            batch.discard()
        return oid, sum(c.size for c in chunks)

    def commit(self, oid: Oid, chunks: list[Chunk], batch: ChunkBatch) -> None:
        """Publish the batch's chunks, then the list that makes `oid` present (unless the
        cache holds the object already, whole or chunked)."""
        if self.has_list(oid) or self.objects.has(object_key(oid)):
            batch.discard()
            return
        batch.publish()
        data = encode_list(chunks)

        def fill(fd: int) -> int:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            return len(data)

        self.objects.put(list_key(oid), fill)

    # -- reading ------------------------------------------------------------------------------

    def assemble_into(self, oid: Oid, dst_fd: int) -> tuple[str, list[Chunk]]:
        """Write the object's bytes into `dst_fd` (from its position), chunk by chunk in the
        kernel where it can, then hash what was written, from the page cache: the hex
        digest, and the chunk list (to find a culprit when the digest is wrong)."""
        chunks = self.load(oid)
        for c in chunks:
            try:
                src_fd = os.open(self.chunk_path(c.oid), os.O_RDONLY)
            except FileNotFoundError:
                return "", chunks  # a missing chunk: the caller names it
            try:
                if copy_fd(src_fd, dst_fd) != c.size:
                    return "", chunks
            finally:
                os.close(src_fd)
        return hash_fd(dst_fd, oid.algorithm)[0].hex, chunks

    def read_chunk(self, chunk: Chunk) -> bytes | None:
        """A chunk's bytes, re-hashed; None if absent. A damaged one goes to quarantine, so
        a fetch writes a good copy in its place."""
        try:
            with open(self.chunk_path(chunk.oid), "rb", buffering=0) as f:
                data = f.read(chunk.size + 1)
        except FileNotFoundError:
            return None
        if len(data) == chunk.size and hash_bytes(data, chunk.oid.algorithm) == chunk.oid:
            return data
        self.quarantine_chunk(chunk.oid)
        return None

    def bad_chunks(self, chunks: list[Chunk]) -> list[Oid]:
        """The chunks that are missing or fail their hash (each checked once)."""
        bad = []
        for oid in dict.fromkeys(c.oid for c in chunks):
            size = next(c.size for c in chunks if c.oid == oid)
            try:
                with open(self.chunk_path(oid), "rb", buffering=0) as f:
                    data = f.read(size + 1)
            except FileNotFoundError:
                bad.append(oid)
                continue
            if len(data) != size or hash_bytes(data, oid.algorithm) != oid:
                bad.append(oid)
        return bad

    def hash_object(self, oid: Oid) -> str:
        """The hex digest of the object's bytes as its chunks now make them ('' when the list
        or a chunk is missing or damaged)."""
        h = new_hasher(oid.algorithm)
        try:
            for c in self.load(oid):
                with open(self.chunk_path(c.oid), "rb", buffering=0) as f:
                    data = f.read(c.size + 1)
                if len(data) != c.size:
                    return ""
                h.update(data)
        except (OSError, ValueError):
            return ""
        return h.hexdigest()

    def read_all(self, oid: Oid) -> bytes:
        """A (small) chunked object's bytes, unverified: the caller checks them."""
        parts = []
        for c in self.load(oid):
            with open(self.chunk_path(c.oid), "rb", buffering=0) as f:
                parts.append(f.read(c.size))
        return b"".join(parts)

    def open(self, oid: Oid) -> BinaryIO:
        """The object's bytes as a stream, read chunk by chunk (the caller verifies them)."""
        chunks = self.load(oid)
        files = (open(self.chunk_path(c.oid), "rb", buffering=0) for c in chunks)  # noqa: SIM115
        return io.BufferedReader(ConcatenatedReader(files), 1024 * 1024)

    # -- removing -----------------------------------------------------------------------------

    def quarantine_chunk(self, chunk: Oid) -> None:
        self._quarantine(self.chunk_path(chunk), f"chunk-{chunk.algorithm}-{chunk.hex}")

    def remove_list(self, oid: Oid) -> None:
        self.objects.delete([list_key(oid)])

    def iter_lists(self) -> Iterator[Oid]:
        """The objects the cache holds as chunk lists."""
        for algorithm in ALGORITHMS:
            for key in self.objects.iter_keys(algorithm):
                named = parse_object_key(key)
                if named is not None and named.chunk_list:
                    yield named.oid

    def sweep(self, grace: float | None = None, dry_run: bool = False) -> tuple[int, int]:
        """Remove the chunks that no chunk list in the cache names (after the lists of the
        objects gc dropped are gone), but none younger than `grace` seconds: a fetch or add
        running beside gc publishes its chunks before its list. The number and bytes."""
        named: set[Oid] = set()
        for oid in self.iter_lists():
            try:
                named.update(c.oid for c in self.load(oid))
            except ValueError:
                continue  # a damaged list names nothing readable: its object is lost anyway
            except FileNotFoundError:
                continue
        cutoff = time.time() - (SWEEP_GRACE if grace is None else grace)
        count = nbytes = 0
        for algorithm in ALGORITHMS:
            for key in self.objects.iter_keys(f"{CHUNKS_DIR}/{algorithm}"):
                chunk = parse_chunk_key(key)
                if chunk is None or chunk in named:
                    continue
                path = self.objects.path(key)
                with contextlib.suppress(FileNotFoundError):
                    st = os.lstat(path)
                    if st.st_mtime >= cutoff:
                        continue
                    if not dry_run:
                        os.unlink(path)
                    count += 1
                    nbytes += st.st_size
        return count, nbytes
