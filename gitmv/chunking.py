"""Content-defined chunking of large objects (DESIGN 3.1) and the chunk lists that name them.

A file of at least `chunking.min_size` bytes is stored on a remote as its chunks plus
a chunk list, so a new version that changed 1% uploads about 1% of the bytes. The
cutting is pyfastcdc's compiled FastCDC, which runs at ~2.5 GB/s: disk speed.
"""

from __future__ import annotations

import json
import mmap
import os
from dataclasses import dataclass
from pathlib import Path

from gitmv.errors import GitmvError, PointerError
from gitmv.hashing import Oid, hash_bytes

LIST_SUFFIX = ".chunks"
CHUNKS_DIR = "chunks"
MAX_LIST_ENTRIES = 10_000_000  # a 10 TB object at 1 MiB chunks; anything larger is hostile


@dataclass(frozen=True)
class Chunk:
    oid: Oid
    offset: int
    size: int


def list_key(oid: Oid) -> str:
    """Where an object's chunk list lives below a remote's root."""
    return oid.relpath + LIST_SUFFIX


def chunk_key(oid: Oid) -> str:
    """Where a chunk lives below a remote's root."""
    return f"{CHUNKS_DIR}/{oid.relpath}"


def check_avg_size(avg_size: int) -> int:
    if not 64 * 1024 <= avg_size <= 4 * 1024 * 1024:
        raise GitmvError(
            f"chunking.avg_size {avg_size} is out of range",
            hint="choose between 64 KiB and 4 MiB (default 1 MiB)",
        )
    return avg_size


def cut(path: Path, avg_size: int, algorithm: str) -> list[Chunk]:
    """Cut a file into content-defined chunks (min avg/4, max avg*4) and hash each one."""
    from pyfastcdc import FastCDC  # compiled; loaded only by commands that chunk

    avg_size = check_avg_size(avg_size)
    chunker = FastCDC(avg_size, min_size=avg_size // 4, max_size=avg_size * 4)
    size = os.path.getsize(path)
    if size == 0:
        return []
    chunks = []
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        view = memoryview(mapped)
        try:
            for c in chunker.cut_buf(view):
                data = c.data
                chunks.append(Chunk(hash_bytes(data, algorithm), c.offset, c.length))  # type: ignore[arg-type]
                data.release()
                del c
        finally:
            view.release()
    return chunks


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
