"""Placing a cache object at a work-tree path by one link type: a reflink, a copy, a hard
link or a symlink, with the bytes placed hashed on the way (hash-while-copy, DESIGN 3)."""

from __future__ import annotations

import errno
import os

from gitmv.base.errors import GitmvError
from gitmv.base.fastcopy import copy_fd
from gitmv.store.hashing import hash_bytes, hash_fd

LINK_TYPES = ("reflink", "copy", "hardlink", "symlink")
_FICLONE = 0x40049409


def link(link_type: str, src: str, dst: str) -> bool:
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


def reflink(src: str, dst: str, mode: int, algorithm: str) -> tuple[os.stat_result, str] | None:
    import fcntl  # POSIX only; a platform without it simply has no reflink

    src_fd = os.open(src, os.O_RDONLY)
    try:
        dst_fd = os.open(dst, os.O_RDWR | os.O_CREAT | os.O_EXCL, mode)
        try:
            fcntl.ioctl(dst_fd, _FICLONE, src_fd)
        except OSError:
            os.close(dst_fd)
            os.unlink(dst)
            return None
        try:
            # the clone shares the object's extents: reading it back is reading them
            digest = hash_fd(dst_fd, algorithm)[0].hex
            return os.fstat(dst_fd), digest
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)


_FIRST_READ = 64 * 1024  # one read ends most small files: no kernel copy, no read-back


def copy(src: str, dst: str, mode: int, algorithm: str) -> tuple[os.stat_result, str]:
    """Copy an object to `dst`, hashing the bytes placed (hash-while-copy): a small one
    is hashed from the one buffer that is written; a large one is copied in the kernel
    and the copy read back from the page cache and hashed."""
    src_fd = os.open(src, os.O_RDONLY)
    try:
        # created with its final mode: writable by its owner although the object is not;
        # readable, so the copy itself can be hashed
        dst_fd = os.open(dst, os.O_RDWR | os.O_CREAT | os.O_EXCL, mode)
        try:
            head = os.read(src_fd, _FIRST_READ)
            view = memoryview(head)
            while view:
                view = view[os.write(dst_fd, view) :]
            if len(head) < _FIRST_READ:
                digest = hash_bytes(head, algorithm).hex
            else:
                copy_fd(src_fd, dst_fd)
                digest = hash_fd(dst_fd, algorithm)[0].hex
            return os.fstat(dst_fd), digest  # the rename changes neither inode, size nor mtime
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)
