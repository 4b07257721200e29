"""The local object store: content-addressed, read-only files published atomically."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from gitmv.atomic import is_temp_name, temp_name, temp_str
from gitmv.errors import GitmvError, IntegrityError
from gitmv.fastcopy import copy_fd
from gitmv.hashing import ALGORITHMS, Oid, copy_and_hash, hash_bytes, hash_file

LINK_TYPES = ("reflink", "copy", "hardlink", "symlink")
_FICLONE = 0x40049409
_READ_ONLY = 0o444


class Cache:
    """Objects at `<root>/<algorithm>/<hex[:2]>/<hex[2:]>`; never overwritten, never edited."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root_str = str(root)
        self._made_dirs: set[str] = set()
        self._reflink_refused = False

    def path(self, oid: Oid) -> Path:
        return self.root / oid.relpath

    def has(self, oid: Oid) -> bool:
        return os.path.exists(f"{self._root_str}/{oid.relpath}")  # no pathlib: once per file

    def _tmp_str(self) -> str:
        if "tmp" not in self._made_dirs:
            self._tmp()
        return os.path.join(self._root_str, "tmp")

    def _tmp(self) -> Path:
        tmp = self.root / "tmp"
        if "tmp" not in self._made_dirs:
            tmp.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add("tmp")
        return tmp

    def _publish(self, tmp: Path, oid: Oid) -> None:
        parent = os.path.join(self._root_str, oid.algorithm, oid.hex[:2])
        final = os.path.join(parent, oid.hex[2:])
        if parent not in self._made_dirs:
            os.makedirs(parent, exist_ok=True)
            self._made_dirs.add(parent)
        if os.path.exists(final):
            os.unlink(tmp)  # immutable: the object already there is the same bytes
        else:
            os.replace(tmp, final)

    def add_file(self, src: Path, algorithm: str) -> tuple[Oid, int]:
        """Hash `src` and store a copy of it, in one read pass. Returns its oid and size."""
        tmp = temp_name(self._tmp() / "obj")
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, _READ_ONLY)  # read: to hash it
        try:
            try:
                oid, size = copy_and_hash(src, fd, algorithm)
            finally:
                os.close(fd)
            self._publish(tmp, oid)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return oid, size

    def add_small(self, data: bytes, algorithm: str) -> Oid:
        """Store bytes already in memory (manifests, small files): skip the write if present.

        This runs once per file of a 20,000-file folder, so it counts system calls: plain
        strings, a temp name from a counter rather than the random source, one existence
        check, and a publish by rename (the object was just checked absent; two writers
        racing here write the same bytes, so either rename leaves the right object).
        """
        oid = hash_bytes(data, algorithm)
        parent = os.path.join(self._root_str, oid.algorithm, oid.hex[:2])
        final = os.path.join(parent, oid.hex[2:])
        if os.path.exists(final):
            return oid
        if parent not in self._made_dirs:
            os.makedirs(parent, exist_ok=True)
            self._made_dirs.add(parent)
        tmp = temp_str(os.path.join(self._tmp_str(), "obj"))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _READ_ONLY)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return oid

    def adopt(self, tmp: Path, expected: Oid, source: str) -> None:
        """Publish a downloaded file only if it hashes to `expected`; discard it otherwise."""
        actual, _ = hash_file(tmp, expected.algorithm)
        self.adopt_hashed(tmp, expected, actual.hex, source)

    def adopt_hashed(self, tmp: Path, expected: Oid, digest: str, source: str) -> None:
        """`adopt` of a file whose bytes were hashed to `digest` as they were written."""
        if digest != expected.hex:
            os.unlink(tmp)
            raise corrupt_download(expected, Oid(expected.algorithm, digest), source)
        os.chmod(tmp, _READ_ONLY)
        self._publish(tmp, expected)

    def new_temp(self) -> Path:
        """A fresh temporary path inside the cache, on the cache's file system."""
        return temp_name(self._tmp() / "dl")

    def read_bytes(self, oid: Oid) -> bytes:
        try:
            return self.path(oid).read_bytes()
        except FileNotFoundError:
            raise GitmvError(
                f"object {oid} is not in the cache", hint="run `gitmv fetch` to download it"
            ) from None

    def open(self, oid: Oid) -> BinaryIO:
        return open(self.path(oid), "rb")

    def verify(self, oid: Oid) -> bool:
        """Re-hash an object: integrity is proven by its bytes, never by its file mode."""
        try:
            actual, _ = hash_file(self.path(oid), oid.algorithm)
        except FileNotFoundError:
            return False
        return actual == oid

    def remove(self, oid: Oid) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(oid))

    def iter_oids(self) -> Iterator[Oid]:
        for algorithm, length in ALGORITHMS.items():
            base = self.root / algorithm
            if not base.is_dir():
                continue
            for prefix in os.scandir(base):
                if len(prefix.name) != 2 or not prefix.is_dir():
                    continue
                for entry in os.scandir(prefix.path):
                    hexpart = prefix.name + entry.name
                    if len(hexpart) == length and not is_temp_name(entry.name):
                        yield Oid(algorithm, hexpart)

    def materialize(
        self, oid: Oid, dst: str | Path, link_types: Sequence[str], executable: bool
    ) -> os.stat_result:
        """Put the object at `dst` by the first link type that works, atomically; returns
        the placed file's stat (for the stat cache).

        Runs once per file of a checkout, from several threads: plain strings, no stat
        before the open, and a file system that refused a reflink is not asked again.
        """
        src = os.path.join(self._root_str, oid.algorithm, oid.hex[:2], oid.hex[2:])
        tmp = temp_str(str(dst))
        mode = 0o777 if executable else 0o666  # os.open applies the umask
        placed: os.stat_result | bool = False
        try:
            for link_type in link_types:
                if link_type == "reflink" and self._reflink_refused:
                    continue
                if placed := self._place(link_type, src, tmp, mode):
                    break
            else:
                raise GitmvError(
                    f"none of the link types {list(link_types)} works for {dst}",
                    hint="add `copy` to cache.link in .gitmv/config.yaml",
                )
            os.replace(tmp, dst)
        except FileNotFoundError as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            if exc.filename == src:
                raise GitmvError(
                    f"object {oid} is not in the cache", hint="run `gitmv fetch`"
                ) from None
            raise
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return placed if isinstance(placed, os.stat_result) else os.stat(dst)

    def _place(self, link_type: str, src: str, tmp: str, mode: int) -> os.stat_result | bool:
        """The new file's stat (a copy or reflink), True (a link), or False: this link type
        cannot be used here."""
        if link_type == "reflink":
            if st := _reflink(src, tmp, mode):
                return st
            self._reflink_refused = True
            return False
        if link_type == "copy":
            return _copy(src, tmp, mode)
        return _link(link_type, src, tmp)


def _link(link_type: str, src: str, dst: str) -> bool:
    try:
        if link_type == "hardlink":
            os.link(src, dst)
        elif link_type == "symlink":
            os.symlink(src, dst)
        else:
            raise GitmvError(
                f"unknown link type {link_type!r}", hint="use one of " + ", ".join(LINK_TYPES)
            )
    except OSError as exc:
        if exc.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            return False
        raise
    return True


def _reflink(src: str, dst: str, mode: int) -> os.stat_result | None:
    import fcntl  # POSIX only; a platform without it simply has no reflink

    src_fd = os.open(src, os.O_RDONLY)
    try:
        dst_fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            fcntl.ioctl(dst_fd, _FICLONE, src_fd)
        except OSError:
            os.close(dst_fd)
            os.unlink(dst)
            return None
        st = os.fstat(dst_fd)
        os.close(dst_fd)
        return st
    finally:
        os.close(src_fd)


def _copy(src: str, dst: str, mode: int) -> os.stat_result:
    src_fd = os.open(src, os.O_RDONLY)
    try:
        # created with its final mode: writable by its owner although the object is not
        dst_fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            copy_fd(src_fd, dst_fd)
            return os.fstat(dst_fd)  # the rename changes neither inode, size nor mtime
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)


def corrupt_download(expected: Oid, actual: Oid, source: str) -> IntegrityError:
    """A download whose bytes are not the object asked for (the caller discards them)."""
    return IntegrityError(
        f"object {expected} from {source} is corrupt (its bytes hash to {actual})",
        hint="the copy was discarded; run `gitmv verify --remote` to check the remote",
    )
