"""Large files stored on remotes as chunks (DESIGN 3.1): push uploads the chunks a remote
lacks and then the chunk list; fetch rebuilds the file from chunks the cache already holds
(the local chunk index, `gitmv.chunking`) plus downloads, every chunk hash-checked, and
publishes it only once the whole file hashes to its oid; gc asks which chunks kept objects
are made of, and verify reads a chunked object back whole.

`gitmv.transfer` decides which objects go this way and calls in here; the pool, retries and
tallies are `gitmv.workers`'.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from gitmv import chunking
from gitmv.cache import Cache
from gitmv.chunking import Chunk, chunk_key, list_key
from gitmv.errors import GitmvError, IntegrityError, PointerError, RemoteError
from gitmv.hashing import Oid, hash_bytes, new_hasher
from gitmv.remote import MissingObject, Remote, corrupt_source
from gitmv.workers import Failure, Item, NullProgress, Progress, Tally, retry, run

T = TypeVar("T")
R = TypeVar("R")
ASSEMBLE_AT_ONCE = 64  # objects rebuilt side by side: open files and temp space stay bounded


def upload(
    cache: Cache,
    remote: Remote,
    items: list[Item],
    avg_size: int,
    jobs: int,
    progress: Progress,
    tally: Tally,
) -> None:
    """Cut each file, upload the chunks the remote lacks (one batched check for all of
    them), then each file's chunk list once all of its chunks are there."""
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
    try:
        there = remote.has_keys(chunk_key(c) for c in owners)
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

    def upload_chunk(task: Item) -> int:
        item, c = sources[task.oid]
        data = _read_chunk(cache, item.oid, c)
        retry(lambda: remote.put_bytes(chunk_key(c.oid), data, c.oid))
        progress.advance(len(data))
        return len(data)

    bad = _run_chunks(todo, upload_chunk, owners, jobs, tally)
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
        retry(lambda: remote.put_bytes(list_key(item.oid), data, digest))
        progress.advance(len(data))
        return len(data)

    run(ready, upload_list, jobs, progress, tally)


def _chunks_for_push(cache: Cache, item: Item, avg_size: int) -> list[Chunk]:
    """The file's chunks: as recorded when it was last cut or fetched, or cut now (and the
    whole file re-hashed in the same pass: a corrupt cache file is never uploaded)."""
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
) -> set[Oid]:
    """Move chunks on the pool; a chunk that fails fails every object made of it (reported
    once per object, under the object's oid and path). Returns the failed objects."""
    chunks = Tally()
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
        data = remote.get_bytes(list_key(oid))
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
    """Rebuild the objects found stored as chunks, a group at a time (each object holds a
    temp file open while it is rebuilt); a later group reuses what earlier ones published."""
    for start in range(0, len(pending), ASSEMBLE_AT_ONCE):
        if tally.aborted is not None:
            return
        group = pending[start : start + ASSEMBLE_AT_ONCE]
        _assemble_group(cache, remote, local, group, jobs, progress, tally)


def _assemble_group(
    cache: Cache,
    remote: Remote,
    local: chunking.LocalChunks,
    pending: Sequence[tuple[Item, list[Chunk]]],
    jobs: int,
    progress: Progress,
    tally: Tally,
) -> None:
    """Each distinct chunk of the group is read from the cache if an object there holds it,
    else downloaded, and either way hash-checked, then written wherever it occurs (so
    versions fetched together download their shared chunks once). An object enters the
    cache only whole and re-hashed; a failed one leaves nothing behind."""
    owners = _owners((item for item, _ in pending), {i.oid: chunks for i, chunks in pending})
    places: dict[Oid, list[tuple[_Assembly, int]]] = {}
    assemblies: list[_Assembly] = []
    try:
        for item, chunks in pending:
            try:
                assembly = _Assembly(cache, item, chunks)
            except OSError as exc:  # the local side: disk full, permissions
                tally.aborted = f"{item.path}: {exc.strerror or exc}"
                return
            assemblies.append(assembly)
            for c in chunks:
                places.setdefault(c.oid, []).append((assembly, c.offset))
        sizes = {c.oid: c.size for _, chunks in pending for c in chunks}
        tasks = [Item(oid, owners[oid][0].path, sizes[oid]) for oid in owners]

        def place(task: Item) -> int:
            chunk = Chunk(task.oid, 0, task.size)
            data = local.read(chunk)
            moved = 0
            if data is None:
                data = retry(lambda: _download_chunk(remote, chunk))
                moved = len(data)
            for assembly, offset in places[task.oid]:
                assembly.write(offset, data)
            progress.advance(len(data))
            return moved

        bad = _run_chunks(tasks, place, owners, jobs, tally)
        if tally.aborted is None:
            for assembly in assemblies:
                if assembly.item.oid not in bad:
                    _publish(assembly, cache, remote, local, progress, tally)
    finally:
        for assembly in assemblies:
            assembly.discard()


def _download_chunk(remote: Remote, chunk: Chunk) -> bytes:
    data = remote.get_bytes(chunk_key(chunk.oid))
    actual = hash_bytes(data, chunk.oid.algorithm)
    if actual != chunk.oid or len(data) != chunk.size:
        raise IntegrityError(
            f"chunk {chunk.oid} from remote {remote.label} is corrupt "
            f"(its {len(data)} bytes hash to {actual})",
            hint="the copy was discarded; run `gitmv verify --remote NAME --deep`",
        )
    return data


def _publish(
    assembly: _Assembly,
    cache: Cache,
    remote: Remote,
    local: chunking.LocalChunks,
    progress: Progress,
    tally: Tally,
) -> None:
    item = assembly.item
    try:
        assembly.publish(f"remote {remote.label}")
    except IntegrityError as exc:
        tally.failed.append(Failure(item.oid, item.path, f"stored as chunks: {exc.message}"))
        return
    except OSError as exc:
        tally.aborted = f"{item.path}: {exc.strerror or exc}"
        return
    # Recorded after the object is in the cache: an index entry never names an absent object
    # (gc removes the ones whose object it removed). The index only saves downloads later:
    # failing to write it fails nothing.
    with contextlib.suppress(OSError):
        chunking.save_local_list(cache, item.oid, assembly.chunks)
    local.add(item.oid, assembly.chunks)
    tally.transferred += 1
    progress.object_done()


class _Assembly:
    """A chunked object being rebuilt in a temporary file inside the cache (on the cache's
    file system, so publishing it is a rename). Chunks are written from several threads,
    each at its own offsets."""

    def __init__(self, cache: Cache, item: Item, chunks: list[Chunk]) -> None:
        self.cache = cache
        self.item = item
        self.chunks = chunks
        self.path = cache.new_temp()
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        os.ftruncate(self._fd, sum(c.size for c in chunks))

    def write(self, offset: int, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            written = os.pwrite(self._fd, view, offset)
            view, offset = view[written:], offset + written

    def publish(self, source: str) -> None:
        """Into the cache if the whole file hashes to the object's oid (else discarded)."""
        self._close()
        self.cache.adopt(self.path, self.item.oid, source)

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def discard(self) -> None:
        self._close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


# -- gc and verify ---------------------------------------------------------------------------


def referenced_chunks(remote: Remote, kept: Sequence[Oid]) -> tuple[set[str], list[Oid]]:
    """The chunk keys the kept chunk lists name, read from the remote (another clone may
    have cut the same object differently); and the kept lists that could not be read."""
    referenced: set[str] = set()
    unreadable: list[Oid] = []
    if not kept:
        return referenced, unreadable
    with ThreadPoolExecutor(remote.jobs) as pool:
        for oid, chunks in zip(
            kept, pool.map(lambda o: _readable_list(remote, o), kept), strict=True
        ):
            if chunks is None:
                unreadable.append(oid)
            else:
                referenced.update(chunk_key(c.oid) for c in chunks)
    return referenced, unreadable


def _readable_list(remote: Remote, oid: Oid) -> list[Chunk] | None:
    try:
        return remote_list(remote, oid, None)
    except PointerError:
        return None


def check_remote(remote: Remote, oid: Oid, jobs: int) -> str | None:
    """Whether an object stored as chunks reads back whole: its list parses, every chunk is
    there and hashes to its name, and the chunks in order hash to the object's oid.
    Returns "missing", "corrupt", or None when sound."""
    try:
        chunks = remote_list(remote, oid, None)
    except PointerError:
        return "corrupt"
    if chunks is None:
        return "missing"
    there = remote.has_keys(chunk_key(c.oid) for c in chunks)
    if any(chunk_key(c.oid) not in there for c in chunks):
        return "missing"
    whole = new_hasher(oid.algorithm)
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        try:
            for c, part in _in_order(
                pool, lambda c: remote.get_bytes(chunk_key(c.oid)), chunks, 2 * jobs
            ):
                if len(part) != c.size or hash_bytes(part, c.oid.algorithm) != c.oid:
                    return "corrupt"
                whole.update(part)
        except MissingObject:  # deleted since the listing
            return "missing"
    return None if Oid(oid.algorithm, whole.hexdigest()) == oid else "corrupt"


def _in_order(
    pool: ThreadPoolExecutor, fetch: Callable[[T], R], items: Iterable[T], window: int
) -> Iterator[tuple[T, R]]:
    """`fetch` over `items` on the pool, results in order, at most `window` ahead (so a
    1 GiB object is never held in memory whole)."""
    pending: collections.deque[tuple[T, Future[R]]] = collections.deque()
    rest = iter(items)
    try:
        for item in itertools.islice(rest, max(1, window)):
            pending.append((item, pool.submit(fetch, item)))
        while pending:
            item, future = pending.popleft()
            for more in itertools.islice(rest, 1):
                pending.append((more, pool.submit(fetch, more)))
            yield item, future.result()
    finally:
        for _, future in pending:
            future.cancel()
