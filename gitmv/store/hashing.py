"""Streaming hashes (xxh3-128, sha256) and the `Oid` value that names an object."""

from __future__ import annotations

import errno
import functools
import os

import xxhash

from gitmv.base.errors import GitmvError
from gitmv.base.fastcopy import kernel_copy

# Neither typing nor pathlib at run time: a clean `status` loads this module (mypy reads
# this constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import BinaryIO, Protocol

    class Hasher(Protocol):
        def update(self, data: bytes, /) -> None: ...
        def hexdigest(self) -> str: ...


ALGORITHMS = {"xxh128": 32, "sha256": 64}  # name -> hex length
DEFAULT_ALGORITHM = "xxh128"
BLOCK = 4 * 1024 * 1024
_HEX_DIGITS = frozenset("0123456789abcdef")


def new_hasher(algorithm: str) -> Hasher:
    if algorithm == "xxh128":
        return xxhash.xxh3_128()
    if algorithm == "sha256":
        import hashlib  # OpenSSL's import is 3 ms of a clean status that uses xxh128

        return hashlib.sha256()
    raise GitmvError(
        f"unknown hash algorithm {algorithm!r}", hint="supported: " + ", ".join(ALGORITHMS)
    )


class Oid:
    """An object id: `<algorithm>:<lowercase hex>`. Immutable, compared and ordered by
    (algorithm, hex), as the frozen, ordered dataclass it was (written out: see
    gitmv.base.record; slots: 200,000 of them in a folder)."""

    __slots__ = ("algorithm", "hex")
    algorithm: str
    hex: str

    def __init__(self, algorithm: str, hex: str) -> None:
        object.__setattr__(self, "algorithm", algorithm)
        object.__setattr__(self, "hex", hex)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[type[Oid], tuple[str, str]]:
        return (Oid, (self.algorithm, self.hex))  # pickle and copy would meet __setattr__

    def __repr__(self) -> str:
        return f"Oid(algorithm={self.algorithm!r}, hex={self.hex!r})"

    def __hash__(self) -> int:
        return hash((self.algorithm, self.hex))

    def __eq__(self, other: object) -> bool:
        if type(other) is not Oid:
            return NotImplemented
        return self.hex == other.hex and self.algorithm == other.algorithm

    def __lt__(self, other: Oid) -> bool:
        if type(other) is not Oid:
            return NotImplemented
        return (self.algorithm, self.hex) < (other.algorithm, other.hex)

    def __le__(self, other: Oid) -> bool:
        if type(other) is not Oid:
            return NotImplemented
        return (self.algorithm, self.hex) <= (other.algorithm, other.hex)

    def __gt__(self, other: Oid) -> bool:
        if type(other) is not Oid:
            return NotImplemented
        return (self.algorithm, self.hex) > (other.algorithm, other.hex)

    def __ge__(self, other: Oid) -> bool:
        if type(other) is not Oid:
            return NotImplemented
        return (self.algorithm, self.hex) >= (other.algorithm, other.hex)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @classmethod
    def parse(cls, text: object) -> Oid:
        if not isinstance(text, str) or ":" not in text:
            raise GitmvError(f"malformed oid {text!r}", hint="an oid reads <algorithm>:<hex>")
        algorithm, _, hexpart = text.partition(":")
        length = ALGORITHMS.get(algorithm)
        if length is None:
            raise GitmvError(
                f"unknown hash algorithm {algorithm!r} in oid",
                hint="supported: " + ", ".join(ALGORITHMS),
            )
        # no `re` for this: a set test is as fast, and a hook need not import it
        if len(hexpart) != length or not _HEX_DIGITS.issuperset(hexpart):
            raise GitmvError(
                f"malformed oid {text!r}", hint=f"{algorithm} takes {length} hex digits"
            )
        return cls(algorithm, hexpart)


def hash_bytes(data: bytes, algorithm: str = DEFAULT_ALGORITHM) -> Oid:
    h = new_hasher(algorithm)
    h.update(data)
    return Oid(algorithm, h.hexdigest())


def hash_stream(stream: BinaryIO, algorithm: str = DEFAULT_ALGORITHM) -> tuple[Oid, int]:
    h = new_hasher(algorithm)
    size = 0
    while block := stream.read(BLOCK):
        h.update(block)
        size += len(block)
    return Oid(algorithm, h.hexdigest()), size


def hash_file(path: Path | str, algorithm: str = DEFAULT_ALGORITHM) -> tuple[Oid, int]:
    with open(path, "rb", buffering=0) as f:
        return hash_stream(f, algorithm)


def copy_and_hash(
    src: Path | str,
    dst_fd: int,
    algorithm: str = DEFAULT_ALGORITHM,
    sync: bool = False,
    advance: Callable[[int], None] | None = None,
) -> tuple[Oid, int]:
    """Copy `src` to `dst_fd` and return the hash and size of what was written.

    The copy runs in the kernel where it can; then the copy itself is hashed (so the
    object's bytes are exactly what its name vouches for), which needs `dst_fd` open for
    reading too. Without a kernel copy, bytes are hashed on their way through.

    `sync`: the copy is durable (fsynced) when this returns. Write-back of each piece
    starts as soon as it is copied, and the fsync runs on a thread while the copy is
    hashed, so the disk writes beside the copying and hashing instead of after them
    (measured in docs/reliability.md; slices smaller than 64 MiB, hashed between
    copies, made the copy itself twice as slow).
    """
    writeback = _sync_file_range() if sync else None
    with open(src, "rb", buffering=0) as f:
        if kernel_copy(f.fileno(), dst_fd, writeback) is None:
            result = _copy_hashing(src, dst_fd, algorithm)
            if sync:
                os.fsync(dst_fd)
            return result
    syncing = _Fsync(dst_fd) if sync else None
    try:
        return hash_fd(dst_fd, algorithm)
    except OSError as exc:
        if exc.errno != errno.EBADF:
            raise
        return hash_file(src, algorithm)  # write-only fd: the source is in the page cache now
    finally:
        if syncing is not None:
            syncing.wait()


class _Fsync:
    """An fsync on its own thread (it releases the GIL); `wait` joins it and re-raises."""

    def __init__(self, fd: int) -> None:
        import threading

        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, args=(fd,), daemon=True)
        self._thread.start()

    def _run(self, fd: int) -> None:
        try:
            os.fsync(fd)
        except OSError as exc:
            self._error = exc

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


@functools.cache
def _sync_file_range() -> Callable[[int, int, int], None] | None:
    """Start write-back of a file's byte range without waiting (Linux's sync_file_range(2)
    with SYNC_FILE_RANGE_WRITE, through libc); None where there is none."""
    import ctypes

    try:
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int

    def start(fd: int, offset: int, length: int) -> None:
        fn(fd, offset, length, 2)  # SYNC_FILE_RANGE_WRITE; a failure only loses the overlap

    return start


_MAP_FROM = 16 * 1024 * 1024  # larger files are hashed through a mapping: no copy out


def hash_fd(fd: int, algorithm: str) -> tuple[Oid, int]:
    """Hash a whole open file from its start (it must be open for reading). A large one
    is hashed straight from the page cache through mmap (0.09 s a GiB here, where reads
    into a buffer take 0.14 s): checkout reads back every large file it copies."""
    size = os.fstat(fd).st_size
    if size >= _MAP_FROM:
        import mmap

        h = new_hasher(algorithm)
        try:
            mm = mmap.mmap(fd, size, prot=mmap.PROT_READ)
        except OSError:
            pass  # a write-only fd, say: the reads below say why
        else:
            with mm:
                mm.madvise(mmap.MADV_SEQUENTIAL)
                with memoryview(mm) as view:
                    for offset in range(0, size, BLOCK * 4):
                        h.update(view[offset : offset + BLOCK * 4])  # type: ignore[arg-type]
            return Oid(algorithm, h.hexdigest()), size
    h = new_hasher(algorithm)
    offset = 0
    while block := os.pread(fd, BLOCK, offset):
        h.update(block)
        offset += len(block)
    return Oid(algorithm, h.hexdigest()), offset


def _telling(
    writeback: Callable[[int, int, int], None] | None, advance: Callable[[int], None] | None
) -> Callable[[int, int, int], None] | None:
    """The kernel copy's per-piece callback: write-back, and progress."""
    if advance is None:
        return writeback

    def written(fd: int, offset: int, length: int) -> None:
        if writeback is not None:
            writeback(fd, offset, length)
        advance(length)

    return written


def _copy_hashing(
    src: Path | str, dst_fd: int, algorithm: str, advance: Callable[[int], None] | None = None
) -> tuple[Oid, int]:
    h = new_hasher(algorithm)
    size = 0
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    with open(src, "rb", buffering=0) as f:
        while n := f.readinto(view):
            chunk = view[:n]
            h.update(chunk)  # type: ignore[arg-type]
            written = 0
            while written < n:
                written += os.write(dst_fd, chunk[written:])
            size += n
            if advance is not None:
                advance(n)
    return Oid(algorithm, h.hexdigest()), size
