"""Copying a file's bytes inside the kernel where the system allows it.

On this project's reference machine `copy_file_range` copies 1 GiB in ~0.35 s, where
reading into Python and writing back out takes 1.5-3 s: the user-space loop was the
whole cost of `gitmv add` of a large model.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

_CHUNK = 64 * 1024 * 1024
_UNSUPPORTED = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF}


def kernel_copy(
    src_fd: int, dst_fd: int, written: Callable[[int, int, int], None] | None = None
) -> int | None:
    """Copy from `src_fd`'s position to EOF into `dst_fd`; None if the kernel cannot
    (then nothing was copied and the caller copies through user space). `written` is
    told of each piece copied (fd, offset, length): to start its write-back early."""
    copy = getattr(os, "copy_file_range", None)
    if copy is None:
        return None
    total = 0
    while True:
        try:
            n = copy(src_fd, dst_fd, _CHUNK)
        except OSError as exc:
            if total == 0 and exc.errno in _UNSUPPORTED:
                return None
            raise
        if n == 0:
            return total
        if written is not None:
            written(dst_fd, total, n)
        total += n


def copy_fd(src_fd: int, dst_fd: int) -> int:
    """Copy everything from `src_fd` to `dst_fd`, in the kernel if possible."""
    copied = kernel_copy(src_fd, dst_fd)
    if copied is not None:
        return copied
    total = 0
    while block := os.read(src_fd, _CHUNK):
        view = memoryview(block)
        while view:
            view = view[os.write(dst_fd, view) :]
        total += len(block)
    return total
