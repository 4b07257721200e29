"""A remote object store, as the transfer engine sees it: `Remote`, the base every backend
(folder.py, fsspec_remote.py) fills in, and the errors about one object.

Objects are addressed by relative key strings (store/layout.py: `<algorithm>/<hex[:2]>/
<hex[2:]>`, chunk lists, `chunks/...`). Which backend serves a URL is `opener.open_remote`.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, TypeVar

from gitmv.base.errors import IntegrityError
from gitmv.remotes.missing import MissingObject as MissingObject
from gitmv.remotes.options import RemoteSpec, RetryPolicy
from gitmv.remotes.packed import PackView
from gitmv.remotes.retries import with_retries
from gitmv.store.hashing import ALGORITHMS, Oid
from gitmv.store.layout import key_label, object_key, parse_object_key
from gitmv.store.objects import KeyStat

OnBytes = Callable[[int], None]
R = TypeVar("R")

DEFAULT_JOBS = 8
# Up to this many keys, one existence check each (in parallel) beats listing folders, even
# when the listings would be as many: HEADs run in parallel, a listing's pages do not.
SMALL_BATCH = 32
# Objects up to this size move through memory in one read and one write.
SMALL_OBJECT = 1024 * 1024


class Remote:
    """A content-addressed store: keys are `/`-separated paths below the remote's root."""

    def __init__(self, spec: RemoteSpec) -> None:
        self.spec = spec
        # where this remote's pack indexes are kept locally (set by the session: the cache)
        self.pack_cache: Path | None = None
        self._packs: PackView | None = None

    @property
    def packs(self) -> PackView:
        """The remote's packs, looked at on first use (gitmv.json, one listing of packs/)."""
        if self._packs is None:
            self._packs = PackView(self, self.pack_cache, self.spec.url)
        return self._packs

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def jobs(self) -> int:
        return self.spec.jobs or self.default_jobs

    @property
    def retry_policy(self) -> RetryPolicy:
        """How workers.retry treats this remote's transient errors (options `retries`,
        `retry_timeout`, `retry_delay`)."""
        return RetryPolicy.from_options(self.spec.options)

    @property
    def packs_by_default(self) -> bool:
        """Whether small objects go in packs when `pack.max_object` is unset: yes where each
        request is billed and waited for (DESIGN 3.1.1)."""
        return True

    @property
    def default_jobs(self) -> int:
        """Objects moved at once when neither `--jobs`, the remote nor `core.jobs` says:
        a network store waits on round trips, so many."""
        return DEFAULT_JOBS

    # -- primitives each backend provides --------------------------------------------

    def check(self, *, write: bool = False) -> None:
        """Fail within seconds, naming the remote, if it is unreachable or misconfigured."""
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def list_names(self, prefix: str) -> list[str]:
        """Names directly below `prefix` (a folder key); empty when there is none."""
        raise NotImplementedError

    def put_file(self, key: str, src: Path, expected: Oid, on_bytes: OnBytes | None = None) -> None:
        """Publish `src` under `key` atomically, refusing bytes that do not hash to `expected`."""
        raise NotImplementedError

    def put_bytes(self, key: str, data: bytes, expected: Oid) -> None:
        """Publish `data` under `key` atomically, refusing bytes that do not hash to `expected`.

        For what is already in memory: chunks of a large object, chunk lists.
        """
        raise NotImplementedError

    def get_file(self, key: str, dest: Path, on_bytes: OnBytes | None = None) -> None:
        """Copy the object at `key` to `dest` (a fresh temp path): the caller verifies it."""
        raise NotImplementedError

    def get_bytes(self, key: str) -> bytes:
        """The object at `key` in memory (for small objects): the caller verifies it."""
        raise NotImplementedError

    def get_range(self, key: str, start: int, size: int) -> bytes:
        """`size` bytes of the object at `key` from `start` (one ranged read: a pack)."""
        raise NotImplementedError

    def open_key(self, key: str) -> BinaryIO:
        raise NotImplementedError

    def delete_keys(self, keys: Sequence[str]) -> None:
        raise NotImplementedError

    def iter_keys(self, prefix: str) -> Iterator[str]:
        """Every object key below `prefix`, temporary names excluded."""
        raise NotImplementedError

    def stale_temps(self, older_than: float) -> list[str]:
        """Keys of temporary files left by a killed upload, older than `older_than` seconds."""
        return []

    def iter_stats(self, prefix: str) -> Iterator[KeyStat]:
        """Every object key below `prefix` with its size and the store's own modification
        time (seconds since the epoch; None when the store reports none), temporary names
        excluded: what remote gc's grace period is measured against."""
        raise NotImplementedError

    # -- built on the primitives ---------------------------------------------------------

    def read_key(self, key: str) -> bytes:
        """The object at `key`, from its pack (one ranged read) or loose (one GET)."""
        data = self.packs.read(key)
        return self.get_bytes(key) if data is None else data

    def open_any(self, key: str) -> BinaryIO:
        """A streaming read of `key`, packed (a member is small: read whole) or loose."""
        data = self.packs.read(key)
        return self.open_key(key) if data is None else io.BytesIO(data)

    def has_keys(self, keys: Iterable[str], *, index_only: bool = False) -> set[str]:
        """Which of `keys` the remote holds, packed or loose; with `index_only`, on a remote
        written with packs, only what its indexes name (a push's members: re-packing a rare
        loose one from before packs costs bytes, asking about each costs a request)."""
        wanted = set(keys)
        packed = self.packs.among(wanted)
        if index_only and self.packs.formatted:
            return packed
        return packed | self.has_loose(wanted - packed)

    def has_loose(self, keys: Iterable[str]) -> set[str]:
        """Which of `keys` the remote holds loose, in as few round trips as the layout allows.

        Whichever costs fewer requests: one check per key (in parallel), or one listing of
        each `<algorithm>/` folder, to see which `<xx>/` folders exist, then one listing per
        needed folder (at most 256 per algorithm). Three keys cost three HEADs, not a
        listing; 4,000 keys cost at most 257 listings, not 4,000 HEADs.
        """
        wanted = set(keys)
        if not wanted:
            return set()
        by_folder: dict[str, set[str]] = {}
        for key in wanted:
            folder, _, name = key.rpartition("/")
            by_folder.setdefault(folder, set()).add(name)
        parents = sorted({folder.rpartition("/")[0] for folder in by_folder})
        with ThreadPoolExecutor(self.jobs) as pool:
            if len(wanted) <= max(SMALL_BATCH, len(parents) + len(by_folder)):
                ordered = sorted(wanted)
                found = pool.map(self._retrying(self.exists), ordered)
                return {key for key, present in zip(ordered, found, strict=True) if present}
            existing: set[str] = set()
            listing = self._retrying(self.list_names)
            for parent, names in zip(parents, pool.map(listing, parents), strict=True):
                existing.update(f"{parent}/{n}" if parent else n for n in names)
            folders = sorted(f for f in by_folder if f in existing)
            left = sorted(f"{f}/{n}" for f in folders for n in by_folder[f])
            if len(left) <= len(folders):  # keys in folders that do not exist are absent
                found = pool.map(self._retrying(self.exists), left)
                return {key for key, there in zip(left, found, strict=True) if there}
            present: set[str] = set()
            for folder, names in zip(folders, pool.map(listing, folders), strict=True):
                present.update(f"{folder}/{n}" for n in by_folder[folder].intersection(names))
            return present

    def _retrying(self, call: Callable[[str], R]) -> Callable[[str], R]:
        """`call` (a question about one key or folder) under this remote's retry policy:
        the storage libraries make one attempt per request (see `filesystems.py`)."""
        policy = self.retry_policy
        return lambda key: with_retries(lambda: call(key), policy)

    def has_many(self, oids: Iterable[Oid]) -> set[Oid]:
        by_key = {object_key(oid): oid for oid in oids}
        return {by_key[key] for key in self.has_keys(by_key)}

    def upload(self, oid: Oid, src: Path, on_bytes: OnBytes | None = None) -> None:
        self.put_file(object_key(oid), src, oid, on_bytes)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Many writes in a row (a push): a backend may make them durable together rather
        than one by one, and publishes them by the end of the block or at `sync`. A store
        that publishes each object whole and durable as it is written (S3, GCS) does
        nothing different; the folder backend batches its fsyncs."""
        try:
            yield
        finally:
            self.sync()

    def sync(self) -> None:
        """Inside `batch`: make every object written so far durable and visible (push calls
        it before it writes what names those objects: manifests)."""

    def download(self, oid: Oid, dest: Path, on_bytes: OnBytes | None = None) -> None:
        self.get_file(object_key(oid), dest, on_bytes)

    def open(self, oid: Oid) -> BinaryIO:
        """A streaming read of the object's raw bytes; the caller verifies what it needs."""
        return self.open_any(object_key(oid))

    def delete(self, oids: Iterable[Oid]) -> None:
        self.delete_keys([object_key(oid) for oid in oids])

    def iter_oids(self) -> Iterator[Oid]:
        """Every whole object the remote holds, loose or packed (chunk lists and chunks not)."""
        self.packs.refresh()
        keys = [*(k for a in ALGORITHMS for k in self.iter_keys(a)), *sorted(self.packs.where)]
        for key in keys:
            named = parse_object_key(key)
            if named is not None and not named.chunk_list:
                yield named.oid

    def missing(self, key: str) -> MissingObject:
        return MissingObject(
            f"{key_label(key)} is missing from remote {self.label}",
            hint="push it from a clone that has it: `gitmv push`",
        )


def corrupt_source(expected: Oid, actual: Oid) -> IntegrityError:
    return IntegrityError(
        f"cache object {expected} is corrupt (its bytes hash to {actual}); not uploaded",
        hint="run `gitmv verify`, then restore it with `gitmv add` or `gitmv fetch`",
    )
