"""gc (DESIGN 3.2): never delete the last copy of a version git can still reach.

Local cache. Kept: every object the tips need (work trees, indexes, the stash, the tips of
all refs: maintenance.needed_pointers). An object only older commits need (reachable from
a ref or a reflog entry) goes only once one batched presence check has found it on the
default remote; with no default remote, or none answering, it stays and the report says
how many and why. An object nothing in git names goes at once. When an old folder manifest
cannot be read, its files are unknown, so every object is treated as possibly named.

Remote. Deleted: only objects that no commit reachable from any ref or reflog names (nor
the work trees, indexes, stash), and only once the remote's own modification time is older
than `gc.remote_grace`, so another clone's upload whose `git push` has not arrived yet is
never undone. Chunks stay while a kept chunk list names them, and orphan chunks obey the
grace period too (a push writes chunks before their list).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from gitmv.base import git
from gitmv.base.errors import GitmvError
from gitmv.ops.session import open_session
from gitmv.ops.verify import (
    REMOTE_TEMP_AGE,
    _from_cache_or_remote,
    _stale_cache_temps,
    needed_pointers,
    note_pointer,
)
from gitmv.remotes.folder import FolderRemote
from gitmv.remotes.remote import Remote
from gitmv.repo import history, pointers
from gitmv.repo.context import Repo
from gitmv.store import chunking, manifest, packs
from gitmv.store.cache import QUARANTINE, Cache
from gitmv.store.hashing import ALGORITHMS, Oid
from gitmv.store.layout import CHUNKS_DIR, list_key, parse_chunk_key, parse_object_key
from gitmv.store.packs import PackEntry
from gitmv.transfer import chunked, packgc, remotecheck
from gitmv.transfer.engine import present


@dataclass(frozen=True)
class Doomed:
    """An object gc removes (or would): what it is to the user, not a bare hash."""

    oid: Oid
    size: int
    path: str  # an artifact (or a file in a folder artifact); "" when no name is known
    commit: str  # abbreviated sha of the newest commit naming it; "" when none does


@dataclass(frozen=True)
class GcReport:
    removed: tuple[Doomed, ...]  # what was (or, for a dry run, would be) removed
    nbytes: int
    temps: tuple[str, ...]  # leftover temporary files removed
    kept: int  # objects the tips need
    unresolved: tuple[Oid, ...]
    chunk_lists: tuple[Oid, ...] = ()  # local chunk index entries dropped with their object
    confirmed: int = 0  # of `removed`: older commits' objects found on the default remote
    held: int = 0  # older commits' objects kept because no remote confirmed a copy
    held_bytes: int = 0
    held_reason: str = ""
    quarantined: tuple[str, ...] = ()  # corrupt objects checkout or fetch moved aside
    chunks: int = 0  # chunks of the chunked cache that no kept chunk list names (removed)
    chunk_bytes: int = 0


@dataclass(frozen=True)
class RemoteGcPlan:
    remote: str
    remove: tuple[Doomed, ...]  # objects no commit names, older than the grace period
    manifests_first: tuple[Oid, ...]  # of `remove`, those known to be manifests
    temps: tuple[str, ...]
    kept: int  # objects some commit, work tree, index or the stash names
    unresolved: tuple[Oid, ...]  # needed manifests or chunk lists nobody could read
    whole: tuple[Oid, ...] = ()  # of `remove`, those held whole
    chunk_lists: tuple[Oid, ...] = ()  # of `remove`, those held as a chunk list
    chunks: tuple[str, ...] = ()  # keys of the chunks no kept chunk list names
    recent: int = 0  # unneeded, but younger than the grace period: kept
    grace: float = history.DEFAULT_GRACE
    packs: packgc.PackGc = field(default_factory=packgc.PackGc)  # dropped or rewritten packs
    notes: tuple[str, ...] = ()  # keep notes older than the grace period

    @property
    def nbytes(self) -> int:
        return sum(d.size for d in self.remove)


def history_tops(repo: Repo, revs: tuple[str, ...]) -> dict[Oid, tuple[str, str]]:
    """oid -> (kind, artifact path) for every pointer in the history of `revs`."""
    tops: dict[Oid, tuple[str, str]] = {}
    for f in pointers.history_files(repo, revs):
        note_pointer(tops, f, extras=True)
    return tops


def _default_remote(repo: Repo) -> tuple[Remote | None, str]:
    """The default remote, checked, or None and the reason in words."""
    try:
        store = open_session(repo, None).remote
    except GitmvError as exc:
        return None, exc.message  # "no default remote is configured", or a bad entry
    if isinstance(store, FolderRemote) and not store.root.exists() and store.root.parent.is_dir():
        return store, ""  # a folder remote appears with its first push: it has nothing yet
    try:
        store.check()
    except GitmvError as exc:
        return None, f"the default remote {store.label} did not answer: {exc.message}"
    return store, ""


def gc_cache(repo: Repo, *, dry_run: bool = False) -> GcReport:
    """Remove cache objects nothing needs (see the module docstring), and temp files of
    killed gitmv processes.

    Runs under the repository lock so that an `add` (which holds it from caching an object
    to staging its pointer) never loses the object it just stored.
    """
    cache = repo.cache
    with repo.lock():
        tips = manifest.expand(needed_pointers(repo), manifest.cache_reader(cache))
        candidates = sorted(oid for oid in cache.iter_oids() if oid not in tips.oids)
        unnamed: list[Oid] = []
        confirmed: list[Oid] = []
        held: list[Oid] = []
        reason = ""
        where: dict[Oid, str] = {}
        if candidates:
            store, reason = _default_remote(repo)
            local = manifest.cache_reader(cache)
            read = local if store is None else _from_cache_or_remote(cache, store)
            past = manifest.expand(history_tops(repo, git.ALL_HISTORY), read)
            doubt = bool(past.unresolved)  # an unreadable old manifest may name any object
            older = [o for o in candidates if doubt or o in past.oids]
            unnamed = [o for o in candidates if not (doubt or o in past.oids)]
            on_remote: set[Oid] = set()
            if older and store is not None:
                try:
                    on_remote = present(store, older)
                except GitmvError as exc:
                    reason = f"the default remote {store.label} did not answer: {exc.message}"
                if not reason:
                    reason = f"not on the default remote {store.label}"
            confirmed = [o for o in older if o in on_remote]
            held = [o for o in older if o not in on_remote]
            where = {o: past.where[o] for o in confirmed if o in past.where}
        remove = sorted(unnamed + confirmed)
        sizes = {oid: cache.size(oid) or 0 for oid in [*remove, *held]}
        doomed = _name(repo, cache, remove, sizes, set(confirmed), where) if dry_run else ()
        if not dry_run:
            doomed = tuple(Doomed(o, sizes[o], where.get(o, ""), "") for o in remove)
        temps = _stale_cache_temps(cache.root / "tmp")
        # Quarantined bytes failed their hash: they are no copy of any version, and were
        # kept only for a look until the next gc.
        bad = _files(cache.root / QUARANTINE)
        gone = set(remove)
        lists = sorted(o for o in chunking.local_lists(cache) if o in gone or not cache.has(o))
        if not dry_run:
            for oid in lists:  # first: an index entry never names an absent object
                chunking.remove_local_list(cache, oid)
            for oid in remove:
                cache.remove(oid)
            for name in temps:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(cache.root / "tmp" / name)
            for name in bad:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(cache.root / QUARANTINE / name)
        # after the lists of the objects that went: a chunk stays while a kept list names it
        chunks, chunk_bytes = cache.chunks.sweep(dry_run=dry_run)
    return GcReport(
        doomed,
        sum(sizes[o] for o in remove),
        tuple(temps),
        len(tips.oids),
        tips.unresolved,
        tuple(lists),
        confirmed=len(confirmed),
        held=len(held),
        held_bytes=sum(sizes[o] for o in held),
        held_reason=reason if held else "",
        quarantined=tuple(bad),
        chunks=chunks,
        chunk_bytes=chunk_bytes,
    )


def _files(folder: Path) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(folder) if e.is_file(follow_symlinks=False))
    except FileNotFoundError:
        return []


def _name(
    repo: Repo,
    cache: Cache,
    oids: list[Oid],
    sizes: dict[Oid, int],
    in_history: set[Oid],
    where: dict[Oid, str],
) -> tuple[Doomed, ...]:
    """Each object with a path and the newest commit naming it (for a dry run's list)."""
    labels = history.labels(repo, cache, [o for o in oids if o in in_history], git.ALL_HISTORY)
    names = history.known_names(repo, cache, [o for o in oids if o not in labels])
    # Newest commit first (the order `labels` found them in), then what no commit names.
    found = [
        Doomed(oid, sizes.get(oid, 0), label.path, label.commit) for oid, label in labels.items()
    ]
    for oid in oids:
        if oid not in labels:
            found.append(Doomed(oid, sizes.get(oid, 0), names.get(oid, where.get(oid, "")), ""))
    return tuple(found)


# -- remote ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Inventory:
    whole: dict[Oid, tuple[int, float | None]]  # oid -> (size, modified)
    lists: dict[Oid, tuple[int, float | None]]
    chunks: dict[str, float | None]  # chunk key -> modified


def remote_needed(repo: Repo, remote: Remote) -> manifest.Expansion:
    """Every object a commit reachable from any ref or reflog names, plus what the work
    trees, indexes and the stash name; manifests read from the cache, else the remote."""
    tops = history_tops(repo, git.ALL_HISTORY)
    for oid, value in needed_pointers(repo).items():
        if value[0] == "dir" or oid not in tops:
            tops[oid] = value
    return manifest.expand(tops, _from_cache_or_remote(repo.cache, remote))


def plan_remote_gc(
    repo: Repo, remote: Remote, *, now: float | None = None, grace: float | None = None
) -> RemoteGcPlan:
    """What gc would delete from the remote (see the module docstring).

    Only this repository's refs count: objects of branches pushed elsewhere and never
    fetched here look unneeded, which is what the grace period is for. The CLI lists the
    plan (and asks, on a terminal) before anything is deleted. `now` and `grace` default to
    the clock and `gc.remote_grace`.
    """
    grace = history.grace_of(repo) if grace is None else grace
    remote.check(write=True)
    needed = remote_needed(repo, remote)
    inv = _inventory(remote)
    cutoff = (time.time() if now is None else now) - grace
    unneeded = sorted(o for o in {*inv.whole, *inv.lists} if o not in needed.oids)

    def old(oid: Oid) -> bool:
        # A store that gives no time for a key gets the benefit of the doubt: kept.
        times = [e[1] for e in (inv.whole.get(oid), inv.lists.get(oid)) if e is not None]
        return all(t is not None and t <= cutoff for t in times)

    # The files of a manifest younger than the grace period stay too: another clone's push
    # names them, though they were on the remote before it (a push skips those, and does
    # not touch them).
    # So do the objects a recent push found already there (its keep note) and their files.
    noted, old_notes = packgc.read_keeps(remote, cutoff)
    young = [o for o in unneeded if not old(o) and _is_manifest(repo.cache, o)]
    young += _young_packed_manifests(remote, cutoff, needed)
    young += [o for o, is_dir in noted.items() if is_dir and o not in needed.oids]
    protected = _files_of(repo, remote, young) | set(noted)
    remove = [o for o in unneeded if old(o) and o not in protected]
    gone = set(remove)
    first = tuple(o for o in remove if _is_manifest(repo.cache, o))
    kept_lists = sorted(o for o in inv.lists if o not in gone)
    referenced, unreadable = remotecheck.referenced_chunks(remote, kept_lists)

    def kept(e: PackEntry) -> bool:
        oid = packgc.member_oid(e.key)
        if oid is None or oid in needed.oids or oid in protected:
            return True
        return parse_chunk_key(e.key) is not None and (bool(unreadable) or e.key in referenced)

    pack_gc = packgc.plan(remote, cutoff, kept, lambda o: _is_manifest(repo.cache, o))
    # A kept chunk list nobody can read might name any chunk: then no chunk goes.
    orphans: tuple[str, ...] = ()
    if not unreadable:
        orphans = tuple(
            sorted(
                k
                for k, t in inv.chunks.items()
                if k not in referenced and t is not None and t <= cutoff
            )
        )
    sizes = {o: _object_size(repo.cache, remote, o, inv) for o in remove}
    names = history.known_names(repo, repo.cache, remove)
    packed = {o: e.size for e in pack_gc.doomed if (o := _whole_oid(e.key)) and o not in gone}
    names = {**names, **history.known_names(repo, repo.cache, sorted(packed))}
    doomed = tuple(Doomed(o, sizes[o], names.get(o, ""), "") for o in remove)
    doomed += tuple(Doomed(o, size, names.get(o, ""), "") for o, size in sorted(packed.items()))
    return RemoteGcPlan(
        remote.label,
        doomed,
        first,
        tuple(remote.stale_temps(REMOTE_TEMP_AGE)),
        len(needed.oids),
        needed.unresolved + tuple(unreadable),
        whole=tuple(o for o in remove if o in inv.whole),
        chunk_lists=tuple(o for o in remove if o in inv.lists),
        chunks=orphans,
        recent=len(unneeded) - len(remove) + pack_gc.recent,
        grace=grace,
        packs=pack_gc,
        notes=tuple(old_notes),
    )


def _whole_oid(key: str) -> Oid | None:
    named = parse_object_key(key)
    return named.oid if named is not None and not named.chunk_list else None


def _young_packed_manifests(remote: Remote, cutoff: float, needed: manifest.Expansion) -> list[Oid]:
    """Manifests no commit here names, in packs younger than `cutoff` (their index marks
    them: no member is read to find them)."""
    remote.packs.refresh()  # the indexes as they are now, not as a read before found them
    times = {s.key: s.mtime for s in remote.iter_stats(packs.PACKS_DIR)}
    found = []
    for ident, entries in remote.packs.indexes.items():
        stamp = times.get(packs.pack_key(ident))
        if stamp is not None and stamp <= cutoff:
            continue
        for e in entries:
            oid = _whole_oid(e.key)
            if e.manifest and oid is not None and oid not in needed.oids:
                found.append(oid)
    return found


def _files_of(repo: Repo, remote: Remote, manifests: list[Oid]) -> set[Oid]:
    """The files the given manifests list (read from the cache, else the remote)."""
    if not manifests:
        return set()
    tops = {oid: ("dir", "") for oid in manifests}
    return set(manifest.expand(tops, _from_cache_or_remote(repo.cache, remote)).oids)


def _object_size(cache: Cache, remote: Remote, oid: Oid, inv: _Inventory) -> int:
    """The object's own size (not its chunk list's): listed, cached, or summed from the list."""
    if oid in inv.whole:
        return inv.whole[oid][0]
    if cache.has(oid):
        return cache.size(oid) or 0
    with contextlib.suppress(GitmvError):
        chunks = chunked.remote_list(remote, oid, None)
        if chunks is not None:
            return sum(c.size for c in chunks)
    return inv.lists[oid][0] if oid in inv.lists else 0


def _inventory(remote: Remote) -> _Inventory:
    """Every object the remote holds whole, every chunk list, every chunk: one listing each,
    with the store's modification times."""
    whole: dict[Oid, tuple[int, float | None]] = {}
    lists: dict[Oid, tuple[int, float | None]] = {}
    for algorithm in ALGORITHMS:
        for stat in remote.iter_stats(algorithm):
            named = parse_object_key(stat.key)
            if named is not None:
                (lists if named.chunk_list else whole)[named.oid] = (stat.size, stat.mtime)
    chunks = {s.key: s.mtime for s in remote.iter_stats(CHUNKS_DIR) if parse_chunk_key(s.key)}
    return _Inventory(whole, lists, chunks)


def _is_manifest(cache: Cache, oid: Oid) -> bool:
    data = manifest.cache_reader(cache)(oid)
    if data is None or not data.startswith(b'{"path": '):
        return False
    try:
        manifest.decode(data, str(oid))
    except GitmvError:
        return False
    return True


def apply_remote_gc(remote: Remote, plan: RemoteGcPlan) -> None:
    """Delete the plan's objects, manifests first, then chunk lists, then chunks: a remote
    never holds a manifest whose files are gone, nor a chunk list whose chunks are, even if
    this is killed half-way (push relies on that)."""

    first = set(plan.manifests_first)
    whole = set(plan.whole)
    lists = set(plan.chunk_lists)
    remote.delete(sorted(first & whole))
    remote.delete_keys([list_key(oid) for oid in sorted(first & lists)])
    packgc.apply(remote, plan.packs, first=True)
    remote.delete_keys([list_key(oid) for oid in sorted(lists - first)])
    packgc.apply(remote, plan.packs, first=False)
    remote.delete_keys(list(plan.chunks))
    remote.delete(sorted(whole - first))
    remote.delete_keys(list(plan.temps))
    remote.delete_keys(list(plan.notes))
