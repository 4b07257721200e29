"""The one publish discipline: write beside the target under a unique name, then rename."""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

_TMP_MARK = ".gmvtmp-"


def temp_name(final: Path) -> Path:
    """A process-unique temporary name in the same folder as `final`."""
    return Path(temp_str(str(final)))


def temp_str(final: str) -> str:
    """`temp_name` on a plain string, for the loops that run once per file of a folder.

    `<final>.gmvtmp-<pid>-<token><n>`: the pid tells a sweeper whether the writer lives,
    the process's random token keeps a reused pid from meeting a dead writer's leftover,
    and the counter makes names unique within the process without a system call per file.
    """
    return f"{final}{_TMP_MARK}{_unique.prefix}{next(_unique.serial)}"


class _Unique:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.prefix = f"{os.getpid()}-{os.urandom(4).hex()}"
        self.serial = itertools.count()  # next() on a count is atomic under the GIL


_unique = _Unique()
os.register_at_fork(after_in_child=_unique.reset)


def is_temp_name(name: str) -> bool:
    return _TMP_MARK in name


ABANDONED_AGE = 24 * 3600.0  # a temp file this old is abandoned even if its pid lives on


def is_abandoned(path: str) -> bool:
    """Whether a temp file's writer is gone (its pid is dead), or it is a day old."""
    _, _, tail = os.path.basename(path).partition(_TMP_MARK)
    pid_text = tail.split("-", 1)[0]
    try:
        if os.stat(path).st_mtime < time.time() - ABANDONED_AGE:
            return True
    except FileNotFoundError:
        return False
    if not pid_text.isdigit():
        return False
    return not _alive(int(pid_text))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def sweep(paths: Iterable[str]) -> None:
    """Remove the abandoned temp files among `paths` (a killed writer's leftovers)."""
    for path in paths:
        if is_abandoned(path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


@contextlib.contextmanager
def atomic_writer(final: Path, mode: int = 0o644) -> Iterator[BinaryIO]:
    """Yield a binary file; on success it replaces `final` whole, on any error it vanishes."""
    tmp = temp_name(final)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes(final: Path, data: bytes, mode: int = 0o644) -> None:
    with atomic_writer(final, mode) as f:
        f.write(data)
