"""The one publish discipline: write beside the target under a unique name, then rename."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_TMP_MARK = ".gmvtmp-"


def temp_name(final: Path) -> Path:
    """A process-unique temporary name in the same folder as `final`."""
    return final.with_name(f"{final.name}{_TMP_MARK}{os.getpid()}-{os.urandom(4).hex()}")


def is_temp_name(name: str) -> bool:
    return _TMP_MARK in name


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
