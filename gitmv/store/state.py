"""The stat cache: (path, inode, size, mtime) -> oid, so an unchanged file is hashed once."""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

# sqlite is imported on the first query, not here: a hook with nothing to do never asks
# (mypy reads this constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from types import ModuleType

# A file written within this window of its hashing may change again inside the same
# mtime tick; such entries are not remembered (git's "racy clean" problem).
_RACY_NS = 50_000_000

Key = tuple[int, int, int]  # inode, size, mtime_ns


def stat_key(st: os.stat_result) -> Key:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class StatCache:
    """One connection, shared by the threads of one command (checkout restores a file
    artifact beside a folder): every use holds the lock.

    Only a cache: when sqlite fails (a full disk, a read-only or broken file) it degrades
    to knowing nothing for the rest of the command, so files are hashed again (slower)
    and nothing fails because of it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self.broken: str | None = None  # why it was given up, for the curious
        # folder (absolute) -> the manifest this command found the work tree to hold (its
        # bytes, or its oid when a stamp answered): status's per-file report compares
        # against it instead of building it again
        self.manifests: dict[str, bytes | str] = {}

    def _give_up(self, exc: BaseException) -> None:
        self.broken = f"{type(exc).__name__}: {exc}"
        if self._db is not None:
            with contextlib.suppress(_sqlite_error()):
                self._db.close()
            self._db = None

    def _conn(self) -> sqlite3.Connection:
        if self.broken is not None:
            raise _Degraded
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = _sqlite().connect(
                self.path, timeout=60, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS stat (path TEXT PRIMARY KEY, inode INTEGER,"
                " size INTEGER, mtime_ns INTEGER, oid TEXT)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS folder"
                " (path TEXT PRIMARY KEY, fingerprint TEXT, oid TEXT)"
            )
            self._db = db
        return self._db

    def get(self, path: str, key: Key) -> str | None:
        with self._lock:
            try:
                row = (
                    self._conn()
                    .execute("SELECT inode, size, mtime_ns, oid FROM stat WHERE path = ?", (path,))
                    .fetchone()
                )
            except _failures() as exc:
                self._give_up(exc)
                return None
        return row[3] if row and tuple(row[:3]) == key else None

    def get_under(self, folder: str) -> dict[str, tuple[Key, str]]:
        """Every entry below `folder` (an absolute path), in one query."""
        prefix = folder.rstrip("/") + "/"
        with self._lock:
            try:
                rows = self._conn().execute(
                    "SELECT path, inode, size, mtime_ns, oid FROM stat"
                    " WHERE path >= ? AND path < ?",
                    (prefix, prefix[:-1] + "0"),  # '0' sorts right after '/'
                )
                return {row[0]: ((row[1], row[2], row[3]), row[4]) for row in rows}
            except _failures() as exc:
                self._give_up(exc)
                return {}

    def put_many(self, rows: Iterable[tuple[str, Key, str]], trusted: bool = False) -> None:
        """Remember rows; `trusted` rows were just written by gitmv itself from a known object."""
        limit = time.time_ns() if trusted else time.time_ns() - _RACY_NS
        # a generator, not a list: a first add of 10^6 files would hold 10^6 more tuples
        rest = ((p, k[0], k[1], k[2], oid) for p, k, oid in rows if k[2] <= limit)
        first = next(rest, None)
        if first is None:
            return
        fresh = itertools.chain((first,), rest)
        with self._lock:
            try:
                db = self._conn()
                db.execute("BEGIN IMMEDIATE")
            except _failures() as exc:
                self._give_up(exc)
                return
            try:
                db.executemany("INSERT OR REPLACE INTO stat VALUES (?, ?, ?, ?, ?)", fresh)
                db.execute("COMMIT")
            except _failures() as exc:
                with contextlib.suppress(_sqlite_error()):
                    db.execute("ROLLBACK")
                self._give_up(exc)
            except BaseException:
                with contextlib.suppress(_sqlite_error()):
                    db.execute("ROLLBACK")
                raise

    def get_folder(self, path: str, fingerprint: str) -> str | None:
        """The manifest oid of a folder whose files all still stat as `fingerprint`."""
        with self._lock:
            try:
                row = (
                    self._conn()
                    .execute("SELECT fingerprint, oid FROM folder WHERE path = ?", (path,))
                    .fetchone()
                )
            except _failures() as exc:
                self._give_up(exc)
                return None
        return row[1] if row and row[0] == fingerprint else None

    def put_folder(self, path: str, fingerprint: str, oid: str, newest_mtime_ns: int) -> None:
        if newest_mtime_ns > time.time_ns() - _RACY_NS:
            return  # a file may still change within its mtime tick: do not vouch for the folder
        with self._lock:
            try:
                self._conn().execute(
                    "INSERT OR REPLACE INTO folder VALUES (?, ?, ?)", (path, fingerprint, oid)
                )
            except _failures() as exc:
                self._give_up(exc)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                with contextlib.suppress(_sqlite_error()):
                    self._db.close()
                self._db = None


class _Degraded(Exception):
    """The stat cache was given up earlier in this command."""


def _sqlite() -> ModuleType:
    """The sqlite3 module's C core. `import sqlite3` also runs sqlite3.dbapi2, whose adapters
    for dates load the whole pure-Python datetime module first: a fifth of a clean `status`'s
    imports. The stat cache stores only text and whole numbers, which need no adapter; the
    connection, cursor and exception classes are the same objects as sqlite3's."""
    try:
        import _sqlite3

        return _sqlite3
    except ImportError:  # an interpreter built without it: the public module, as before
        import sqlite3

        return sqlite3


def _failures() -> tuple[type[BaseException], ...]:
    """sqlite's failures (disk full, I/O error, a corrupt file: all DatabaseError) and the
    folder it cannot create; `_Degraded` once given up. A function, so that sqlite is
    imported when something fails, not at start-up."""
    sqlite = _sqlite()
    return (sqlite.OperationalError, sqlite.DatabaseError, OSError, _Degraded)


def _sqlite_error() -> type[BaseException]:
    error: type[BaseException] = _sqlite().Error
    return error
