"""The one publish discipline: write beside the target under a unique name, then rename."""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import time
from pathlib import Path

from gitmv.base.errors import GitmvError

# No typing at run time: every command loads this module (mypy reads this constant as
# typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
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


# -- durability ------------------------------------------------------------------------------


class _Durability:
    """`core.fsync` (default true), set once per process by `Repo.open`."""

    fsync = True


_durability = _Durability()


def set_fsync(enabled: bool) -> None:
    _durability.fsync = enabled


def fsync_enabled() -> bool:
    return _durability.fsync


def sync_fd(fd: int) -> None:
    """Flush a file's bytes to the disk before its rename makes it visible (DESIGN 3):
    without it, a power cut after the rename can leave the final name holding zeros."""
    if _durability.fsync:
        os.fsync(fd)


def sync_dir(folder: str) -> None:
    """Flush a folder's entries, so a rename into it survives a power cut."""
    if not _durability.fsync:
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tmp: str | Path, final: str | Path, *, synced: bool = False) -> None:
    """The one way a temp file becomes its final name: fsync the file (unless the writer
    already did, `synced`), rename it over `final`, then fsync the final folder.
    With `core.fsync: false` it is the bare rename."""
    if _durability.fsync and not synced:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    os.replace(tmp, final)
    sync_dir(os.path.dirname(final) or ".")


def syncfs(folder: str) -> None:
    """syncfs(2) of the file system holding `folder` (Linux): one call that writes back
    every object a folder add just published; `os.sync` elsewhere."""
    if not _durability.fsync:
        return
    import ctypes

    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = getattr(libc, "syncfs", None)
        if fn is None or fn(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


# -- a full disk -------------------------------------------------------------------------------

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def is_no_space(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in NO_SPACE


def no_space_error(exc: OSError, folder: str | Path, needed: int | None = None) -> GitmvError:
    """A full disk or quota as one user-facing error naming the folder (not a bug)."""
    what = "quota exceeded" if exc.errno == errno.EDQUOT else "no space left"
    parts = [f"{_human(needed)} needed"] if needed else []
    with contextlib.suppress(OSError):
        import shutil  # here: shutil loads bz2 and lzma, a cost to every start

        parts.append(f"{_human(shutil.disk_usage(folder).free)} free")
    detail = "; " + ", ".join(parts) if parts else ""
    return GitmvError(
        f"{what} in {folder}{detail}",
        hint="free some space there (`gitmv gc` removes unused objects), then run it again",
    )


def _human(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


# -- work-tree temp names stay out of git ------------------------------------------------------

EXCLUDE_PATTERN = f"*{_TMP_MARK}*"


def exclude_temps(common_dir: Path) -> None:
    """List `*.gmvtmp-*` in `.git/info/exclude`, so a temp file a killed checkout left in
    the work tree is never committed by `git add -A` (idempotent: one read when present)."""
    exclude = common_dir / "info" / "exclude"
    try:
        text = exclude.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if EXCLUDE_PATTERN in text.splitlines():
        return
    exclude.parent.mkdir(parents=True, exist_ok=True)
    sep = "" if not text or text.endswith("\n") else "\n"
    write_bytes(exclude, f"{text}{sep}{EXCLUDE_PATTERN}\n".encode())


# -- writing a whole file ----------------------------------------------------------------------


@contextlib.contextmanager
def atomic_writer(final: Path, mode: int = 0o644, durable: bool = False) -> Iterator[BinaryIO]:
    """Yield a binary file; on success it replaces `final` whole, on any error it vanishes.

    `durable`: fsynced too (objects, manifests, chunk lists). Pointers, config and
    `.gitignore` are not, as git does not fsync the files of a work tree: a kill leaves
    them old or new either way; only a power cut could tear them, and git's own files
    would tear with them."""
    tmp = temp_name(final)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            if durable:
                f.flush()
                sync_fd(f.fileno())
        if durable:
            publish(tmp, final, synced=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes(final: Path, data: bytes, mode: int = 0o644, durable: bool = False) -> None:
    with atomic_writer(final, mode, durable) as f:
        f.write(data)
