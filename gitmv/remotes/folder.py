"""The folder backend (local disk, NFS mount, `file://`): the store/objects.py folder store
behind the `Remote` interface, with plain os calls and no per-object fsspec cost.

Its objects are published the way the cache's are: written to `<root>/tmp/`, fsynced, and
renamed into place (`core.fsync: false` opts out). The first write of a process sweeps the
temp files an upload killed a day or more ago left there (`FolderStore.abandoned`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from gitmv.base.config import local_jobs
from gitmv.base.errors import RemoteError
from gitmv.remotes.options import RemoteSpec
from gitmv.remotes.remote import OnBytes, Remote, corrupt_source
from gitmv.store.hashing import Oid, copy_and_hash, hash_bytes
from gitmv.store.layout import LIST_SUFFIX, key_label
from gitmv.store.objects import FolderStore, KeyStat, PublishFailed
from gitmv.store.packs import INDEX_SUFFIX

_FIRST_READ = 64 * 1024  # a read this size ends a typical small file; a 1 MiB one costs an mmap


class FolderRemote(Remote):
    """A folder of objects, laid out like the cache."""

    def __init__(self, spec: RemoteSpec, root: Path) -> None:
        super().__init__(spec)
        self.root = root
        # shared: other machines may push to the same folder, so temps are judged by age
        self.objects = FolderStore(root, shared=True)
        self._batched = False  # inside `batch`: data objects are published in batches

    @property
    def packs_by_default(self) -> bool:
        return False  # a local disk: no per-request cost, and loose files back up plainly

    @property
    def default_jobs(self) -> int:
        return local_jobs()  # a local disk: system calls, not round trips

    def check(self, *, write: bool = False) -> None:
        if self.root.is_dir():
            if write and not os.access(self.root, os.W_OK | os.X_OK):
                raise RemoteError(
                    f"remote {self.label}: no permission to write to {self.root}",
                    hint="fix the folder's permissions, or point the remote elsewhere",
                )
            return
        if self.root.exists():
            raise RemoteError(
                f"remote {self.label}: {self.root} is not a folder",
                hint="fix the URL: `gitmv remote add NAME URL` after `gitmv remote remove NAME`",
            )
        if not write:
            raise RemoteError(
                f"remote {self.label}: the folder {self.root} does not exist",
                hint="check the path (`gitmv remote list`); it is created by the first push",
            )
        if not self.root.parent.is_dir():
            raise RemoteError(
                f"remote {self.label}: {self.root.parent} does not exist",
                hint="is the disk mounted? create the parent folder, or fix the remote's URL",
            )
        try:
            self.root.mkdir(exist_ok=True)
        except OSError as exc:
            raise RemoteError(
                f"remote {self.label}: cannot create {self.root}: {exc.strerror}",
                hint="fix the folder's permissions, or point the remote elsewhere",
            ) from None

    def exists(self, key: str) -> bool:
        return self.objects.has(key)

    def list_names(self, prefix: str) -> list[str]:
        try:
            return self.objects.list_names(prefix)
        except OSError as exc:
            raise self._error(exc, f"cannot list {prefix}") from None

    def put_file(self, key: str, src: Path, expected: Oid, on_bytes: OnBytes | None = None) -> None:
        def fill(fd: int) -> int:
            actual, size = _copy_verifying(src, fd, expected.algorithm)
            if actual != expected:
                raise corrupt_source(expected, actual)
            return size

        size = self._write_new(key, fill)
        if on_bytes and size is not None:
            on_bytes(size)

    def put_bytes(self, key: str, data: bytes, expected: Oid) -> None:
        actual = hash_bytes(data, expected.algorithm)
        if actual != expected:
            raise corrupt_source(expected, actual)

        def fill(fd: int) -> int:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            return len(data)

        self._write_new(key, fill)

    def _write_new(self, key: str, fill: Callable[[int], int]) -> int | None:
        """Write the object at `key`; None if it was already there. Inside `batch`, data
        objects are published in batches (`FolderStore.put_later`, one syncfs each), and a
        chunk list whole and durable after its chunks are; outside, each object is."""
        try:
            if not self._batched:
                if self.objects.has(key):
                    return None  # immutable: whatever is there already has these bytes
                return self.objects.put(key, fill)
            # Inside `batch` (a push) the caller asked first, so no stat per object here:
            # one already there (a concurrent push) is found when the batch is published.
            if key.endswith((LIST_SUFFIX, INDEX_SUFFIX)):
                # its chunks (its pack) first: a list (an index) never names missing bytes
                self.objects.sync()
                return self.objects.put(key, fill)
            return self.objects.put_later(key, fill)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise self._error(exc, f"cannot write {key_label(key)}") from None

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        self._batched = True
        try:
            yield
        finally:
            self._batched = False
            self.sync()  # what was written is kept even when the push stopped early

    def sync(self) -> None:
        try:
            self.objects.sync()
        except PublishFailed as exc:
            raise self._error(exc, f"cannot write {key_label(exc.key)}") from None
        except OSError as exc:
            raise self._error(exc, "cannot publish the objects written") from None

    def get_file(self, key: str, dest: Path, on_bytes: OnBytes | None = None) -> None:
        try:
            self.objects.get(key, dest)
        except FileNotFoundError:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest)
            raise self.missing(key) from None
        except OSError as exc:
            raise self._error(exc, f"cannot read {key_label(key)}") from None
        if on_bytes:
            on_bytes(os.path.getsize(dest))

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.objects.read(key)
        except FileNotFoundError:
            raise self.missing(key) from None
        except OSError as exc:
            raise self._error(exc, f"cannot read {key_label(key)}") from None

    def get_range(self, key: str, start: int, size: int) -> bytes:
        try:
            fd = os.open(self.root / key, os.O_RDONLY)
        except FileNotFoundError:
            raise self.missing(key) from None
        except OSError as exc:
            raise self._error(exc, f"cannot read {key_label(key)}") from None
        try:
            data = os.pread(fd, size, start)
        finally:
            os.close(fd)
        if len(data) != size:
            raise self.missing(key)  # shorter than its index says: not the bytes named
        return data

    def open_key(self, key: str) -> BinaryIO:
        try:
            return self.objects.open(key)
        except FileNotFoundError:
            raise self.missing(key) from None

    def delete_keys(self, keys: Sequence[str]) -> None:
        self.objects.delete(keys)

    def iter_keys(self, prefix: str) -> Iterator[str]:
        return self.objects.iter_keys(prefix)

    def iter_stats(self, prefix: str) -> Iterator[KeyStat]:
        return self.objects.iter_stats(prefix)

    def stale_temps(self, older_than: float) -> list[str]:
        return self.objects.stale_temps(older_than)

    def _error(self, exc: OSError, what: str) -> RemoteError:
        reason = exc.strerror or type(exc).__name__
        return RemoteError(
            f"remote {self.label}: {what}: {reason}",
            hint="check the folder's permissions and free space",
        )


def _copy_verifying(src: Path, fd: int, algorithm: str) -> tuple[Oid, int]:
    """Copy `src` to `fd`, hashing what was copied; a small file in one read and one write
    (os.open, not open(): no fstat, seek or tty check, which count at 20,000 files). The
    store fsyncs the copy once it is written (`FolderStore.write_temp`)."""
    src_fd = os.open(src, os.O_RDONLY)
    try:
        data = os.read(src_fd, _FIRST_READ)
    finally:
        os.close(src_fd)
    if len(data) == _FIRST_READ:  # perhaps more: stream it
        return copy_and_hash(src, fd, algorithm)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    return hash_bytes(data, algorithm), len(data)
