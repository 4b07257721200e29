"""Large files stored on remotes as chunks (DESIGN 3.1): push uploads the chunks a remote
lacks and then the chunk list; fetch rebuilds the file from chunks the cache already holds
(the local chunk index, `gitmv.store.chunking`) plus downloads, every chunk hash-checked, and
publishes it only once the whole file hashes to its oid; gc asks which chunks kept objects
are made of, and verify reads a chunked object back whole.

`gitmv.transfer.engine` decides which objects go this way and calls in here; the pool, retries and
tallies are `gitmv.transfer.workers`'.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from gitmv.base import atomic
from gitmv.base.errors import GitmvError, IntegrityError, RemoteError
from gitmv.base.progress import NullProgress, Progress
from gitmv.remotes.packed import RUN
from gitmv.remotes.remote import MissingObject, Remote, corrupt_source
from gitmv.store import chunking
from gitmv.store.cache import Cache
from gitmv.store.chunking import Chunk
from gitmv.store.hashing import Oid, hash_bytes
from gitmv.store.layout import chunk_key, list_key
from gitmv.store.packs import PackSettings
from gitmv.transfer import assembly as assemblies
from gitmv.transfer import packing
from gitmv.transfer.workers import Failure, Item, Tally, retry, run


def upload(
    cache: Cache,
    remote: Remote,
    items: list[Item],
    avg_size: int,
    jobs: int,
    progress: Progress,
    tally: Tally,
    pack: PackSettings,
) -> None:
    """Cut each file, upload the chunks the remote lacks (one batched check for all of
    them; small ones in packs), then each file's chunk list once all of its chunks are
    there."""
    lists: dict[Oid, list[Chunk]] = {}
    sources: dict[Oid, tuple[Item, Chunk]] = {}  # where to read each distinct chunk
    for item in items:
        try:
            lists[item.oid] = _chunks_for_push(cache, item, avg_size)
        except GitmvError as exc:
            tally.failed.append(Failure(item.oid, item.path, exc.message))
        except OSError as exc:  # the local side: the cache file is unreadable
            tally.aborted = f"{item.path}: {exc.strerror or exc}"
            return
        for c in lists.get(item.oid, ()):
            sources.setdefault(c.oid, (item, c))
    owners = _owners(items, lists)
    chunked_form = {oid for oid in lists if cache.is_chunked(oid)}  # chunks kept as files
    try:
        there = remote.has_keys((chunk_key(c) for c in owners), index_only=True)
    except RemoteError as exc:
        tally.aborted, tally.abort_hint = exc.message, exc.hint
        return
    todo = [
        Item(oid, sources[oid][0].path, sources[oid][1].size)
        for oid in owners
        if chunk_key(oid) not in there
    ]
    encoded = {oid: chunking.encode_list(chunks) for oid, chunks in lists.items()}
    progress.start(len(lists), sum(t.size for t in todo) + sum(map(len, encoded.values())))

    def read_chunk(task: Item) -> bytes:
        item, c = sources[task.oid]
        if item.oid in chunked_form:
            return _stored_chunk(cache, item.oid, c)
        return _read_chunk(cache, item.oid, c)

    def upload_chunk(task: Item) -> int:
        data = read_chunk(task)
        retry(lambda: remote.put_bytes(chunk_key(task.oid), data, task.oid), remote.retry_policy)
        progress.advance(len(data))
        return len(data)

    def in_packs(t: Tally) -> None:  # small chunks (most) go in packs, in file order
        keyed = [i for i in todo if pack.packs(i.size)]
        packing.upload(
            remote, keyed, read_chunk, _chunk_key, pack, jobs, progress, t, objects=False
        )

    loose = [i for i in todo if not pack.packs(i.size)]
    bad = _run_chunks(loose, upload_chunk, owners, jobs, tally, in_packs)
    if tally.aborted is not None:
        return
    ready = [
        Item(i.oid, i.path, len(encoded[i.oid]))
        for i in items
        if i.oid in lists and i.oid not in bad
    ]

    def upload_list(item: Item) -> int:
        data = encoded[item.oid]
        digest = hash_bytes(data, item.oid.algorithm)
        retry(lambda: remote.put_bytes(list_key(item.oid), data, digest), remote.retry_policy)
        progress.advance(len(data))
        return len(data)

    run(ready, upload_list, jobs, progress, tally, where="chunked")


def _chunk_key(task: Item) -> str:
    return chunk_key(task.oid)


def _chunks_for_push(cache: Cache, item: Item, avg_size: int) -> list[Chunk]:
    """The file's chunks: its list, when the cache keeps it chunked (no re-chunking: each
    chunk is re-hashed as it is read for upload); as recorded when it was last cut or
    fetched; or cut now (and the whole file re-hashed in the same pass: a corrupt cache
    file is never uploaded)."""
    if cache.is_chunked(item.oid):
        return cache.chunks.load(item.oid, item.size)
    recorded = chunking.load_local_list(cache, item.oid, item.size)
    if recorded is not None:
        return recorded  # each chunk is re-hashed as it is read for upload
    chunks, actual = chunking.cut_and_hash(cache.path(item.oid), avg_size, item.oid.algorithm)
    if actual != item.oid:
        raise corrupt_source(item.oid, actual)
    with contextlib.suppress(OSError):  # the index saves work later; it is not needed now
        chunking.save_local_list(cache, item.oid, chunks)
    return chunks


def _read_chunk(cache: Cache, oid: Oid, c: Chunk) -> bytes:
    data = chunking.read_range(cache.path(oid), c.offset, c.size)
    actual = hash_bytes(data, c.oid.algorithm)
    if actual != c.oid:
        raise IntegrityError(
            f"cache object {oid} is corrupt: its {c.size} bytes at offset {c.offset} hash to "
            f"{actual}, not to its chunk {c.oid}; not uploaded",
            hint="run `gitmv verify`, then restore it with `gitmv add` or `gitmv fetch`",
        )
    return data


def _stored_chunk(cache: Cache, oid: Oid, c: Chunk) -> bytes:
    data = cache.chunks.read_chunk(c)
    if data is None:
        raise IntegrityError(
            f"cache object {oid} is corrupt: its chunk {c.oid} is missing or fails its hash "
            "(moved to quarantine); not uploaded",
            hint="run `gitmv verify`, then restore it with `gitmv add` or `gitmv fetch`",
        )
    return data


def _owners(items: Iterable[Item], lists: Mapping[Oid, list[Chunk]]) -> dict[Oid, list[Item]]:
    """Each distinct chunk, in file order, with the objects made of it."""
    owners: dict[Oid, list[Item]] = {}
    for item in items:
        for c in lists.get(item.oid, ()):
            found = owners.setdefault(c.oid, [])
            if not found or found[-1] is not item:
                found.append(item)
    return owners


def _run_chunks(
    tasks: Sequence[Item],
    work: Callable[[Item], int],
    owners: Mapping[Oid, list[Item]],
    jobs: int,
    tally: Tally,
    before: Callable[[Tally], None],
) -> set[Oid]:
    """Move chunks (`before`: those that go in packs; then `tasks` on the pool); a chunk
    that fails fails every object made of it (reported once per object, under the
    object's oid and path). Returns the failed objects."""
    chunks = Tally()
    before(chunks)
    if chunks.aborted is None:
        run(tasks, work, jobs, NullProgress(), chunks)  # objects are done when their list is
    tally.nbytes += chunks.nbytes
    if chunks.aborted is not None and tally.aborted is None:
        tally.aborted, tally.abort_hint = chunks.aborted, chunks.abort_hint
    bad: set[Oid] = set()
    for f in sorted(chunks.failed, key=lambda f: str(f.oid)):
        for item in owners[f.oid]:
            if item.oid not in bad:
                bad.add(item.oid)
                tally.failed.append(Failure(item.oid, item.path, f"stored as chunks: {f.reason}"))
    return bad


def remote_list(remote: Remote, oid: Oid, size: int | None) -> list[Chunk] | None:
    """The object's chunk list on the remote, checked (against `size` when known); None if
    the remote has none. A malformed list raises PointerError."""
    try:
        data = remote.read_key(list_key(oid))
    except MissingObject:
        return None
    return chunking.decode_list(data, f"chunk list of {oid} on remote {remote.label}", size)


def assemble(
    cache: Cache,
    remote: Remote,
    local: chunking.LocalChunks,
    pending: Sequence[tuple[Item, list[Chunk]]],
    jobs: int,
    progress: Progress,
    tally: Tally,
) -> None:
    """Rebuild the objects found stored as chunks, one at a time, each in file order by one
    writer while the pool reads or downloads the chunks ahead of it (every chunk
    hash-checked). One writer, because several threads writing one file make ext4 spin on
    its inode lock (a third of a 1 GiB pull's time); in order, so the whole file is hashed
    as it is written and enters the cache without being read again. A chunk that occurs
    earlier in the same object is copied from there; one that an object published before
    holds comes out of the cache (the local chunk index): versions fetched together
    download their shared chunks once. A failed object leaves nothing behind."""
    if not pending:
        return
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        for item, chunks in pending:
            if tally.aborted is not None:
                return
            _assemble_one(
                cache, remote, local, pool, item, chunks, max(4, 2 * jobs), progress, tally
            )


def _assemble_one(
    cache: Cache,
    remote: Remote,
    local: chunking.LocalChunks,
    pool: ThreadPoolExecutor,
    item: Item,
    chunks: list[Chunk],
    window: int,
    progress: Progress,
    tally: Tally,
) -> None:
    first: dict[Oid, int] = {}  # each distinct chunk's first offset in this object
    for c in chunks:
        first.setdefault(c.oid, c.offset)
    moved = 0

    def obtain(c: Chunk) -> tuple[bytes | None, int]:
        """The chunk's bytes (None: written earlier in this file, the writer copies them
        from there), and how many of them were downloaded."""
        if first[c.oid] != c.offset:
            return None, 0
        data = local.read(c)
        if data is not None:
            return data, 0
        packed = runs.get(c)
        if packed is not None:
            return _checked(remote, c, packed), len(packed)
        data = retry(lambda: _download_chunk(remote, c), remote.retry_policy)
        return data, len(data)

    needed = [c for c in chunks if first[c.oid] == c.offset and not local.has(c.oid)]
    runs = _PackedRuns(remote, needed)

    try:
        assembly = assemblies.start(cache, item, chunks)
    except OSError as exc:  # the local side: disk full, permissions
        tally.aborted = _local_failure(cache, item, exc)
        return
    try:
        for c, (data, downloaded) in assemblies.in_order(pool, obtain, chunks, window):
            if data is None:
                data = assembly.read(first[c.oid], c.size)
            assembly.append(c, data)
            moved += downloaded
            progress.advance(c.size)
        assembly.publish(f"remote {remote.label}")
    except MissingObject as exc:  # one chunk is gone: this object fails, the rest go on
        tally.failed.append(Failure(item.oid, item.path, f"stored as chunks: {exc.message}"))
        return
    except RemoteError as exc:  # the remote went away: stop everything
        tally.aborted, tally.abort_hint = exc.message, exc.hint
        return
    except GitmvError as exc:  # a corrupt chunk, or the chunks do not make the object
        tally.failed.append(Failure(item.oid, item.path, f"stored as chunks: {exc.message}"))
        return
    except OSError as exc:
        tally.aborted = _local_failure(cache, item, exc)
        return
    finally:
        tally.nbytes += moved
        assembly.discard()
    # Recorded after the object is in the cache: an index entry never names an absent object
    # (gc removes the ones whose object it removed). The index only saves downloads later:
    # failing to write it fails nothing. A chunked object needs none: its chunks are files.
    if not cache.is_chunked(item.oid):
        with contextlib.suppress(OSError):
            chunking.save_local_list(cache, item.oid, chunks)
        local.add(item.oid, chunks)
    tally.transferred += 1
    progress.object_done()


def _local_failure(cache: Cache, item: Item, exc: OSError) -> str:
    """Why writing into the cache failed: a full disk names the folder and the size."""
    if atomic.is_no_space(exc):
        return str(atomic.no_space_error(exc, cache.root, item.size))
    return f"{item.path}: {exc.strerror or exc}"


class _PackedRuns:
    """The packed chunks an object needs, read a run at a time: consecutive chunks of one
    pack (up to `packed.RUN` bytes) come down in one ranged GET, not one each. The first
    thread to need a run reads it; the others wait on its lock and take their bytes."""

    def __init__(self, remote: Remote, chunks: Sequence[Chunk]) -> None:
        self.remote = remote
        self.run_of: dict[Oid, int] = {}
        self.runs: list[list[str]] = []
        size = 0
        last: str | None = None
        for c in chunks:
            found = remote.packs.locate(chunk_key(c.oid))
            if found is None:
                continue
            if not self.runs or found[0] != last or size + c.size > RUN:
                self.runs.append([])
                size = 0
            last = found[0]
            size += c.size
            self.runs[-1].append(chunk_key(c.oid))
            self.run_of[c.oid] = len(self.runs) - 1
        self.locks = [threading.Lock() for _ in self.runs]
        self.read: set[int] = set()
        self.got: dict[str, bytes] = {}

    def get(self, c: Chunk) -> bytes | None:
        """The chunk's bytes from its run; None when no pack holds it (read it loose)."""
        i = self.run_of.get(c.oid)
        if i is None:
            return None
        with self.locks[i]:
            if i not in self.read:
                self.read.add(i)
                got = retry(
                    lambda: dict(self.remote.packs.read_many(self.runs[i], 1)),
                    self.remote.retry_policy,
                )
                self.got.update(got)
            return self.got.pop(chunk_key(c.oid), None)


def _download_chunk(remote: Remote, chunk: Chunk) -> bytes:
    return _checked(remote, chunk, remote.read_key(chunk_key(chunk.oid)))


def _checked(remote: Remote, chunk: Chunk, data: bytes) -> bytes:
    actual = hash_bytes(data, chunk.oid.algorithm)
    if actual != chunk.oid or len(data) != chunk.size:
        raise IntegrityError(
            f"chunk {chunk.oid} from remote {remote.label} is corrupt "
            f"(its {len(data)} bytes hash to {actual})",
            hint="the copy was discarded; run `gitmv verify --remote NAME --deep`",
        )
    return data
