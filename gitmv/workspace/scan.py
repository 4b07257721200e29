"""Hashing the work tree: files and folders, through the stat cache, many files in parallel."""

from __future__ import annotations

import collections
import os
import stat
import subprocess
import time

import xxhash

from gitmv.base.atomic import _TMP_MARK
from gitmv.base.errors import GitmvError
from gitmv.base.record import Record
from gitmv.store.hashing import Oid, hash_bytes, hash_file
from gitmv.store.state import stat_key

# Neither typing nor dataclasses at run time: a clean `status` loads this module (mypy
# reads this constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path
    from typing import NamedTuple, TypeVar

    from gitmv.store.manifest import ManifestEntry
    from gitmv.store.state import Key, StatCache

    T = TypeVar("T")
    R = TypeVar("R")

# Files at most this big are read whole: one read call instead of a loop.
_SMALL = 1024 * 1024

if TYPE_CHECKING:

    class WorkFile(NamedTuple):
        """One regular file found under a folder artifact (a tuple: 20,000 of them are
        cheap)."""

        relpath: str  # relative to the folder, '/'-separated
        path: str  # absolute
        key: Key
        exec: bool

else:  # the same class typing.NamedTuple makes, without importing typing
    WorkFile = collections.namedtuple("WorkFile", ("relpath", "path", "key", "exec"))
    WorkFile.__doc__ = """One regular file found under a folder artifact (a tuple: 20,000 of
    them are cheap)."""


def is_exec(st: os.stat_result) -> bool:
    return bool(st.st_mode & stat.S_IXUSR)


def walk(folder: Path, root: Path, temps: list[str] | None = None) -> list[WorkFile]:
    """Every file below `folder`, following links only to files inside `root`.

    gitmv's own temp files are left out (and listed in `temps` when given).
    """
    # The hot loop of a clean `status`: one lstat per entry and as little Python as possible.
    found: list[WorkFile] = []
    real_root = os.path.realpath(root)
    stack = [(str(folder), "")]
    while stack:
        path, prefix = stack.pop()
        with os.scandir(path) as entries:
            for entry in entries:
                name = entry.name
                if _TMP_MARK in name:
                    if temps is not None:
                        temps.append(entry.path)
                    continue
                st = entry.stat(follow_symlinks=False)
                kind = st.st_mode & 0o170000
                if kind == stat.S_IFLNK:
                    _check_link(entry.path, root, real_root)
                    st = os.stat(entry.path)  # a link to a file inside the repository
                    kind = st.st_mode & 0o170000
                elif kind == stat.S_IFDIR:
                    stack.append((entry.path, prefix + name + "/"))
                    continue
                if kind == stat.S_IFREG:
                    key = (st.st_ino, st.st_size, st.st_mtime_ns)
                    found.append(WorkFile(prefix + name, entry.path, key, bool(st.st_mode & 0o100)))
    found.sort()  # by relpath: the tuples' first field, unique
    return found


def _check_link(path: str, root: Path, real_root: str) -> None:
    """A link inside a folder artifact is followed only to a file inside the repository."""
    target = os.path.realpath(path)
    name = os.path.relpath(path, root)
    if not target.startswith(real_root + os.sep):
        raise GitmvError(
            f"{name}: a symbolic link that leads out of the repository",
            hint="replace the link with the file itself, or remove it",
        )
    if not os.path.exists(target):
        raise GitmvError(f"{name}: a broken symbolic link", hint="remove it or restore its target")
    if os.path.isdir(target):
        raise GitmvError(
            f"{name}: a symbolic link to a folder",
            hint="gitmv follows links to files only; copy the folder instead",
        )


def parallel(func: Callable[[T], R], items: Sequence[T], jobs: int) -> list[R]:
    """`func` over `items` on `jobs` threads, in batches: a future per file costs more than
    hashing or copying a small one. Threads suffice: file I/O and xxhash release the GIL."""
    if len(items) < 64 or jobs <= 1:
        return [func(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor  # 3 ms: not for a clean status

    size = max(16, min(512, len(items) // (jobs * 4)))
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = pool.map(lambda batch: [func(item) for item in batch], batches)
        return [result for batch in results for result in batch]


def read_small(path: str, size: int) -> bytes:
    """A small file's bytes in three system calls (open, read, close): Python's buffered
    open() adds an fstat and a second read, which count at 20,000 files."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, size + 1)
        while len(data) > size:  # it grew since the walk: read the rest too
            more = os.read(fd, _SMALL)
            if not more:
                break
            data += more
        return data
    finally:
        os.close(fd)


def hash_one(path: str, size: int, algorithm: str) -> Oid:
    if size <= _SMALL:
        return hash_bytes(read_small(path, size), algorithm)
    return hash_file(path, algorithm)[0]


class FolderScan:
    """A folder's manifest as the work tree has it now."""

    _fields = ("entries", "fresh", "encoded")

    __slots__ = _fields

    def __init__(
        self,
        entries: list[ManifestEntry],
        fresh: list[tuple[str, Key, str]],
        encoded: bytes | None = None,
    ) -> None:
        self.entries = entries
        self.fresh = fresh  # stat-cache rows to remember
        self.encoded = encoded  # manifest(), once built

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)

    def manifest(self) -> bytes:
        from gitmv.store.manifest import encode  # here: a status of files needs no manifest

        if self.encoded is None:
            self.encoded = encode(self.entries)
        return self.encoded

    def oid(self, algorithm: str) -> Oid:
        return hash_bytes(self.manifest(), algorithm)


def scan_folder(
    folder: Path,
    root: Path,
    state: StatCache,
    algorithm: str,
    jobs: int,
    store: Callable[[WorkFile], Oid] | None = None,
    files: list[WorkFile] | None = None,
    temps: list[str] | None = None,
) -> FolderScan:
    """Hash a folder's files, trusting the stat cache for unchanged ones.

    `store`, when given, is called instead of a plain hash for each file the stat
    cache does not vouch for (so `add` copies into the cache in the same pass).
    """
    from gitmv.store.manifest import no_gc

    with no_gc():  # an object per file below, none in a cycle: no collector passes
        return _scan_folder(folder, root, state, algorithm, jobs, store, files, temps)


def _scan_folder(
    folder: Path,
    root: Path,
    state: StatCache,
    algorithm: str,
    jobs: int,
    store: Callable[[WorkFile], Oid] | None,
    files: list[WorkFile] | None,
    temps: list[str] | None,
) -> FolderScan:
    if files is None:
        files = walk(folder, root, temps)
    known = state.get_under(str(folder))
    oids: list[Oid | None] = []
    todo: list[WorkFile] = []
    for f in files:
        hit = known.get(f.path)
        if hit is not None and hit[0] == f.key and hit[1].startswith(algorithm + ":"):
            oids.append(Oid(algorithm, hit[1][len(algorithm) + 1 :]))
        else:
            oids.append(None)
            todo.append(f)
    hasher = store or (lambda f: hash_one(f.path, f.key[1], algorithm))
    computed = iter(parallel(hasher, todo, jobs))
    from gitmv.store.manifest import ManifestEntry

    entries: list[ManifestEntry] = []
    fresh: list[tuple[str, Key, str]] = []
    for f, oid in zip(files, oids, strict=True):
        if oid is None:
            oid = next(computed)
            fresh.append((f.path, f.key, str(oid)))
        entries.append(ManifestEntry(f.relpath, oid, f.key[1], f.exec))
    return FolderScan(entries, fresh)


def fingerprint(files: Sequence[WorkFile]) -> str:
    """One value that changes whenever any file's name, inode, size, mtime or exec bit does."""
    text = "\n".join(f"{f.relpath}\0{f.key[0]}\0{f.key[1]}\0{f.key[2]}\0{f.exec:d}" for f in files)
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8", "surrogateescape"))


def quick_stamp(folder: Path) -> str | None:
    """The folder's fingerprint from GNU find (`quick_listing`'s stamp), or None."""
    listing = quick_listing(folder)
    return listing.stamp if listing is not None else None


class Listing(Record):
    """What find said about a folder: its stamp (`scan.quick_stamp`'s value) and its records."""

    _fields = ("stamp", "raw", "started_ns")

    __slots__ = _fields
    stamp: str
    raw: bytes  # NUL-terminated records: b"f <inode> <size> <mtime> <mode> ./<path>"
    started_ns: int  # wall clock before find ran: the racy window is measured from here

    def __init__(self, stamp: str, raw: bytes, started_ns: int) -> None:
        super().__init__(stamp, raw, started_ns)


def quick_listing(folder: Path) -> Listing | None:
    """The folder's fingerprint and records from GNU find, which stats 20,000 files in C
    about twice as fast as Python walks them; None where find cannot give it (then the
    walk's is used).

    The top-level entries are split between one find per CPU (up to 4): stat is kernel
    work, so two finds take 30 ms where one takes 50. Folders holding symbolic links are
    left to the walk: it follows them, find does not.
    """
    started = time.time_ns()
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return None
    groups = min(4, os.cpu_count() or 1, len(names))
    if groups < 2 or len(names) > 512:  # one find; no argument list to outgrow
        starts = [[".", "-mindepth", "1"]]
    else:
        share = -(-len(names) // groups)  # ceiling division: every name in one group
        starts = [[f"./{n}" for n in names[i : i + share]] for i in range(0, len(names), share)]
    listings = []
    try:
        finds = [
            subprocess.Popen(
                ["find", *start, "-printf", _FIND_FORMAT],
                cwd=folder,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            for start in starts
        ]
    except OSError:
        return None
    complete = True
    for find in finds:
        listing, _ = find.communicate()
        complete &= find.returncode == 0 and (not listing or listing.endswith(b"\0"))
        listings.append(listing)
    listing = b"".join(listings)
    if not complete or b"\0l " in b"\0" + listing:
        return None
    return Listing("find:" + xxhash.xxh3_128_hexdigest(listing), listing, started)


_FIND_FORMAT = "%y %i %s %T@ %m %p\\0"


def folder_stamp(folder: Path, files: Sequence[WorkFile], quick: str | None) -> str:
    """What the stat cache keys a folder's manifest oid by: `quick` when find gave one
    (taken before the walk, so it never vouches for a newer state than was hashed)."""
    return quick or fingerprint(files)


def folder_oid(
    folder: Path,
    root: Path,
    state: StatCache,
    algorithm: str,
    jobs: int,
    listing: Listing | None = None,
) -> tuple[Oid, FolderScan | None]:
    """A folder's manifest oid; the stat cache answers for an unchanged folder in one lookup.

    The scan is returned when one was needed (the caller may want its entries). `listing`:
    the folder's `quick_listing`, when the caller took it already.
    """
    if listing is None:
        listing = quick_listing(folder)
    quick = listing.stamp if listing is not None else None
    if quick is not None:
        cached = state.get_folder(str(folder), quick)
        if cached is not None and cached.startswith(algorithm + ":"):
            return Oid(algorithm, cached[len(algorithm) + 1 :]), None
    files = walk(folder, root)
    stamp = folder_stamp(folder, files, quick)
    cached = state.get_folder(str(folder), stamp)
    if cached is not None and cached.startswith(algorithm + ":"):
        return Oid(algorithm, cached[len(algorithm) + 1 :]), None
    found = scan_folder(folder, root, state, algorithm, jobs, files=files)
    oid = found.oid(algorithm)
    newest = max((f.key[2] for f in files), default=0)
    state.put_folder(str(folder), stamp, str(oid), newest)
    return oid, found


def file_oid(path: Path, st: os.stat_result, state: StatCache, algorithm: str) -> tuple[Oid, bool]:
    """A work-tree file's oid, and whether it had to be hashed (not vouched for by the cache)."""
    cached = state.get(str(path), stat_key(st))
    if cached is not None and cached.startswith(algorithm + ":"):
        return Oid(algorithm, cached[len(algorithm) + 1 :]), False
    return hash_one(str(path), st.st_size, algorithm), True
