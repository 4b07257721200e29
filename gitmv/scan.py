"""Hashing the work tree: files and folders, through the stat cache, many files in parallel."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from gitmv.atomic import is_temp_name
from gitmv.errors import GitmvError
from gitmv.hashing import Oid, hash_bytes, hash_file
from gitmv.manifest import ManifestEntry, encode
from gitmv.state import Key, StatCache, stat_key

# Files at most this big are read whole: one read call instead of a loop.
_SMALL = 1024 * 1024


@dataclass(frozen=True)
class WorkFile:
    """One regular file found under a folder artifact."""

    relpath: str  # relative to the folder, '/'-separated
    path: str  # absolute
    key: Key
    exec: bool


def is_exec(st: os.stat_result) -> bool:
    return bool(st.st_mode & stat.S_IXUSR)


def walk(folder: Path, root: Path) -> list[WorkFile]:
    """Every file below `folder`, following links only to files inside `root`."""
    found: list[WorkFile] = []
    real_root = os.path.realpath(root)
    stack = [(str(folder), "")]
    while stack:
        path, prefix = stack.pop()
        with os.scandir(path) as entries:
            for entry in entries:
                if is_temp_name(entry.name):
                    continue
                rel = prefix + entry.name
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if not target.startswith(real_root + os.sep):
                        raise GitmvError(
                            f"{entry.path}: a symbolic link that leads out of the repository",
                            hint="replace the link with the file itself, or remove it",
                        )
                    if os.path.isdir(target):
                        raise GitmvError(
                            f"{entry.path}: a symbolic link to a folder",
                            hint="gitmv follows links to files only; copy the folder instead",
                        )
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, rel + "/"))
                    continue
                st = entry.stat()  # follows a link to a file inside the repository
                if stat.S_ISREG(st.st_mode):
                    found.append(WorkFile(rel, entry.path, stat_key(st), is_exec(st)))
    found.sort(key=lambda f: f.relpath)
    return found


def parallel(func: Callable[[WorkFile], Oid], files: Sequence[WorkFile], jobs: int) -> list[Oid]:
    if len(files) < 8 or jobs <= 1:
        return [func(f) for f in files]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(func, files, chunksize=64))


def hash_one(path: str, size: int, algorithm: str) -> Oid:
    if size <= _SMALL:
        with open(path, "rb") as f:
            return hash_bytes(f.read(), algorithm)
    return hash_file(path, algorithm)[0]


@dataclass
class FolderScan:
    """A folder's manifest as the work tree has it now."""

    entries: list[ManifestEntry]
    fresh: list[tuple[str, Key, str]]  # stat-cache rows to remember

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)

    def manifest(self) -> bytes:
        return encode(self.entries)

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
) -> FolderScan:
    """Hash a folder's files, trusting the stat cache for unchanged ones.

    `store`, when given, is called instead of a plain hash for each file the stat
    cache does not vouch for (so `add` copies into the cache in the same pass).
    """
    if files is None:
        files = walk(folder, root)
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
    entries: list[ManifestEntry] = []
    fresh: list[tuple[str, Key, str]] = []
    for f, oid in zip(files, oids, strict=True):
        if oid is None:
            oid = next(computed)
            fresh.append((f.path, f.key, str(oid)))
        entries.append(ManifestEntry(f.relpath, oid, f.key[1], f.exec))
    return FolderScan(entries, fresh)


def file_oid(path: Path, st: os.stat_result, state: StatCache, algorithm: str) -> tuple[Oid, bool]:
    """A work-tree file's oid, and whether it had to be hashed (not vouched for by the cache)."""
    cached = state.get(str(path), stat_key(st))
    if cached is not None and cached.startswith(algorithm + ":"):
        return Oid(algorithm, cached[len(algorithm) + 1 :]), False
    return hash_one(str(path), st.st_size, algorithm), True
