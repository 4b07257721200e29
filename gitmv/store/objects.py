"""Objects in a local folder: the one store under the cache and the folder remote.

An object lives at `<root>/<key>` (keys from store/layout.py) and is never overwritten
once there. It is written to a temp file in `<root>/tmp/`, then published whole by
`atomic.publish` (file and folder fsynced, unless `core.fsync: false`). A killed writer
leaves only a temp file, which the next writer sweeps once it is abandoned (`sweep_temps`).

Errors are the operating system's (`OSError`): the cache and the folder remote each say
them in their own words. Plain strings, not pathlib, on the paths that run once per file
of a 20,000-file folder.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

from gitmv.base import atomic
from gitmv.base.atomic import is_temp_name, temp_str
from gitmv.store.hashing import ALGORITHMS
from gitmv.store.layout import CHUNKS_DIR

T = TypeVar("T")
TMP = "tmp"  # where temp files are written: one folder to sweep, not the whole tree
READ_ONLY = 0o444
BATCH = 256  # objects `put_later` publishes per syncfs


@dataclass(frozen=True)
class KeyStat:
    key: str
    size: int
    mtime: float | None  # None: the store gave no time (gc then treats the key as new)


class PublishFailed(OSError):
    """A batched object could not be put in place (`flush`): `key` says which."""

    def __init__(self, key: str, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror)
        self.key = key


class FolderStore:
    """The objects below `root`. `shared`: writers on other machines may use the folder
    too (a remote on a network disk), so a temp file's pid says nothing about whether its
    writer lives: only its age does (see `abandoned`)."""

    def __init__(self, root: Path, *, shared: bool = False) -> None:
        self.root = root
        self.shared = shared
        self._root = str(root)
        self._made_dirs: set[str] = set()
        self._swept = threading.Event()
        self._pending: list[tuple[str, str]] = []  # (temp, key) written by `put_later`
        self._pending_lock = threading.Lock()
        # one flush at a time: `sync` must not return while another thread's flush is still
        # renaming (a chunk list published then could name chunks not yet in place)
        self._flush_lock = threading.Lock()
        self._renamed = False  # renames done by a flush, not yet made durable by `sync`

    def path(self, key: str) -> str:
        return f"{self._root}/{key}"

    def has(self, key: str) -> bool:
        return os.path.exists(f"{self._root}/{key}")

    def has_many(self, keys: Iterable[str]) -> set[str]:
        return {key for key in keys if self.has(key)}

    def list_names(self, prefix: str) -> list[str]:
        """Names directly below the folder `prefix`; empty when there is none."""
        try:
            return os.listdir(f"{self._root}/{prefix}")
        except (FileNotFoundError, NotADirectoryError):
            return []

    # -- writing ---------------------------------------------------------------------------

    def temp(self, stem: str = "obj") -> str:
        """A fresh temp path in `<root>/tmp/`, on the store's file system (so the publish
        is a rename). The first call in a process makes the folder and sweeps it."""
        folder = f"{self._root}/{TMP}"
        if folder not in self._made_dirs:
            os.makedirs(folder, exist_ok=True)
            self._made_dirs.add(folder)
            self.sweep_temps()
        return temp_str(f"{folder}/{stem}")

    def write_temp(
        self, fill: Callable[[int], T], *, sync: bool = True, stem: str = "obj"
    ) -> tuple[str, T]:
        """A new read-only temp file that `fill` writes (given the descriptor, open for
        reading too so that a copy can be hashed): its path and what `fill` returned.
        `sync`: fsynced here (per `core.fsync`); False when the caller makes the bytes
        durable itself (its `fill` fsyncs, or one syncfs comes later). If `fill` raises,
        the temp file is gone."""
        tmp = self.temp(stem)
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, READ_ONLY)
        try:
            try:
                result = fill(fd)
                if sync:
                    atomic.sync_fd(fd)
            finally:
                os.close(fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return tmp, result

    def final(self, key: str) -> str:
        """The path of `key`, its folder made (once per process per folder)."""
        final = f"{self._root}/{key}"
        parent = os.path.dirname(final)
        if parent not in self._made_dirs:
            os.makedirs(parent, exist_ok=True)
            self._made_dirs.add(parent)
        return final

    def publish(self, tmp: str | Path, key: str, *, synced: bool = False) -> bool:
        """Make the temp file `tmp` the object `key` (atomic.publish: fsync unless `synced`,
        rename, fsync the folder). False when the object was already there: objects are
        immutable, so that one has the same bytes, and `tmp` is removed."""
        final = self.final(key)
        if os.path.exists(final):
            os.unlink(tmp)
            return False
        atomic.publish(tmp, final, synced=synced)
        return True

    def put(self, key: str, fill: Callable[[int], int]) -> int:
        """Write (`fill`, as in `write_temp`, returning the size it wrote), fsync and publish
        the object `key`; its size."""
        tmp, size = self.write_temp(fill)
        try:
            self.publish(tmp, key, synced=True)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return size

    def put_later(self, key: str, fill: Callable[[int], int]) -> int:
        """Write the object's bytes now, unsynced, and publish it with the next `flush`: one
        syncfs(2) per batch of small objects instead of two fsyncs each (docs/reliability.md
        has the figures). Until then it is only a temp file; its size."""
        if not atomic.fsync_enabled():
            return self.put(key, fill)
        tmp, size = self.write_temp(fill, sync=False)
        with self._pending_lock:
            self._pending.append((tmp, key))
            full = len(self._pending) >= BATCH
        if full:
            self.flush(wait=False)  # another thread flushing takes these in its next round
        return size

    def flush(self, *, wait: bool = True) -> bool:
        """Publish what `put_later` wrote: one syncfs makes every byte durable, then each
        temp is renamed into place. A power cut leaves temp files (swept later), never an
        object's name over unwritten bytes. The renames become durable with `sync`.
        Whether there was anything. `wait=False`: return at once if another thread is
        flushing (writers then go on writing instead of queueing behind its syncfs)."""
        if not self._flush_lock.acquire(blocking=wait):
            return False
        try:
            with self._pending_lock:
                pending, self._pending = self._pending, []
            if not pending:
                return False
            try:
                atomic.syncfs(self._root)
                for tmp, key in pending:
                    try:
                        final = self.final(key)
                        if os.path.exists(final):
                            os.unlink(tmp)  # a twin published first: the same bytes
                        else:
                            os.replace(tmp, final)
                            self._renamed = True
                    except OSError as exc:
                        raise PublishFailed(key, exc) from exc
            except BaseException:
                for tmp, _ in pending:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(tmp)
                raise
            return True
        finally:
            self._flush_lock.release()

    def sync(self) -> None:
        """Publish what is pending and make every rename durable, this thread's and any
        other's: after this, every object `put_later` wrote is there to stay (a caller
        publishes what names them next)."""
        self.flush()
        with self._flush_lock:
            if self._renamed:
                atomic.syncfs(self._root)
                self._renamed = False

    # -- reading ---------------------------------------------------------------------------

    def get(self, key: str, dest: str | Path) -> None:
        """Copy the object to `dest` (the caller verifies it)."""
        import shutil  # here: shutil loads bz2 and lzma, a cost to every start

        shutil.copyfile(f"{self._root}/{key}", dest)

    def read(self, key: str) -> bytes:
        with open(f"{self._root}/{key}", "rb", buffering=0) as f:
            return f.read()

    def open(self, key: str) -> BinaryIO:
        return open(f"{self._root}/{key}", "rb")

    def iter_keys(self, prefix: str) -> Iterator[str]:
        """Every key below the folder `prefix`, temp files excluded."""
        skip = len(self._root) + 1
        for dirpath, _dirs, files in os.walk(f"{self._root}/{prefix}"):
            rel = dirpath[skip:].replace(os.sep, "/")
            for name in files:
                if not is_temp_name(name):
                    yield f"{rel}/{name}"

    def iter_stats(self, prefix: str) -> Iterator[KeyStat]:
        """`iter_keys` with each object's size and modification time."""
        skip = len(self._root) + 1
        for dirpath, _dirs, files in os.walk(f"{self._root}/{prefix}"):
            rel = dirpath[skip:].replace(os.sep, "/")
            for name in files:
                if is_temp_name(name):
                    continue
                with contextlib.suppress(FileNotFoundError):  # deleted while we list
                    st = os.lstat(os.path.join(dirpath, name))
                    yield KeyStat(f"{rel}/{name}", st.st_size, st.st_mtime)

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self._root}/{key}")

    # -- what killed writers left ------------------------------------------------------------

    def abandoned(self, path: str) -> bool:
        """Whether no writer will finish the temp file at `path`. A private store (the
        cache): its pid is dead, or it is `atomic.ABANDONED_AGE` (a day) old. A shared one:
        only the age counts, measured from its last write, since the pid may be another
        machine's; a live writer touches its file at every write, so a day without one
        is no upload still running."""
        if not self.shared:
            return atomic.is_abandoned(path)
        try:
            return os.lstat(path).st_mtime < time.time() - atomic.ABANDONED_AGE
        except FileNotFoundError:
            return False

    def temps(self) -> list[str]:
        """The abandoned temp files in `<root>/tmp/` (one listing, not a walk of the tree)."""
        with contextlib.suppress(FileNotFoundError), os.scandir(f"{self._root}/{TMP}") as it:
            return [e.path for e in it if is_temp_name(e.name) and self.abandoned(e.path)]
        return []

    def sweep_temps(self) -> None:
        """Remove the abandoned temp files: once per process, by the first writer."""
        if self._swept.is_set():
            return
        self._swept.set()
        for path in self.temps():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def stale_temps(self, older_than: float) -> list[str]:
        """Keys of temp files older than `older_than` seconds: in `tmp/`, and beside their
        final names in the object trees, where earlier versions wrote them (for remote gc,
        which walks the trees anyway)."""
        cutoff = time.time() - older_than
        found = []
        for top in (TMP, *ALGORITHMS, CHUNKS_DIR):
            for dirpath, _dirs, files in os.walk(f"{self._root}/{top}"):
                for name in files:
                    path = os.path.join(dirpath, name)
                    with contextlib.suppress(FileNotFoundError):
                        if is_temp_name(name) and os.lstat(path).st_mtime < cutoff:
                            found.append(Path(path).relative_to(self.root).as_posix())
        return found
