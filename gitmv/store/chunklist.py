"""Content-defined chunking (DESIGN 3.1): where a large file is cut, and the chunk lists that
name its chunks, in the remote's format (JSON lines). Knows no cache: the cache's chunked
form (store/chunkstore.py) and the transfer of chunks (transfer/chunked.py) both build on it.

The cutting is pyfastcdc's compiled FastCDC, which runs at ~1.4 GiB/s with the chunk hashes:
disk speed.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gitmv.base.config import Config
from gitmv.base.errors import GitmvError, PointerError
from gitmv.store.hashing import Oid, hash_bytes, new_hasher

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
    min_size = config.size("chunking.min_size", DEFAULT_MIN_SIZE)
    avg_size = config.size("chunking.avg_size", DEFAULT_AVG_SIZE)
    return Settings(min_size, check_avg_size(avg_size))


CACHE_CHUNKED_DEFAULT = False  # see docs/cost.md, "The chunked cache": measured, decided there


def cache_settings(config: Config) -> Settings | None:
    """How `add` and `fetch` keep large files in the local cache: as chunks plus a chunk
    list (`cache.chunked`, the chunking settings returned), or whole (None)."""
    value = config.flag("cache.chunked", CACHE_CHUNKED_DEFAULT)
    return settings_from(config) if value else None


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


def cut_and_hash(
    path: Path | str,
    avg_size: int,
    algorithm: str,
    each: Callable[[Chunk, memoryview], None] | None = None,
) -> tuple[list[Chunk], Oid]:
    """`cut`, and the whole file's oid from the same pass over its bytes: a push checks that
    the cached file still is the object it is named after before any chunk of it goes up.
    `each` is given every chunk with its bytes (a view into the mapped file, valid only
    during the call): the chunked cache stores the new ones in this same pass."""
    from pyfastcdc import FastCDC  # compiled; loaded only by commands that chunk

    avg_size = check_avg_size(avg_size)
    chunker = FastCDC(avg_size, min_size=avg_size // 4, max_size=avg_size * 4)
    whole = new_hasher(algorithm)
    chunks: list[Chunk] = []
    if os.path.getsize(path) == 0:
        return chunks, Oid(algorithm, whole.hexdigest())
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        with contextlib.suppress(AttributeError, OSError):  # read once, front to back
            mapped.madvise(mmap.MADV_SEQUENTIAL)
        view = memoryview(mapped)
        try:
            for c in chunker.cut_buf(view):
                data = c.data
                whole.update(data)  # type: ignore[arg-type]
                chunk = Chunk(hash_bytes(data, algorithm), c.offset, c.length)  # type: ignore[arg-type]
                chunks.append(chunk)
                if each is not None:
                    each(chunk, data)
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
