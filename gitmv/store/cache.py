"""The cache: local objects (a store/objects.py folder), verified before they are adopted
or materialized, and quarantined when their bytes fail their hash."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from gitmv.base import atomic
from gitmv.base.atomic import temp_str
from gitmv.base.errors import GitmvError, IntegrityError
from gitmv.store import placing
from gitmv.store.chunklist import Settings
from gitmv.store.chunkstore import ChunkStore
from gitmv.store.hashing import ALGORITHMS, Oid, copy_and_hash, hash_bytes, hash_file
from gitmv.store.layout import object_key, parse_object_key
from gitmv.store.objects import READ_ONLY, FolderStore
from gitmv.store.placing import LINK_TYPES as LINK_TYPES

QUARANTINE = "quarantine"


class CorruptObject(IntegrityError):
    """A cache object whose bytes do not hash to its name: moved to quarantine."""

    def __init__(self, message: str, hint: str, oid: Oid) -> None:
        super().__init__(message, hint)
        self.oid = oid


class Cache:
    """Objects at `<root>/<object_key>` (store/layout.py); never overwritten, never edited.

    The folder itself is `objects` (store/objects.py, the store the folder remote uses
    too); the cache adds what is its own: hash-then-publish of added files, verify-then-
    adopt of downloads, batched durability for a folder of small files, materializing
    into the work tree, and quarantine.

    A large object may be kept whole or, with `cache.chunked`, as chunks plus a chunk list
    (store/chunkstore.py); both forms may coexist, and every reader here accepts either.
    `chunked`: the chunking settings new large objects are kept by (None: whole)."""

    def __init__(self, root: Path, chunked: Settings | None = None) -> None:
        self.root = root
        self.objects = FolderStore(root)
        self.chunking = chunked
        self.chunks = ChunkStore(self.objects, self._move_to_quarantine)
        self._reflink_refused = False
        # a folder of small files: objects are synced in batches, by `sync_all` at the end
        self.defer_sync = False
        self.quarantined: list[Oid] = []  # by this process: pull fetches them again

    def path(self, oid: Oid) -> Path:
        return self.root / object_key(oid)

    def has(self, oid: Oid) -> bool:
        """Whether the object is here, whole or as a chunk list (whose chunks are)."""
        return self.objects.has(object_key(oid)) or self.chunks.has_list(oid)

    def is_chunked(self, oid: Oid) -> bool:
        """Whether the object is here only in the chunked form."""
        return not self.objects.has(object_key(oid)) and self.chunks.has_list(oid)

    def size(self, oid: Oid) -> int | None:
        """The object's size (None: not here)."""
        try:
            return os.stat(self.path(oid)).st_size
        except FileNotFoundError:
            return self.chunks.size(oid)

    def sweep_tmp(self) -> None:
        """Remove what killed writers left in `tmp/` (partial objects of a killed add or
        fetch): once per process, one scandir, by the first command that writes there."""
        self.objects.sweep_temps()

    def _full(self, exc: OSError, needed: int | None = None) -> GitmvError:
        return atomic.no_space_error(exc, self.root, needed)

    def add_file(
        self, src: Path, algorithm: str, advance: Callable[[int], None] | None = None
    ) -> tuple[Oid, int]:
        """Hash `src` and store a copy of it, in one read pass. Returns its oid and size;
        `advance` (a progress bar's) is told of the bytes as they are copied. With
        `cache.chunked`, a large file is kept as the chunks the cache lacks plus its list."""
        if self.chunking is not None and self.chunking.chunks(_size_of(src) or 0):
            try:
                return self.chunks.add_file(src, algorithm, self.chunking, advance)
            except OSError as exc:
                if atomic.is_no_space(exc):
                    raise self._full(exc, _size_of(src)) from None
                raise

        def fill(fd: int) -> tuple[Oid, int]:
            # one fsync per object (not per write), beside the hashing pass
            return copy_and_hash(src, fd, algorithm, sync=atomic.fsync_enabled(), advance=advance)

        try:
            tmp, (oid, size) = self.objects.write_temp(fill, sync=False)
            try:
                self.objects.publish(tmp, object_key(oid), synced=True)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            if atomic.is_no_space(exc):
                raise self._full(exc, _size_of(src)) from None
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
        key = object_key(oid)
        if self.objects.has(key):
            return oid

        def fill(fd: int) -> int:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            return len(data)

        try:
            (self.objects.put_later if self.defer_sync else self.objects.put)(key, fill)
        except OSError as exc:
            if atomic.is_no_space(exc):
                raise self._full(exc, len(data)) from None
            raise
        return oid

    def sync_all(self) -> None:
        """Publish the small objects still pending from `defer_sync`, and make every rename
        durable (the caller writes a pointer next, which makes them needed)."""
        self.defer_sync = False
        self.objects.sync()

    def adopt(self, tmp: Path, expected: Oid, source: str) -> None:
        """Publish a downloaded file only if it hashes to `expected`; discard it otherwise."""
        actual, _ = hash_file(tmp, expected.algorithm)
        self.adopt_hashed(tmp, expected, actual.hex, source)

    def adopt_hashed(self, tmp: Path, expected: Oid, digest: str, source: str) -> None:
        """`adopt` of a file whose bytes were hashed to `digest` as they were written."""
        if digest != expected.hex:
            os.unlink(tmp)
            raise corrupt_download(expected, Oid(expected.algorithm, digest), source)
        try:
            os.chmod(tmp, READ_ONLY)
            self.objects.publish(tmp, object_key(expected))
        except OSError as exc:
            if atomic.is_no_space(exc):
                raise self._full(exc) from None
            raise

    def new_temp(self) -> Path:
        """A fresh temporary path inside the cache, on the cache's file system."""
        return Path(self.objects.temp("dl"))

    def read_bytes(self, oid: Oid) -> bytes:
        try:
            return self.objects.read(object_key(oid))
        except FileNotFoundError:
            pass
        try:
            return self.chunks.read_all(oid)
        except FileNotFoundError:
            raise GitmvError(
                f"object {oid} is not in the cache", hint="run `gitmv fetch` to download it"
            ) from None

    def open(self, oid: Oid) -> BinaryIO:
        try:
            return self.objects.open(object_key(oid))
        except FileNotFoundError:
            if not self.chunks.has_list(oid):
                raise
        return self.chunks.open(oid)

    def verify(self, oid: Oid) -> bool:
        """Re-hash an object: integrity is proven by its bytes, never by its file mode."""
        try:
            actual, _ = hash_file(self.path(oid), oid.algorithm)
        except FileNotFoundError:
            return self.chunks.hash_object(oid) == oid.hex
        return actual == oid

    def remove(self, oid: Oid) -> None:
        """Remove both forms; the chunks stay until gc finds no list names them."""
        self.objects.delete([object_key(oid)])
        self.chunks.remove_list(oid)

    def quarantine(self, oid: Oid) -> Path | None:
        """Move a corrupt object out of the cache, into `quarantine/` (never deleted
        silently: the bytes stay there for a look), so the next fetch sees it missing and
        downloads it again. Returns where it went (None if it was already gone)."""
        dest = self._move_to_quarantine(str(self.path(oid)), f"{oid.algorithm}-{oid.hex}")
        if dest is None and self.chunks.has_list(oid):
            dest = self._move_to_quarantine(
                self.chunks.list_path(oid), f"{oid.algorithm}-{oid.hex}.chunks"
            )
        if dest is not None:
            self.quarantined.append(oid)
        return dest

    def _move_to_quarantine(self, path: str, name: str) -> Path | None:
        folder = self.root / QUARANTINE
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"{name}-{time.time_ns()}"
        try:
            os.rename(path, dest)
        except FileNotFoundError:
            return None
        return dest

    def size_ok(self, oid: Oid, size: int) -> bool:
        """Whether the cached object has `size` bytes (one stat): a truncated object is
        quarantined, so the caller fetches it again. True when it is absent."""
        actual = self.size(oid)
        if actual is None or actual == size:
            return True
        self.quarantine(oid)
        return False

    def iter_oids(self) -> Iterator[Oid]:
        """Every object here, whole or chunked (once, if both)."""
        for algorithm in ALGORITHMS:
            for key in self.objects.iter_keys(algorithm):
                named = parse_object_key(key)
                if named is None:
                    continue
                if not named.chunk_list or not self.objects.has(object_key(named.oid)):
                    yield named.oid

    def materialize(
        self,
        oid: Oid,
        dst: str | Path,
        link_types: Sequence[str],
        executable: bool,
        label: str | None = None,
    ) -> os.stat_result:
        """Put the object at `dst` by the first link type that works, atomically, its bytes
        verified on the way (hash-while-copy); returns the placed file's stat (for the
        stat cache). A corrupt object never reaches `dst`: the temp file is removed, what
        was at `dst` stays, the object goes to quarantine and `CorruptObject` is raised.
        `label`: the artifact, as the error names it.

        Runs once per file of a checkout, from several threads: plain strings, no stat
        before the open, and a file system that refused a reflink is not asked again.
        """
        src = self.objects.path(object_key(oid))
        tmp = temp_str(str(dst))
        mode = 0o777 if executable else 0o666  # os.open applies the umask
        try:
            try:
                st, digest = self._place_first(link_types, src, tmp, mode, oid.algorithm, dst)
            except FileNotFoundError as exc:
                if exc.filename != src or not self.chunks.has_list(oid):
                    raise
                st, digest = self._assemble(oid, tmp, mode, label or str(dst))
            if digest != oid.hex:
                raise self._corrupt(oid, Oid(oid.algorithm, digest), label or str(dst))
            os.replace(tmp, dst)  # beside the old file: a kill leaves the old or the new
        except FileNotFoundError as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            if exc.filename == src:
                raise GitmvError(
                    f"object {oid} is not in the cache", hint="run `gitmv fetch`"
                ) from None
            raise
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            if atomic.is_no_space(exc):
                assert isinstance(exc, OSError)
                needed = _size_of(src) or self.size(oid)
                raise atomic.no_space_error(exc, os.path.dirname(str(dst)), needed) from None
            raise
        return st if st is not None else os.stat(dst)

    def _place_first(
        self, link_types: Sequence[str], src: str, tmp: str, mode: int, algorithm: str, dst: object
    ) -> tuple[os.stat_result | None, str]:
        for link_type in link_types:
            if link_type == "reflink" and self._reflink_refused:
                continue
            if placed := self._place(link_type, src, tmp, mode, algorithm):
                return placed
        raise GitmvError(
            f"none of the link types {list(link_types)} works for {dst}",
            hint="add `copy` to cache.link in .gitmv/config.yaml",
        )

    def _assemble(self, oid: Oid, tmp: str, mode: int, label: str) -> tuple[os.stat_result, str]:
        """A chunked object written into `tmp` (a copy whatever the link types: a file
        made of many cannot be linked), hashed as a whole once written. A missing or
        damaged chunk: its chunks and list go to quarantine and `CorruptObject` names it."""
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, mode)
        try:
            digest, chunks = self.chunks.assemble_into(oid, fd)
            st = os.fstat(fd)
        finally:
            os.close(fd)
        if digest == oid.hex:
            return st, digest
        bad = self.chunks.bad_chunks(chunks)
        for chunk in bad:
            self.chunks.quarantine_chunk(chunk)
        self.quarantine(oid)  # the list: the object is absent now, so fetch gets it again
        named = ", ".join(str(c) for c in bad[:3]) + (
            f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        )
        why = f"its chunk {named} is missing or corrupt" if bad else "its chunks do not make it"
        raise CorruptObject(
            f"cache object {oid} of {label} is corrupt: {why}; moved to quarantine",
            hint=f"run `gitmv fetch` to download it again, then `gitmv checkout {label}`",
            oid=oid,
        )

    def _corrupt(self, oid: Oid, actual: Oid, label: str) -> CorruptObject:
        moved = self.quarantine(oid)
        where = f"; moved to {moved}" if moved else ""
        return CorruptObject(
            f"cache object {oid} of {label} is corrupt (its bytes hash to {actual}){where}",
            hint=f"run `gitmv fetch` to download it again, then `gitmv checkout {label}`",
            oid=oid,
        )

    def _place(
        self, link_type: str, src: str, tmp: str, mode: int, algorithm: str
    ) -> tuple[os.stat_result | None, str] | None:
        """The new file's stat (None for a link) and the hex digest of the bytes placed;
        None: this link type cannot be used here."""
        if link_type == "reflink":
            if placed := placing.reflink(src, tmp, mode, algorithm):
                return placed
            self._reflink_refused = True
            return None
        if link_type == "copy":
            return placing.copy(src, tmp, mode, algorithm)
        # a link shares the object's inode: the object itself is hashed before it is linked
        digest = hash_file(src, algorithm)[0].hex
        return (None, digest) if placing.link(link_type, src, tmp) else None


def _size_of(path: str | Path) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def corrupt_download(expected: Oid, actual: Oid, source: str) -> IntegrityError:
    """A download whose bytes are not the object asked for (the caller discards them)."""
    return IntegrityError(
        f"object {expected} from {source} is corrupt (its bytes hash to {actual})",
        hint="the copy was discarded; run `gitmv verify --remote` to check the remote",
    )
