"""Push and fetch: expand directory manifests, skip what the other side has, move the rest.

A directory's files are uploaded before its manifest, so a remote that holds a manifest
holds all of its files: a second push checks one object per directory, not 20,000.
Fetch goes the other way: the manifest first (hash-verified into the cache), then
whatever of its files the cache lacks.

A large file goes up as chunks plus a chunk list (DESIGN 3.1): only the chunks the remote
lacks, then the list, so a remote that holds a chunk list holds its chunks. Either form
counts as present for any object, and fetch takes whichever the remote has: a chunked
object is rebuilt from chunks the cache already holds (the local chunk index) plus
downloads, and enters the cache only once the whole file hashes to its oid.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import os
import shutil
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gitmv.base import atomic
from gitmv.base.errors import GitmvError, RemoteError
from gitmv.base.progress import NullProgress, Progress
from gitmv.remotes.remote import (
    SMALL_OBJECT,
    MissingObject,
    Remote,
)
from gitmv.store import chunking, manifest
from gitmv.store.cache import Cache, corrupt_download
from gitmv.store.chunking import Chunk, Settings
from gitmv.store.hashing import Oid, hash_bytes
from gitmv.store.layout import object_key
from gitmv.store.packs import PackSettings
from gitmv.store.pointer import Pointer, extra_objects
from gitmv.transfer import chunked, onremote, packgc, packing
from gitmv.transfer.presence import not_pushed, present, stored
from gitmv.transfer.workers import (
    Failure,
    Item,
    Phase,
    Tally,
    TransferResult,
    result,
    retry,
    run,
    side_by_side,
)

__all__ = [
    "Failure",
    "NullProgress",
    "Progress",
    "TransferResult",
    "fetch",
    "not_pushed",
    "present",
    "push",
    "stored",
]


def push(
    cache: Cache,
    remote: Remote,
    pointers: Iterable[tuple[str, Pointer]],
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
    settings: Settings | None = None,
    pack: PackSettings | None = None,
    list_sent: bool = False,
) -> TransferResult:
    """Upload every object the pointers name (directories expanded, package lists included)
    that the remote lacks; files of at least `settings.min_size` bytes as chunks, objects
    and chunks under `pack.max_object` in packs. `list_sent`: the result lists each object
    sent and where it went (`push -v`)."""
    progress = progress or NullProgress()
    jobs = jobs or remote.jobs
    settings = settings or Settings()
    pack = pack or (PackSettings() if remote.packs_by_default else PackSettings(max_object=0))
    remote.check(write=True)
    remote.packs.refresh()
    tally = Tally(sent=[] if list_sent else None)
    tops = _top_items(pointers, extras=True)
    plan = _plan_push(cache, remote, tops, tally, settings)
    # an object the cache keeps chunked goes up as chunks whatever its size: no whole copy
    cut = {i.oid for i in plan.files if settings.chunks(i.size) or cache.is_chunked(i.oid)}
    whole = [i for i in plan.files if i.oid not in cut]
    large = [i for i in plan.files if i.oid in cut]
    progress.start(len(whole) + len(plan.manifests), plan.nbytes(whole))

    policy = remote.retry_policy  # read once: parsed from the options at each call

    def upload(item: Item) -> int:
        retry(lambda: remote.upload(item.oid, cache.path(item.oid), progress.advance), policy)
        return item.size

    def send(items: list[Item], n: int, t: Tally) -> None:
        """Small ones in packs, the rest one by one."""
        packed = [i for i in items if pack.packs(i.size)]
        read = functools.partial(packing.read_cached, cache)
        packing.upload(remote, packed, read, _object_key, pack, n, progress, t)
        run([i for i in items if not pack.packs(i.size)], upload, n, progress, t, "loose")

    def send_small(n: int, t: Tally) -> None:
        send(whole, n, t)

    def send_large(n: int, t: Tally) -> None:
        chunked.upload(cache, remote, large, settings.avg_size, n, progress, t, pack)

    ready: list[Item] = []
    with remote.batch():
        if large:
            side_by_side(send_large, send_small, jobs, tally)
        else:
            send_small(jobs, tally)
        remote.sync()  # the files are there to stay before a manifest names them
        if tally.aborted is None:
            failed = {f.oid for f in tally.failed}
            ready = [m for m in plan.manifests if failed.isdisjoint(plan.members[m.oid])]
            send(ready, jobs, tally)
    if tally.aborted is None:  # the manifests there now: the parents of the next push's
        sent = {m.oid for m in ready}.difference(f.oid for f in tally.failed)
        there = {
            i.path: o for o, i in tops.items() if i.manifest and (o in sent or o in plan.reused)
        }
        onremote.remember(cache, remote, there)
    if plan.reused and tally.aborted is None:
        try:  # the objects it skipped are named anew: remote gc must keep them for a while
            retry(lambda: packgc.write_keep(remote, plan.reused), remote.retry_policy)
        except RemoteError as exc:
            tally.aborted, tally.abort_hint = exc.message, exc.hint
    if tally.sent is not None:  # a chunk list was listed with its own size: say the file's
        sizes = {i.oid: i.size for i in large}
        tally.sent = [
            dataclasses.replace(s, size=sizes[s.oid]) if s.where == "chunked" else s
            for s in tally.sent
        ]
    return result(remote, tally, plan.skipped)


@dataclass
class _PushPlan:
    files: list[Item]  # data objects to upload
    manifests: list[Item]  # then these, each only once all of its files are there
    members: dict[Oid, set[Oid]]  # manifest -> the file oids it lists
    skipped: int  # objects the remote already has
    reused: dict[Oid, bool]  # of the pointers' own objects, those the remote already had
    # (true for a manifest)

    def nbytes(self, files: list[Item]) -> int:
        return sum(i.size for i in files) + sum(i.size for i in self.manifests)


def _plan_push(
    cache: Cache, remote: Remote, tops: dict[Oid, Item], tally: Tally, settings: Settings
) -> _PushPlan:
    """Two batched existence checks: the pointers' own objects (and the manifests last seen
    on the remote for the same paths, `onremote`), then the files of the directories whose
    manifest the remote lacks, less those a parent still on the remote lists (on a remote
    with packs, in its indexes only: a push after one file changed costs no request per
    file). What neither side has is a failure."""
    # a remote with packs answers for the files from its indexes, at no request: no parents
    dirs = {} if remote.packs.formatted else {i.path: o for o, i in tops.items() if i.manifest}
    parents = onremote.parents(cache, remote, dirs)
    # a parent this clone pushed went whole unless it was large enough to be cut
    whole = {p for p in parents if p not in tops and not settings.chunks(_size(cache, p))}
    asked = present(remote, [*tops, *parents], whole)
    present_tops = asked.intersection(tops)
    vouched: set[Oid] = set()  # files a parent manifest on the remote lists: there too
    for parent in asked.intersection(parents):
        vouched |= onremote.entries(cache, parent)
    files: dict[Oid, Item] = {}
    manifests: dict[Oid, Item] = {}
    members: dict[Oid, set[Oid]] = {}
    for oid, item in tops.items():
        if oid in present_tops:
            continue
        if not cache.has(oid):
            if not item.optional:
                tally.failed.append(Failure(oid, item.path, _NOT_CACHED))
        elif item.optional:
            files.setdefault(oid, dataclasses.replace(item, size=_size(cache, oid)))
        elif not item.manifest:
            files.setdefault(oid, item)
        elif (entries := _read_manifest(cache, item, tally)) is not None:
            manifests[oid] = dataclasses.replace(item, size=_size(cache, oid))
            members[oid] = {e.oid for e in entries}
            for e in entries:
                files.setdefault(e.oid, Item(e.oid, f"{item.path}/{e.path}", e.size))
    small = {oid for oid, i in files.items() if not settings.chunks(i.size)}
    unknown = [oid for oid in files if oid not in vouched]
    present_files = present(remote, unknown, small, index_only=True) | vouched.intersection(files)
    absent = {oid for oid in files if oid not in present_files and not cache.has(oid)}
    tally.failed.extend(Failure(oid, files[oid].path, _NOT_CACHED) for oid in sorted(absent))
    return _PushPlan(
        files=[i for oid, i in files.items() if oid not in present_files and oid not in absent],
        manifests=[m for oid, m in manifests.items() if absent.isdisjoint(members[oid])],
        members=members,
        skipped=len(present_tops) + len(present_files),
        reused={oid: tops[oid].manifest for oid in sorted(present_tops)},
    )


_NOT_CACHED = "not in the cache, nor on the remote (fetch it from where it was added)"


def fetch(
    cache: Cache,
    remote: Remote,
    pointers: Iterable[tuple[str, Pointer]],
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
    cached: Callable[[Oid], None] | None = None,
) -> TransferResult:
    """Download every object the pointers name that the cache lacks, each hash-verified.

    The remote is contacted only when something is missing, so fetching an up-to-date
    repository works offline. `cached` is told of each large object as soon as it is in
    the cache, on the thread that fetched it, while the small ones are still coming down
    (pull checks a 1 GiB model out then, beside the 20,000 small files).
    """
    # small objects are published in batches, one syncfs each (Cache.sync_all), not an
    # fsync per file
    cache.defer_sync = True
    try:
        return _fetch(cache, remote, pointers, jobs, progress or NullProgress(), cached)
    finally:
        cache.sync_all()


def _fetch(
    cache: Cache,
    remote: Remote,
    pointers: Iterable[tuple[str, Pointer]],
    jobs: int | None,
    progress: Progress,
    cached: Callable[[Oid], None] | None,
) -> TransferResult:
    jobs = jobs or remote.jobs
    tops = _top_items(pointers)
    # a cached object of the wrong size (truncated) is quarantined and fetched again
    present = {
        oid for oid, i in tops.items() if cache.has(oid) and (i.manifest or _sound(cache, i))
    }
    wanted = [i for oid, i in tops.items() if oid not in present]
    checked = bool(wanted)
    if checked:
        remote.check()
    tally = Tally()

    local = chunking.LocalChunks(cache)  # read only if something is stored as chunks
    lock = threading.Lock()

    def phase(items: list[Item]) -> Phase:
        """Download `items`, then rebuild those of them the remote holds as chunks."""
        pending: list[tuple[Item, list[Chunk]]] = []

        def download(item: Item) -> int | None:
            try:
                return retry(
                    lambda: _download_one(cache, remote, item, progress.advance),
                    remote.retry_policy,
                )
            except MissingObject:
                size = None if item.manifest else item.size  # a manifest's is not recorded
                chunks = retry(
                    lambda: chunked.remote_list(remote, item.oid, size), remote.retry_policy
                )
                if chunks is None:
                    raise
                with lock:
                    pending.append((item, chunks))
                return None  # done when assembled

        def go(n: int, t: Tally) -> None:
            loose = packing.fetch(cache, remote, items, n, progress, t)  # packed ones first
            run(loose, download, n, progress, t)
            if t.aborted is None:
                chunked.assemble(cache, remote, local, pending, n, progress, t)

        return go

    def announced(go: Phase, large: list[Item]) -> Phase:
        if cached is None:
            return go
        tell = cached

        def then_tell(n: int, t: Tally) -> None:
            go(n, t)
            for item in large:
                if cache.has(item.oid):
                    tell(item.oid)

        return then_tell

    first = [i for i in wanted if i.manifest]
    progress.start(len(first), 0)
    phase(first)(jobs, tally)
    onremote.remember(cache, remote, {i.path: i.oid for i in first if cache.has(i.oid)})
    progress.start(0, sum(_size(cache, i.oid) for i in first))  # known now they are here
    files = {i.oid: i for i in wanted if not i.manifest}
    for oid, item in tops.items():
        if not item.manifest or not cache.has(oid) or tally.aborted:
            continue
        for e in _read_manifest(cache, item, tally) or ():
            if e.oid in files or e.oid in present:
                continue
            if cache.has(e.oid) and cache.size_ok(e.oid, e.size):
                present.add(e.oid)
            else:
                files[e.oid] = Item(e.oid, f"{item.path}/{e.path}", e.size)
    if tally.aborted is None and files:
        if not checked:
            remote.check()
        todo = sorted(files.values(), key=lambda i: i.oid)
        progress.start(len(todo), sum(i.size for i in todo))
        large = [i for i in todo if i.size > SMALL_OBJECT]
        small = [i for i in todo if i.size <= SMALL_OBJECT]
        if large and small:  # a 1 GiB model rebuilds while 20,000 small files come down
            side_by_side(announced(phase(large), large), phase(small), jobs, tally)
        else:
            announced(phase(todo), large)(jobs, tally)
    return result(remote, tally, len(present))


def _object_key(item: Item) -> str:
    return object_key(item.oid)


def _cache_full(cache: Cache, needed: int) -> bool:
    """Whether the cache's file system lacks room for `needed` more bytes."""
    try:
        return shutil.disk_usage(cache.root).free < max(needed, 1)
    except OSError:
        return False


def _sound(cache: Cache, item: Item) -> bool:
    """One stat: whether the cached object has the size its pointer records (else it is
    quarantined, so the fetch downloads it again instead of trusting it)."""
    return cache.size_ok(item.oid, item.size)


def _size(cache: Cache, oid: Oid) -> int:
    try:
        return os.path.getsize(cache.path(oid))
    except FileNotFoundError:
        return 0


def _top_items(pointers: Iterable[tuple[str, Pointer]], *, extras: bool = False) -> dict[Oid, Item]:
    """The pointers' objects; with `extras`, also the objects their meta names (the frozen
    package list), which a pushed pointer needs on the remote too."""
    tops: dict[Oid, Item] = {}
    later: list[Item] = []
    for path, p in sorted(pointers, key=lambda pair: pair[0]):
        size = p.size if p.kind == "file" else 0  # a manifest's own size is not recorded
        tops.setdefault(p.oid, Item(p.oid, path, size, manifest=p.kind == "dir"))
        if extras:
            later.extend(
                Item(oid, f"{path} (package list)", 0, optional=True)
                for oid in extra_objects(p.meta)
            )
    for item in later:
        tops.setdefault(item.oid, item)
    return tops


def _read_manifest(cache: Cache, item: Item, tally: Tally) -> list[manifest.ManifestEntry] | None:
    try:
        return manifest.decode(cache.read_bytes(item.oid), f"manifest {item.oid} of {item.path}")
    except GitmvError as exc:
        tally.failed.append(Failure(item.oid, item.path, exc.message))
        return None


def _download_one(cache: Cache, remote: Remote, item: Item, on_bytes: Callable[[int], None]) -> int:
    if not item.manifest and item.size <= SMALL_OBJECT:
        # In memory: no temp file to create, re-read and rename for a 4 KiB object.
        data = remote.read_key(object_key(item.oid))
        on_bytes(len(data))
        actual = hash_bytes(data, item.oid.algorithm)
        if actual != item.oid:
            raise corrupt_download(item.oid, actual, f"remote {remote.label}")
        cache.add_small(data, item.oid.algorithm)
        return len(data)
    tmp = cache.new_temp()
    try:
        try:
            remote.download(item.oid, tmp, on_bytes)
        except (RemoteError, OSError):
            # a remote reports the local write's ENOSPC as its own failure: name our disk
            if _cache_full(cache, item.size):
                raise atomic.no_space_error(
                    OSError(errno.ENOSPC, "no space"), cache.root, item.size
                ) from None
            raise
        size = os.path.getsize(tmp)
        cache.adopt(tmp, item.oid, f"remote {remote.label}")
        return size
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
