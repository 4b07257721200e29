"""Small work-tree file operations that add, status and checkout share."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from gitmv.base import atomic
from gitmv.repo.context import Repo
from gitmv.store.hashing import Oid
from gitmv.workspace import scan


def prepare_writes(repo: Repo) -> None:
    """Before gitmv writes into the work tree: temp names listed in .git/info/exclude (a
    killed checkout's leftover is never committed), and the cache's tmp/ swept."""
    with contextlib.suppress(OSError):  # a nicety: a read-only .git must not stop a checkout
        atomic.exclude_temps(repo.paths.common_dir)
    repo.cache.sweep_tmp()


def sweep_beside(path: Path) -> None:
    """Remove what a killed checkout left next to a file artifact (`<name>.gmvtmp-...`)."""
    prefix = path.name + atomic._TMP_MARK
    with contextlib.suppress(FileNotFoundError), os.scandir(path.parent) as entries:
        atomic.sweep([e.path for e in entries if e.name.startswith(prefix)])


def links_to_object(repo: Repo, path: Path, oid: Oid) -> bool:
    """Whether `path` is a `symlink`-type checkout of exactly this cache object."""
    return os.path.islink(path) and os.readlink(path) == str(repo.cache.path(oid))


def is_backed_up(repo: Repo, path: Path, algorithm: str) -> bool:
    """Whether the cache holds every byte now at `path`, so replacing it loses nothing."""
    if path.is_symlink():
        return True  # gitmv never writes through a link; the link itself is cheap to lose
    if path.is_file():
        oid, _ = scan.file_oid(path, os.stat(path), repo.state, algorithm)
        return repo.cache.has(oid)
    if path.is_dir():
        found = scan.scan_folder(path, repo.root, repo.state, algorithm, 8)
        return all(repo.cache.has(e.oid) for e in found.entries)
    return True


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        import shutil  # here: shutil loads bz2 and lzma, a cost to every `status`

        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
