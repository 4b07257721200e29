"""Small objects and chunks moved in packs (DESIGN 3.1.1): push groups them into packs of
up to `pack.size` bytes (each member hash-checked as it is read from the cache), fetch reads
packed members with a few coalesced ranged GETs and checks each against its oid before it
enters the cache. The pack format is `gitmv.store.packs`, the remote's view of its packs
`gitmv.remotes.packed`; the engine decides what goes this way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from gitmv.base.errors import GitmvError, RemoteError
from gitmv.base.progress import Progress
from gitmv.remotes.remote import Remote, corrupt_source
from gitmv.store.cache import Cache, corrupt_download
from gitmv.store.hashing import hash_bytes
from gitmv.store.layout import object_key
from gitmv.store.packs import PackSettings
from gitmv.transfer.workers import Failure, Item, Sent, Tally

# Packs built and sent at once: each is held in memory whole (up to `pack.size`).
PARALLEL_PACKS = 4


def groups(items: Sequence[Item], size: int) -> list[list[Item]]:
    """`items` in packs of at most `size` bytes each (one item larger than that alone)."""
    out: list[list[Item]] = []
    group: list[Item] = []
    nbytes = 0
    for item in items:
        if group and nbytes + item.size > size:
            out.append(group)
            group, nbytes = [], 0
        group.append(item)
        nbytes += item.size
    if group:
        out.append(group)
    return out


def upload(
    remote: Remote,
    items: Sequence[Item],
    read: Callable[[Item], bytes],
    key_of: Callable[[Item], str],
    settings: PackSettings,
    jobs: int,
    progress: Progress,
    tally: Tally,
    *,
    objects: bool = True,
) -> None:
    """Publish `items` in packs (`objects`: each is an object of the progress count, not a
    chunk of one). `read` returns an item's checked bytes (raising GitmvError
    for a corrupt source: that item fails, its pack goes without it); a remote that fails
    stops the lot, as in `workers.run`."""

    lock = threading.Lock()

    def send(group: list[Item]) -> None:
        if tally.aborted is not None:
            return
        members: list[tuple[str, bytes]] = []
        sent: list[Item] = []
        for item in group:
            try:
                members.append((key_of(item), read(item)))
                sent.append(item)
            except GitmvError as exc:
                with lock:
                    tally.failed.append(Failure(item.oid, item.path, exc.message))
            except OSError as exc:
                with lock:
                    tally.aborted = tally.aborted or f"{item.path}: {exc.strerror or exc}"
                return
        if not members:
            return
        try:
            remote.packs.write(members, {key_of(i) for i in sent if i.manifest})
        except RemoteError as exc:
            with lock:
                if tally.aborted is None:
                    tally.aborted, tally.abort_hint = exc.message, exc.hint
            return
        nbytes = sum(len(data) for _, data in members)
        with lock:
            tally.transferred += len(sent)
            tally.nbytes += nbytes
            if objects and tally.sent is not None:  # a chunk is listed by its list
                tally.sent += (Sent(i.oid, i.path, i.size, "pack", i.manifest) for i in sent)
        progress.advance(nbytes)
        for _ in sent if objects else ():
            progress.object_done()

    packs = groups(items, settings.size)
    with ThreadPoolExecutor(max(1, min(jobs, PARALLEL_PACKS, len(packs) or 1))) as pool:
        for _ in pool.map(send, packs):
            pass


def read_cached(cache: Cache, item: Item) -> bytes:
    """A small cache object's bytes, checked: a corrupt cache file never goes into a pack."""
    data = cache.read_bytes(item.oid)
    actual = hash_bytes(data, item.oid.algorithm)
    if actual != item.oid:
        raise corrupt_source(item.oid, actual)
    return data


def fetch(
    cache: Cache, remote: Remote, items: Sequence[Item], jobs: int, progress: Progress, tally: Tally
) -> list[Item]:
    """Download the `items` the remote holds in packs (coalesced ranged reads), each checked
    and added to the cache; returns the items no pack holds, for the loose path."""
    by_key = {object_key(i.oid): i for i in items}
    packed = remote.packs.among(by_key)
    if not packed:
        return list(items)
    try:
        for key, data in remote.packs.read_many(packed, jobs):
            item = by_key[key]
            actual = hash_bytes(data, item.oid.algorithm)
            if actual != item.oid:
                error = corrupt_download(item.oid, actual, f"remote {remote.label}")
                tally.failed.append(Failure(item.oid, item.path, error.message))
                continue
            cache.add_small(data, item.oid.algorithm)
            tally.transferred += 1
            tally.nbytes += len(data)
            progress.advance(len(data))
            progress.object_done()
    except RemoteError as exc:
        tally.aborted, tally.abort_hint = exc.message, exc.hint
    if any(i.manifest for i in items):
        cache.objects.sync()  # a manifest is read next, to list its files: publish it now
    return [i for key, i in by_key.items() if key not in packed]
