"""Remote gc and repack of packs (DESIGN 3.1.1). gc drops a pack none of whose members is
kept and rewrites one whose kept bytes fall under half; the new pack and its index are
published before the old index, then the old pack, are deleted, so every kept member is
findable at every moment. A pack younger than the grace period is left whole, and so is a
pack without an index (a killed upload) until it is as old. Repack moves an older remote's
small loose objects and chunks into packs, each loose copy deleted only once its pack and
index are published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gitmv.base.errors import GitmvError, IntegrityError
from gitmv.base.progress import NullProgress
from gitmv.remotes.remote import Remote
from gitmv.store import packs
from gitmv.store.hashing import ALGORITHMS, Oid, hash_bytes
from gitmv.store.layout import CHUNKS_DIR, parse_chunk_key, parse_object_key
from gitmv.store.packs import PackEntry, PackSettings
from gitmv.transfer import packing
from gitmv.transfer.workers import Item, Tally


@dataclass(frozen=True)
class PackGc:
    drop: tuple[str, ...] = ()  # pack ids none of whose members is kept
    rewrite: tuple[str, ...] = ()  # pack ids whose kept bytes fall under half
    first: frozenset[str] = frozenset()  # of those, the ones holding a doomed manifest
    doomed: tuple[PackEntry, ...] = ()  # the members that go with them
    orphans: tuple[str, ...] = ()  # pack keys no index names (killed uploads), past grace
    young: int = 0  # packs younger than the grace period: left whole
    recent: int = 0  # objects in them that nothing names (gc's "younger than" count)

    @property
    def nbytes(self) -> int:
        return sum(e.size for e in self.doomed)


def member_oid(key: str) -> Oid | None:
    named = parse_object_key(key)
    return parse_chunk_key(key) if named is None else named.oid


def plan(
    remote: Remote,
    cutoff: float,
    kept: Callable[[PackEntry], bool],
    is_manifest: Callable[[Oid], bool],
) -> PackGc:
    """Which packs go or are rewritten: only packs older than `cutoff` (seconds since the
    epoch); `kept` says which members must stay findable."""
    view = remote.packs
    view.refresh()
    times: dict[str, float | None] = {}
    for stat in remote.iter_stats(packs.PACKS_DIR):
        parsed = packs.parse_name(stat.key.rsplit("/", 1)[-1])
        if parsed is not None and parsed[1] == packs.PACK_SUFFIX:
            times[parsed[0]] = stat.mtime
    drop: list[str] = []
    rewrite: list[str] = []
    first: set[str] = set()
    doomed: list[PackEntry] = []
    young = recent = 0
    for ident, entries in sorted(view.indexes.items()):
        stamp = times.get(ident)
        if stamp is None or stamp > cutoff:
            young += 1  # a store that gives no time gets the benefit of the doubt, as loose
            recent += sum(1 for e in entries if _whole(e.key) and not kept(e))
            continue
        gone = [e for e in entries if not kept(e)]
        if not gone:
            continue
        kept_bytes = sum(e.size for e in entries) - sum(e.size for e in gone)
        if kept_bytes == 0:
            drop.append(ident)
        elif 2 * kept_bytes < sum(e.size for e in entries):
            rewrite.append(ident)
        else:
            continue  # mostly kept: its dead members cost less than rewriting it
        doomed.extend(gone)
        named = [parse_object_key(e.key) for e in gone]
        if any(e.manifest for e in gone) or any(
            n is not None and (n.chunk_list or is_manifest(n.oid)) for n in named
        ):
            first.add(ident)
    orphans = tuple(
        packs.pack_key(i)
        for i, t in sorted(times.items())
        if i not in view.indexes and t is not None and t <= cutoff
    )
    return PackGc(
        tuple(drop), tuple(rewrite), frozenset(first), tuple(doomed), orphans, young, recent
    )


def _whole(key: str) -> bool:
    named = parse_object_key(key)
    return named is not None and not named.chunk_list


def apply(remote: Remote, gc: PackGc, *, first: bool) -> None:
    """Drop and rewrite the planned packs (`first`: those holding doomed manifests or chunk
    lists, which go before the files and chunks they name, as loose ones do)."""
    view = remote.packs
    doomed = {e.key for e in gc.doomed}
    for ident in [*gc.rewrite, *gc.drop]:
        if (ident in gc.first) != first or ident not in view.indexes:
            continue
        if ident in gc.rewrite:
            keep = [e for e in view.indexes[ident] if e.key not in doomed]
            data = dict(view.read_many([e.key for e in keep], remote.jobs))
            for e in keep:
                _check_member(remote, e.key, data[e.key])
            members = [(e.key, data[e.key]) for e in keep]
            view.write(members, {e.key for e in keep if e.manifest})  # published first
        remote.delete_keys([packs.index_key(ident)])  # the index first: never names a gap
        remote.delete_keys([packs.pack_key(ident)])
        view.forget(ident)
    if not first:
        remote.delete_keys(list(gc.orphans))


def _check_member(remote: Remote, key: str, data: bytes) -> None:
    """A member copied into a new pack is the bytes its name says (chunk lists are checked
    when read: they are no hash of their own)."""
    named = parse_object_key(key)
    if named is not None and named.chunk_list:
        return
    oid = member_oid(key)
    if oid is not None and hash_bytes(data, oid.algorithm) != oid:
        raise IntegrityError(
            f"{key} in a pack on remote {remote.label} is corrupt; the pack was not rewritten",
            hint="run `gitmv verify --remote NAME --deep`, then push it again from a clone",
        )


@dataclass
class RepackResult:
    packed: int = 0
    nbytes: int = 0
    packs: int = 0
    failed: list[str] = field(default_factory=list)
    aborted: str | None = None


def repack(remote: Remote, settings: PackSettings, jobs: int) -> RepackResult:
    """Move the remote's loose objects and chunks under `settings.max_object` into packs;
    each loose copy is deleted once its pack and index are published."""
    remote.packs.refresh()
    before = set(remote.packs.indexes)
    stats = [s for a in ALGORITHMS for s in remote.iter_stats(a)]
    stats += list(remote.iter_stats(CHUNKS_DIR))
    items: list[Item] = []
    for s in stats:
        named = parse_object_key(s.key)
        oid = member_oid(s.key)
        if oid is None or (named is not None and named.chunk_list) or not settings.packs(s.size):
            continue  # chunk lists stay loose: written last, they say their chunks are there
        items.append(Item(oid, s.key, s.size))

    def read(item: Item) -> bytes:
        data = remote.get_bytes(item.path)
        _check_member(remote, item.path, data)
        return data

    tally = Tally()
    packing.upload(remote, items, read, lambda i: i.path, settings, jobs, NullProgress(), tally)
    failed = {f.path for f in tally.failed}
    done = [i.path for i in items if i.path not in failed] if tally.aborted is None else []
    if done:
        remote.sync()
        remote.delete_keys(done)
    return RepackResult(
        len(done),
        sum(i.size for i in items if i.path in set(done)),
        len(set(remote.packs.indexes) - before),
        [f"{f.path}: {f.reason}" for f in tally.failed],
        tally.aborted,
    )


# -- keep notes ------------------------------------------------------------------------------
# A push that finds an object already on the remote skips it, and cannot refresh its time
# (a packed member has none of its own; an S3 object would need a copy). If no commit of the
# repository running `gc --remote` names it yet (the other clone's `git push` has not
# arrived), its age would doom it. So such a push leaves a note, `keep/<hash>`, listing the
# pointers' objects it found there: gc keeps what a note younger than the grace period
# names (and what those objects are made of), and deletes notes older than that.

KEEP_DIR = "keep"


def write_keep(remote: Remote, oids: dict[Oid, bool]) -> None:
    """The note: one `<oid>` line per object, `<oid> dir` for a manifest."""
    data = "".join(f"{oid}{' dir' * is_dir}\n" for oid, is_dir in oids.items()).encode()
    digest = hash_bytes(data, packs.ID_ALGORITHM)
    remote.put_bytes(f"{KEEP_DIR}/{digest.hex}", data, digest)


def read_keeps(remote: Remote, cutoff: float) -> tuple[dict[Oid, bool], list[str]]:
    """The objects named by notes younger than `cutoff` (true for a manifest), and the keys
    of the older notes (which gc deletes). A note without a time counts as young."""
    kept: dict[Oid, bool] = {}
    old: list[str] = []
    for stat in remote.iter_stats(KEEP_DIR):
        if stat.mtime is not None and stat.mtime <= cutoff:
            old.append(stat.key)
            continue
        try:
            for line in remote.get_bytes(stat.key).decode().splitlines():
                text, _, kind = line.partition(" ")
                kept[Oid.parse(text)] = kind == "dir"
        except (GitmvError, UnicodeDecodeError):
            continue  # gone since the listing, or not a note: nothing to keep by it
    return kept, old
