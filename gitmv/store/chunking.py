"""Content-defined chunking of large objects (DESIGN 3.1), the chunk lists that name them,
and the local chunk index: which chunks the cache can rebuild from objects it holds.

A file of at least `chunking.min_size` bytes is stored on a remote as its chunks plus
a chunk list, so a new version that changed 1% uploads about 1% of the bytes. The
cutting is pyfastcdc's compiled FastCDC, which runs at ~1.4 GiB/s with the chunk hashes:
disk speed.

The local index is one chunk list file per cached object that gitmv has cut or assembled,
at `<cache>/chunk-lists/<algorithm>/<xx>/<rest>.chunks` (the remote's format). Each is
written once, atomically, after its object is in the cache; a list whose object is gone
is ignored and removed by `gitmv gc`. Every chunk read through the index is re-hashed
before use, so a stale or damaged entry costs a download, never a wrong byte.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gitmv.base import atomic
from gitmv.base.config import Config
from gitmv.base.errors import GitmvError, PointerError
from gitmv.store.cache import Cache
from gitmv.store.hashing import ALGORITHMS, Oid, hash_bytes, new_hasher
from gitmv.store.layout import list_key, parse_object_key

LOCAL_LISTS = "chunk-lists"  # below the cache root
MAX_LIST_ENTRIES = 10_000_000  # a 9.5 TiB object at 1 MiB chunks; anything larger is hostile
DEFAULT_MIN_SIZE = 8 * 1024 * 1024
DEFAULT_AVG_SIZE = 1024 * 1024


@dataclass(frozen=True)
class Chunk:
    oid: Oid
    offset: int
    size: int


@dataclass(frozen=True)
class Settings:
    """A repository's chunking config: which files are chunked, and how finely."""

    min_size: int = DEFAULT_MIN_SIZE
    avg_size: int = DEFAULT_AVG_SIZE

    def chunks(self, size: int) -> bool:
        """Whether a file object of `size` bytes is pushed as chunks."""
        return size > 0 and size >= self.min_size


def settings_from(config: Config) -> Settings:
    """The repository's chunking settings, checked."""
    values = []
    for name, default in (("min_size", DEFAULT_MIN_SIZE), ("avg_size", DEFAULT_AVG_SIZE)):
        value = config.get(f"chunking.{name}", default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise GitmvError(
                f"chunking.{name} must be a number of bytes, got {value!r}",
                hint=f"set it in .gitmv/config.yaml (default {default})",
            )
        values.append(value)
    return Settings(values[0], check_avg_size(values[1]))


def check_avg_size(avg_size: int) -> int:
    if not 64 * 1024 <= avg_size <= 4 * 1024 * 1024:
        raise GitmvError(
            f"chunking.avg_size {avg_size} is out of range",
            hint="choose between 64 KiB and 4 MiB (default 1 MiB)",
        )
    return avg_size


def cut(path: Path, avg_size: int, algorithm: str) -> list[Chunk]:
    """Cut a file into content-defined chunks (min avg/4, max avg*4) and hash each one."""
    return cut_and_hash(path, avg_size, algorithm)[0]


def cut_and_hash(path: Path, avg_size: int, algorithm: str) -> tuple[list[Chunk], Oid]:
    """`cut`, and the whole file's oid from the same pass over its bytes: a push checks that
    the cached file still is the object it is named after before any chunk of it goes up."""
    from pyfastcdc import FastCDC  # compiled; loaded only by commands that chunk

    avg_size = check_avg_size(avg_size)
    chunker = FastCDC(avg_size, min_size=avg_size // 4, max_size=avg_size * 4)
    whole = new_hasher(algorithm)
    chunks: list[Chunk] = []
    if os.path.getsize(path) == 0:
        return chunks, Oid(algorithm, whole.hexdigest())
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        view = memoryview(mapped)
        try:
            for c in chunker.cut_buf(view):
                data = c.data
                whole.update(data)  # type: ignore[arg-type]
                chunks.append(Chunk(hash_bytes(data, algorithm), c.offset, c.length))  # type: ignore[arg-type]
                data.release()
                del c
        finally:
            view.release()
    return chunks, Oid(algorithm, whole.hexdigest())


def encode_list(chunks: list[Chunk]) -> bytes:
    """JSON lines, in file order: the chunk's oid and size (offsets follow from the sizes)."""
    return "".join(f'{{"oid": "{c.oid}", "size": {c.size}}}\n' for c in chunks).encode()


def decode_list(data: bytes, name: str, expected_size: int | None = None) -> list[Chunk]:
    """Parse and check a chunk list; offsets are rebuilt from the sizes."""
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise PointerError(f"{name}: chunk list is not UTF-8") from None
    if len(lines) > MAX_LIST_ENTRIES:
        raise PointerError(f"{name}: chunk list has {len(lines)} entries, over the limit")
    chunks: list[Chunk] = []
    offset = 0
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
            oid = Oid.parse(row["oid"])
            size = row["size"]
        except (ValueError, KeyError, TypeError, GitmvError):
            raise PointerError(f"{name} line {number}: malformed chunk entry") from None
        if type(size) is not int or size <= 0:
            raise PointerError(f"{name} line {number}: malformed chunk size {size!r}")
        chunks.append(Chunk(oid, offset, size))
        offset += size
    if expected_size is not None and offset != expected_size:
        raise PointerError(
            f"{name}: chunks add up to {offset} bytes, the object has {expected_size}"
        )
    return chunks


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

    def read(self, chunk: Chunk) -> bytes | None:
        """The chunk's bytes out of a cached object, re-hashed; None if that fails."""
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
