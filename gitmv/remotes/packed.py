"""A remote's packs (DESIGN 3.1.1), as its reader and writer see them: which keys its packs
hold (their indexes, cached locally and refreshed with one listing of `packs/`), reads of
members (one ranged GET; neighbours coalesced), and the writing of a new pack (the pack,
then its index: a remote never holds an index naming bytes it lacks).

The format itself (names, index encoding, gitmv.json) is `gitmv.store.packs`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Set
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

from gitmv.base import atomic
from gitmv.base.errors import PointerError
from gitmv.remotes.missing import MissingObject
from gitmv.remotes.options import RetryPolicy
from gitmv.remotes.retries import with_retries
from gitmv.store import packs
from gitmv.store.hashing import Oid, hash_bytes
from gitmv.store.packs import PackEntry

GAP = 256 * 1024  # members this close in one pack are read with one GET, the gap discarded
RUN = 16 * 1024 * 1024  # but no single read larger than this
LISTED = "listed"  # below the index cache: each remote's last listing of its packs
R = TypeVar("R")


class Backend(Protocol):
    """What a pack view needs of its remote (`remote.Remote`, which holds the view)."""

    @property
    def label(self) -> str: ...
    @property
    def jobs(self) -> int: ...
    @property
    def retry_policy(self) -> RetryPolicy: ...
    def get_bytes(self, key: str) -> bytes: ...
    def get_range(self, key: str, start: int, size: int) -> bytes: ...
    def put_bytes(self, key: str, data: bytes, expected: Oid) -> None: ...
    def list_names(self, prefix: str) -> list[str]: ...


class PackView:
    """The packs of one remote, loaded on first use; `refresh` looks again."""

    def __init__(self, backend: Backend, cache_dir: Path | None, scope: str = "") -> None:
        self.backend = backend
        self.cache_dir = cache_dir  # where indexes are kept between runs (immutable)
        self.scope = scope  # which remote this is (its URL): whose listing prunes the cache
        self._lock = threading.Lock()
        self._loaded = False
        self.formatted = False  # the remote has a gitmv.json: it is written with packs
        # why gitmv.json could not be written, once it has failed all its tries: the packs
        # waiting on it fail at once, not each after the same tries again
        self._format_failed: BaseException | None = None
        self.where: dict[str, tuple[str, PackEntry]] = {}  # key -> (pack id, entry)
        self.indexes: dict[str, list[PackEntry]] = {}  # pack id -> its members

    def _retry(self, call: Callable[[], R]) -> R:
        return with_retries(call, self.backend.retry_policy)

    def load(self) -> None:
        with self._lock:
            if not self._loaded:
                self._read_remote()
                self._loaded = True

    def refresh(self) -> None:
        with self._lock:
            self._read_remote()
            self._loaded = True

    def _read_remote(self) -> None:
        """gitmv.json (format check), one listing of `packs/`, the indexes not cached yet."""
        with contextlib.suppress(MissingObject):
            data = self._retry(lambda: self.backend.get_bytes(packs.FORMAT_KEY))
            packs.check_format(data, self.backend.label)
            self.formatted = True
        names = with_retries(
            lambda: self.backend.list_names(packs.PACKS_DIR), self.backend.retry_policy
        )
        ids = sorted(
            p[0] for n in names if (p := packs.parse_name(n)) and p[1] == packs.INDEX_SUFFIX
        )
        if ids:
            self.formatted = True  # packs written by a gitmv whose gitmv.json went missing
        fresh = [i for i in ids if i not in self.indexes]
        with ThreadPoolExecutor(max(1, min(self.backend.jobs, len(fresh) or 1))) as pool:
            for ident, entries in zip(fresh, pool.map(self._index, fresh), strict=True):
                if entries is not None:
                    self.indexes[ident] = entries
        for gone in set(self.indexes) - set(ids):
            del self.indexes[gone]  # dropped by a gc since we last looked
        self._prune(ids)
        self.where = {e.key: (i, e) for i, entries in self.indexes.items() for e in entries}

    def _index(self, ident: str) -> list[PackEntry] | None:
        """One pack's index, from the local cache or the remote (then cached); None when it
        went away between the listing and the read."""
        where = f"index of pack {ident} on remote {self.backend.label}"
        cached = self.cache_dir / f"{ident}{packs.INDEX_SUFFIX}" if self.cache_dir else None
        if cached is not None:
            with contextlib.suppress(OSError, PointerError):
                return packs.decode_index(cached.read_bytes(), where)
        try:
            data = self._retry(lambda: self.backend.get_bytes(packs.index_key(ident)))
        except MissingObject:
            return None
        entries = packs.decode_index(data, where)
        self._remember(ident, data)
        return entries

    def _remember(self, ident: str, data: bytes) -> None:
        if self.cache_dir is None:
            return
        with contextlib.suppress(OSError):  # a cache of what the remote says: optional
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            atomic.write_bytes(self.cache_dir / f"{ident}{packs.INDEX_SUFFIX}", data)

    def _prune(self, ids: Iterable[str]) -> None:
        """Drop the cached indexes of packs this remote listed last time and no longer
        does (a gc dropped or rewrote them), unless another remote still lists them: the
        cache is shared by every remote, and each remote's last listing is kept beside it
        (`listed/<hash of its URL>`, with the packs written since), so the cache holds what
        the remotes hold, not every index ever read. Only a cache: failures are ignored."""
        mine = self._listed()
        if mine is None:
            return
        with contextlib.suppress(OSError):
            before = _ids_in(mine)
            now = set(ids)
            if before == now:
                return
            gone = before - now
            for other in mine.parent.iterdir() if gone else ():
                if other.name != mine.name and not atomic.is_temp_name(other.name):
                    gone -= _ids_in(other)
            for ident in gone:
                (mine.parent.parent / f"{ident}{packs.INDEX_SUFFIX}").unlink(missing_ok=True)
            mine.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_bytes(mine, "".join(f"{i}\n" for i in sorted(now)).encode())

    def _listed(self) -> Path | None:
        """Where this remote's last listing of its packs is kept; None: nowhere."""
        if self.cache_dir is None or not self.scope:
            return None
        return self.cache_dir / LISTED / hash_bytes(self.scope.encode(), packs.ID_ALGORITHM).hex

    # -- reading ------------------------------------------------------------------------

    def locate(self, key: str) -> tuple[str, PackEntry] | None:
        self.load()
        return self.where.get(key)

    def among(self, keys: Iterable[str]) -> set[str]:
        wanted = set(keys)
        if not wanted:
            return set()  # nothing to ask: the remote is not contacted
        self.load()
        return {k for k in wanted if k in self.where}

    def read(self, key: str) -> bytes | None:
        """The member's bytes (one ranged read); None when no pack holds it."""
        found = self.locate(key)
        if found is None:
            return None
        ident, entry = found
        return self._retry(
            lambda: self.backend.get_range(packs.pack_key(ident), entry.offset, entry.size)
        )

    def read_many(self, keys: Iterable[str], jobs: int) -> Iterator[tuple[str, bytes]]:
        """Packed members' bytes, neighbours in a pack read together (a pull of 2,000 small
        files is a few GETs); keys no pack holds are left out."""
        self.load()
        by_pack: dict[str, list[PackEntry]] = {}
        for key in set(keys):
            if key in self.where:
                ident, entry = self.where[key]
                by_pack.setdefault(ident, []).append(entry)
        runs: list[tuple[str, list[PackEntry]]] = []
        for ident, entries in sorted(by_pack.items()):
            entries.sort(key=lambda e: e.offset)
            run: list[PackEntry] = []
            for e in entries:
                if run and (
                    e.offset - (run[-1].offset + run[-1].size) > GAP
                    or e.offset + e.size - run[0].offset > RUN
                ):
                    runs.append((ident, run))
                    run = []
                run.append(e)
            runs.append((ident, run))

        def fetch(job: tuple[str, list[PackEntry]]) -> list[tuple[str, bytes]]:
            ident, run = job
            start = run[0].offset
            data = self._retry(
                lambda: self.backend.get_range(
                    packs.pack_key(ident), start, run[-1].offset + run[-1].size - start
                )
            )
            return [(e.key, data[e.offset - start : e.offset - start + e.size]) for e in run]

        if not runs:
            return
        with ThreadPoolExecutor(max(1, min(jobs, len(runs)))) as pool:
            for members in pool.map(fetch, runs):
                yield from members

    # -- writing ------------------------------------------------------------------------

    def write(self, members: list[tuple[str, bytes]], manifests: Set[str] = frozenset()) -> str:
        """Publish one pack of `members` (key, bytes: already hash-checked by the caller;
        those keyed in `manifests` are marked so), then its index; returns the pack's id.
        The first pack of a remote writes gitmv.json before it, so a remote that holds
        packs says so."""
        self.load()
        with self._lock:
            if self._format_failed is not None:
                raise self._format_failed
            if not self.formatted:
                data = packs.encode_format()
                try:
                    self._retry(
                        lambda: self.backend.put_bytes(
                            packs.FORMAT_KEY, data, hash_bytes(data, packs.ID_ALGORITHM)
                        )
                    )
                except Exception as exc:
                    self._format_failed = exc
                    raise
                self.formatted = True
        entries: list[PackEntry] = []
        offset = 0
        for key, data in members:
            entries.append(PackEntry(key, offset, len(data), key in manifests))
            offset += len(data)
        body = b"".join(data for _, data in members)
        ident = packs.pack_id(body)
        index = packs.encode_index(entries)
        self._retry(
            lambda: self.backend.put_bytes(
                packs.pack_key(ident), body, Oid(packs.ID_ALGORITHM, ident)
            )
        )
        self._retry(
            lambda: self.backend.put_bytes(
                packs.index_key(ident), index, hash_bytes(index, packs.ID_ALGORITHM)
            )
        )
        self._remember(ident, index)
        with self._lock:
            self.indexes[ident] = entries
            self.where.update({e.key: (ident, e) for e in entries})
            self._prune(self.indexes)  # the listing as it is now: with the new pack
        return ident

    def forget(self, ident: str) -> None:
        """A pack gc deleted: its members are no longer found through it."""
        with self._lock:
            for e in self.indexes.pop(ident, []):
                if self.where.get(e.key, ("",))[0] == ident:
                    del self.where[e.key]


def _ids_in(record: Path) -> set[str]:
    """The pack ids a remote's record of its listing names; none when there is no record."""
    try:
        return set(record.read_text().split())
    except FileNotFoundError:
        return set()
