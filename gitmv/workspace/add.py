"""Adding artifacts: check the paths, store the bytes in the cache, write and stage pointers.

The work tree knows no tags: the meta block a pointer carries comes ready from the caller
(`gitmv.ops.add` builds it), between `store` and `record`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitmv.base import git
from gitmv.base.errors import GitmvError
from gitmv.base.progress import NullProgress, Progress
from gitmv.repo.context import Repo
from gitmv.repo.pointers import read_pointer, tracked
from gitmv.store import pointer
from gitmv.store.hashing import Oid
from gitmv.store.manifest import check_relpath
from gitmv.store.pointer import Pointer
from gitmv.store.state import stat_key
from gitmv.workspace import gitignore, incremental, scan
from gitmv.workspace.files import prepare_writes, sweep_beside


@dataclass(frozen=True)
class AddResult:
    path: str
    pointer: Pointer
    changed: bool


@dataclass(frozen=True)
class Stored:
    """An artifact whose bytes are in the cache, its pointer not yet written."""

    path: str  # root-relative
    old: Pointer | None  # the pointer there before, if any
    new: Pointer  # the bytes' pointer, without a meta block
    doc: Any  # a copy of the old pointer's document (ruamel: keeps its comments), or None

    @property
    def old_meta(self) -> Any:
        """The old meta block, inside `doc`: the caller may change it in place."""
        return self.doc.get("meta") if isinstance(self.doc, dict) else None

    @property
    def new_version(self) -> bool:
        return self.old is not None and self.old.oid != self.new.oid


def check(repo: Repo, paths: Sequence[str]) -> dict[str, Pointer | None]:
    """Each path the user named, root-relative, with the pointer it has now (or None).

    Every path is checked before anything is written, so bad input changes nothing.
    """
    if not paths:
        raise GitmvError("nothing to add", hint="name a file or folder: gitmv add model.pt")
    existing = tracked(repo)
    targets: dict[str, Pointer | None] = {}
    for user_path in paths:
        rel = _check_addable(repo, user_path, existing, list(targets))
        pointer_file = repo.root / (rel + pointer.SUFFIX)
        targets[rel] = read_pointer(repo, rel) if pointer_file.exists() else None
    return targets


def store(
    repo: Repo, targets: dict[str, Pointer | None], progress: Progress | None = None
) -> list[Stored]:
    """Hash each artifact into the cache. The caller holds `repo.lock()` until `record`: gc
    takes the same lock, and must never see an object stored but not yet pointed to.
    `progress` counts the files and bytes as they are hashed."""
    algorithm = repo.algorithm
    meter = progress or NullProgress()
    prepare_writes(repo)
    for rel in targets:  # a killed add's pointer temp: `model.bin.gmv.gmvtmp-...`
        sweep_beside(repo.root / (rel + pointer.SUFFIX))
    stored = []
    for rel, old in targets.items():
        new = _store(repo, rel, algorithm, old, meter)
        doc = copy.deepcopy(old.doc) if old else None  # deepcopy keeps ruamel's comments
        stored.append(Stored(rel, old, new, doc))
    return stored


def record(repo: Repo, stored: Sequence[Stored], meta: Sequence[Any]) -> list[AddResult]:
    """Write each pointer with its ready meta block, list the artifacts in .gitignore, and
    stage both; `meta[i]` is `stored[i]`'s block (None: none)."""
    results = []
    for item, block in zip(stored, meta, strict=True):
        new = item.new.replace(meta=block, doc=item.doc)
        before = _fields(item.old) if item.old else None
        results.append(AddResult(item.path, new, before != _fields(new)))
    # the pointer is what makes an object needed: every object is on disk before it
    repo.cache.sync_all()
    for result in results:  # objects first: a failure while storing changed no pointer
        if result.changed:
            pointer.write(repo.root / (result.path + pointer.SUFFIX), result.pointer)
    rels = [item.path for item in stored]
    gitignore.ensure_ignored(repo.root, rels)
    git.untrack(repo.root, rels)
    ignores = gitignore.files_for(repo.root, rels)
    git.stage(repo.root, [r + pointer.SUFFIX for r in rels] + ignores)
    return results


def _fields(p: Pointer) -> tuple[Any, ...]:
    return (p.oid, p.size, p.kind, p.files, p.exec, _plain(p.meta))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _check_addable(
    repo: Repo, user_path: str, existing: Sequence[str], chosen: Sequence[str]
) -> str:
    rel = repo.relpath(user_path)
    if rel.endswith(pointer.SUFFIX):
        raise GitmvError(
            f"{user_path}: is a pointer file", hint=f"add the artifact: gitmv add {user_path[:-4]}"
        )
    path = repo.abspath(rel)
    in_cache = os.path.realpath(path).startswith(os.path.realpath(repo.cache.root) + os.sep)
    if os.path.islink(path) and not in_cache:  # a `symlink` checkout is its object: fine
        raise GitmvError(
            f"{user_path}: is a symbolic link", hint="add the file or folder it points to instead"
        )
    if not path.exists():
        raise GitmvError(f"{user_path}: no such file or folder")
    if not (path.is_file() or path.is_dir()):
        raise GitmvError(f"{user_path}: not a regular file or folder")
    for other in [*existing, *chosen]:
        if other == rel:
            continue
        if rel.startswith(other + "/"):
            raise GitmvError(
                f"{user_path}: lies inside the tracked artifact {repo.display(other)}",
                hint=f"re-add the whole folder: gitmv add {repo.display(other)}",
            )
        if other.startswith(rel + "/"):
            raise GitmvError(
                f"{user_path}: holds the tracked artifact {repo.display(other)}",
                hint="remove that artifact's pointer first, or add a different folder",
            )
    return rel


def _store(repo: Repo, rel: str, algorithm: str, old: Pointer | None, meter: Progress) -> Pointer:
    """Hash the artifact into the cache; the stat cache spares unchanged files."""
    path = repo.root / rel
    cache = repo.cache
    if path.is_file():
        st = os.stat(path)
        meter.start(1, st.st_size)
        known = repo.state.get(str(path), stat_key(st))
        oid = Oid.parse(known) if known and known.startswith(algorithm + ":") else None
        if oid is None or not cache.has(oid):
            # unknown bytes: copy and hash in one go rather than hash, then copy and hash
            oid, _ = cache.add_file(path, algorithm, advance=meter.advance)
        else:
            meter.advance(st.st_size)
        meter.object_done()
        repo.state.put_many([(str(path), stat_key(st), str(oid))])
        return Pointer(oid, st.st_size, "file", exec=scan.is_exec(st))

    def store_path(file: str, size: int, counted: Progress | None = None) -> Oid:
        """Store one file in the cache; `counted`, when given, is told of its bytes and of
        the file (the full walk's progress bar; the folder index's few paths go uncounted)."""
        if size <= scan._SMALL:
            oid = cache.add_small(scan.read_small(file, size), algorithm)
            if counted is not None:
                counted.advance(size)
        else:
            advance = counted.advance if counted is not None else None
            oid = cache.add_file(Path(file), algorithm, advance=advance)[0]
        if counted is not None:
            counted.object_done()
        return oid

    jobs = repo.jobs
    # small files are synced all at once (syncfs) before the pointers: docs/reliability.md
    cache.defer_sync = True
    listing = scan.quick_listing(path)  # before the walk: it must not vouch for a newer state
    if listing is not None and old is not None and old.kind == "dir":
        # Only from the manifest the pointer names: its files are in the cache (gc keeps
        # what a work-tree pointer names), so the unchanged ones need no check each.
        now = incremental.current(path, repo.state, cache, algorithm, listing, store_path)
        if now is not None and now.base == old.oid:
            for file, oid in now.vouched:  # the stat cache knew it; the cache may not
                if not cache.has(oid):
                    cache.add_file(Path(file), algorithm)
            manifest_oid = cache.add_small(now.manifest(), algorithm)
            repo.state.put_many(now.fresh)
            size, count = now.size, now.files
            incremental.save(repo.state, path, listing, manifest_oid, size, count, now.came)
            if incremental.settled(listing, now.came):
                repo.state.put_folder(str(path), listing.stamp, str(manifest_oid), 0)
            return Pointer(manifest_oid, now.size, "dir", files=now.files)
    quick = listing.stamp if listing is not None else None
    files = scan.walk(path, repo.root)
    label = repo.display(rel)
    for f in files:  # refuse a name a manifest could not hold, before storing anything
        check_relpath(f.relpath, label)
    meter.start(len(files), sum(f.key[1] for f in files))
    result = scan.scan_folder(
        path,
        repo.root,
        repo.state,
        algorithm,
        jobs,
        store=lambda f: store_path(f.path, f.key[1], meter),
        files=files,
    )
    # the files the stat cache vouched for (not hashed, so not counted yet)
    meter.advance(result.size - sum(key[1] for _, key, _ in result.fresh))
    for _ in range(len(files) - len(result.fresh)):
        meter.object_done()
    fresh = {row[0] for row in result.fresh}
    top = str(path) + os.sep  # strings, not pathlib: 20,000 joins show in the profile
    vouched = [e for e in result.entries if top + e.path not in fresh]
    lost = [e for e in vouched if not cache.has(e.oid)]
    for entry in lost:  # the stat cache vouched for it, but the object was collected
        cache.add_file(path / entry.path, algorithm)
    manifest_oid = cache.add_small(result.manifest(), algorithm)
    repo.state.put_many(result.fresh)
    # the next status answers from this fingerprint instead of rebuilding the manifest
    newest = max((f.key[2] for f in files), default=0)
    stamp = scan.folder_stamp(path, files, quick)
    repo.state.put_folder(str(path), stamp, str(manifest_oid), newest)
    if listing is not None:  # the next add or status looks only at what changed after this
        size = result.size
        incremental.save(repo.state, path, listing, manifest_oid, size, len(result.entries))
    return Pointer(manifest_oid, result.size, "dir", files=len(result.entries))
